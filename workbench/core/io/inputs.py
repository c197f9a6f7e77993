"""Input shapes: parsing ``--shape name=1x3x32x32`` and merging it with what a file declares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from workbench.core.errors import ModelLoadError, WorkbenchError
from workbench.core.io.loaded import InputSpec

# Input dtypes a --shape may name: what ONNX Runtime, torch and numpy all know by name.
DTYPES = ("float32", "float16", "float64", "int64", "int32", "int8", "uint8", "bool")


class GivenShape(tuple[int, ...]):
    """A ``--shape`` value: its dimensions, and the dtype when the user named one."""

    dtype: str | None

    def __new__(cls, dims: Iterable[int], dtype: str | None = None) -> GivenShape:
        shape = super().__new__(cls, dims)
        shape.dtype = dtype
        return shape


Shapes = dict[str, tuple[int, ...]]  # a value may be a GivenShape that carries a dtype


def parse_shape(text: str) -> tuple[str, tuple[int, ...]]:
    """``"input=1x3x32x32"`` -> ``("input", (1, 3, 32, 32))``: the CLI's ``--shape`` value.

    ``"input_ids=1x32:int64"`` names the dtype too (``GivenShape.dtype``); without one a
    new input is float32, and an input the model declares keeps its own dtype.
    """
    name, eq, rest = text.partition("=")
    name = name.strip()
    if not eq or not name:
        raise WorkbenchError(f"--shape {text!r} is not of the form name=1x3x32x32[:dtype]")
    dims, colon, dtype = rest.partition(":")
    dtype = dtype.strip().lower() or None
    if colon and dtype not in DTYPES:
        raise WorkbenchError(
            f"--shape {text!r}: dtype {dtype or '(none)'!r} is not one of {', '.join(DTYPES)}"
        )
    parts = dims.lower().replace(",", "x").split("x")
    try:
        shape = tuple(int(part) for part in parts)
    except ValueError:
        raise WorkbenchError(
            f"--shape {text!r}: dimensions must be whole numbers separated by x, like 1x3x32x32"
        ) from None
    if any(d <= 0 for d in shape):
        raise WorkbenchError(f"--shape {text!r}: every dimension must be at least 1")
    return name, GivenShape(shape, dtype)


def given_input(name: str, shape: tuple[int, ...]) -> InputSpec:
    """An input the model does not declare, as ``--shape`` gave it (float32 by default)."""
    return InputSpec(name, tuple(shape), getattr(shape, "dtype", None) or "float32")


def parse_shapes(items: Iterable[str] | None) -> Shapes:
    """Several ``--shape`` values into the ``shapes`` argument of ``load``."""
    shapes: Shapes = {}
    for item in items or ():
        name, shape = parse_shape(item)
        shapes[name] = shape
    return shapes


def apply_shapes(
    label: str, specs: list[InputSpec], shapes: Shapes | None, *, names: Sequence[str] = ()
) -> list[InputSpec]:
    """Replace declared shapes by the ones the user gave, by input name.

    ``names`` are further accepted input names (e.g. a forward() argument) used when a
    model declares no inputs at all. A name that matches nothing is an error rather than
    silently ignored: a typo would otherwise go unnoticed.
    """
    if not shapes:
        return specs
    by_name = {spec.name: spec for spec in specs}
    known = list(by_name) or list(names)
    unknown = [name for name in shapes if name not in by_name and name not in names]
    if unknown:
        choices = ", ".join(known) if known else "none declared"
        raise ModelLoadError(
            f"{label}: --shape names input {unknown[0]!r}, but the model's inputs are: {choices}"
        )
    result = []
    for spec in specs:
        shape = shapes.get(spec.name)
        dtype = getattr(shape, "dtype", None)
        if dtype is not None and dtype != spec.dtype:  # the model's declaration is the truth
            raise ModelLoadError(
                f"{label}: --shape {spec.name}=...:{dtype}, but the model declares "
                f"{spec.name!r} as {spec.dtype}; leave the dtype out"
            )
        result.append(spec if shape is None else InputSpec(spec.name, tuple(shape), spec.dtype))
    result += [given_input(name, shape) for name, shape in shapes.items() if name not in by_name]
    return result
