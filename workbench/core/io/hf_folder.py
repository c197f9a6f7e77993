"""Hugging Face ``save_pretrained`` folders: ``config.json`` plus weights, opened offline.

The model class comes from ``config.architectures`` (a class transformers itself ships),
built by ``from_pretrained`` with ``local_files_only`` and ``HF_HUB_OFFLINE``, so nothing
is downloaded; weights are read by safetensors or ``torch.load(weights_only=True)``
(a ``.bin`` that pickles anything else is refused before transformers sees it). A config
with ``auto_map`` names Python files of its own: those run only with trust. Tied weights
(GPT-2's ``lm_head``) are tied by ``from_pretrained``.

The module handed on (``HFTextModel``) takes the text inputs by name and returns plain
tensors named after the ``ModelOutput`` fields (``logits``, ...), with the key/value
cache off, so tracing and export see tensors only; the loaded model records the input
and output names and the batch/sequence axes, which export keeps.
"""

from __future__ import annotations

import contextlib
import inspect
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from workbench.core.errors import ModelLoadError, TrustRequired, UnsafeModelError
from workbench.core.io.inputs import Shapes, apply_shapes
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.io.pickle_scan import unsafe_globals
from workbench.core.torchvision_import import prepare_torchvision

CONFIG_FILE = "config.json"
SAFE_WEIGHTS = ("model.safetensors", "model.safetensors.index.json")
PICKLED_WEIGHTS = ("pytorch_model.bin", "pytorch_model.bin.index.json")
TEXT_INPUTS = ("input_ids", "attention_mask", "token_type_ids")  # the wrapper's order
EXAMPLE_SEQUENCE = 8
INSTALL_HINT = "pip install 'workbench[hf]'"
_TRUST_HINT = "Open it with --trust only if you trust where it came from."


def is_hf_folder(path: Path) -> bool:
    return path.is_dir() and (path / CONFIG_FILE).is_file()


def load_hf_folder(path: Path, *, trust: bool, shapes: Shapes | None) -> LoadedModel:
    """Open a ``save_pretrained`` folder as a PyTorch model with named text inputs."""
    config = _read_config(path)
    weights = _weight_files(path)
    remote = config.get("auto_map")
    if remote and not trust:
        raise TrustRequired(
            f"{path.name}/{CONFIG_FILE} names its own model code (auto_map: "
            f"{', '.join(sorted(remote)) if isinstance(remote, dict) else remote}); "
            f"loading it runs Python files from the folder. {_TRUST_HINT}"
        )
    for file in weights:
        _refuse_pickled_code(file)
    transformers = _import_transformers(path.name)
    import torch

    with _quiet(transformers):
        try:
            model = _from_pretrained(transformers, path, config, trust=trust)
        except (OSError, ValueError, KeyError, RuntimeError) as exc:
            raise ModelLoadError(
                f"{path.name}: transformers cannot build the model ({_first_line(exc)})"
            ) from None
    model.eval()
    names = _input_names(path, model)
    from workbench.core.models.hf_text import HFTextModel

    wrapper = HFTextModel(model, names).eval()
    sequence = _example_sequence(model.config)
    with torch.inference_mode():
        first = wrapper.named_outputs(_ids(2, sequence, names))
        second = wrapper.named_outputs(_ids(3, sequence - 1, names))
    wrapper.output_names = list(first)
    axes: dict[str, dict[int, str]] = {name: {0: "batch", 1: "sequence"} for name in names}
    for name, tensor in first.items():
        axes[name] = _output_axes(tuple(tensor.shape), tuple(second[name].shape), sequence)
    inputs = [InputSpec(name, (1, sequence), "int64") for name in names]
    inputs = apply_shapes(path.name, inputs, shapes)
    kind = type(model).__name__
    from workbench.core.data.text import has_tokenizer

    return LoadedModel(
        format=ModelFormat.HF_FOLDER,
        path=path,
        inputs=inputs,
        module=wrapper,
        file_size=sum(f.stat().st_size for f in weights),
        output_names=list(first),
        dynamic_axes=axes,
        notes=[f"Hugging Face {kind} ({', '.join(f.name for f in weights)})"],
        tokenizer=path if has_tokenizer(path) else None,
    )


def _read_config(path: Path) -> dict[str, Any]:
    file = path / CONFIG_FILE
    try:
        config = json.loads(file.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise ModelLoadError(f"{path.name}/{CONFIG_FILE} is not readable JSON ({exc})") from None
    if not isinstance(config, dict):
        raise ModelLoadError(f"{path.name}/{CONFIG_FILE} is not a JSON object")
    return config


def _weight_files(path: Path) -> list[Path]:
    """The weights transformers would read: safetensors first, like ``from_pretrained``."""
    for group in (SAFE_WEIGHTS, PICKLED_WEIGHTS):
        for name in group:
            if (path / name).is_file():
                if name.endswith(".index.json"):
                    return [path / name, *_shards(path, name)]
                return [path / name]
    raise ModelLoadError(
        f"{path.name} has {CONFIG_FILE} but no weights (model.safetensors or "
        "pytorch_model.bin); save the model with save_pretrained"
    )


def _shards(path: Path, index: str) -> list[Path]:
    try:
        mapping = json.loads((path / index).read_text(encoding="utf-8")).get("weight_map", {})
    except (OSError, ValueError, AttributeError) as exc:
        raise ModelLoadError(f"{path.name}/{index} is not a readable index ({exc})") from None
    names = sorted({str(v) for v in mapping.values()})
    outside = [n for n in names if Path(n).name != n or not (path / n).is_file()]
    if outside:
        raise ModelLoadError(f"{path.name}/{index} lists {outside[0]!r}, not a file in the folder")
    return [path / n for n in names]


def _refuse_pickled_code(file: Path) -> None:
    """A ``.bin`` that needs more than tensors is refused before any loader reads it."""
    if file.suffix != ".bin":
        return
    with file.open("rb") as stream:
        is_zip = stream.read(4) == b"PK\x03\x04"
    needed = unsafe_globals(file, is_zip=is_zip)
    if needed:
        raise UnsafeModelError(
            f"{file.parent.name}/{file.name} pickles Python objects ({', '.join(needed[:4])}), "
            "not only tensors; convert it to model.safetensors"
        )


def _import_transformers(label: str) -> Any:
    os.environ["HF_HUB_OFFLINE"] = "1"  # read when huggingface_hub is first imported
    os.environ.setdefault("TRANSFORMERS_NO_ADVISORY_WARNINGS", "1")
    prepare_torchvision()  # transformers imports it when installed
    try:
        import transformers
    except ImportError:
        raise ModelLoadError(
            f"{label} is a Hugging Face folder; opening it needs the transformers package: "
            f"{INSTALL_HINT}"
        ) from None
    return transformers


@contextlib.contextmanager
def _quiet(transformers: Any) -> Iterator[None]:
    """No progress bars while loading, and no advisory logging (it also comes from the
    first forward passes, so it stays off): notes for model authors, not for users."""
    logging = transformers.utils.logging
    bars = logging.is_progress_bar_enabled()
    logging.set_verbosity_error()
    logging.disable_progress_bar()
    try:
        yield
    finally:
        if bars:
            logging.enable_progress_bar()


def _from_pretrained(transformers: Any, path: Path, config: dict[str, Any], *, trust: bool) -> Any:
    """``config.architectures[0]`` when transformers ships it, else the folder's own Auto
    class (``auto_map``, trusted by now), else ``AutoModel``."""
    architectures = config.get("architectures") or []
    name = architectures[0] if architectures and isinstance(architectures[0], str) else ""
    remote = config.get("auto_map") if isinstance(config.get("auto_map"), dict) else {}
    cls = getattr(transformers, name, None) if name else None
    if not (isinstance(cls, type) and hasattr(cls, "from_pretrained")):
        auto = next((k for k, v in remote.items() if str(v).endswith(f".{name}")), None)
        auto = auto or next((k for k in remote if k.startswith("AutoModel")), "AutoModel")
        cls = getattr(transformers, auto, transformers.AutoModel)
    kwargs: dict[str, Any] = {"local_files_only": True, "trust_remote_code": trust}
    if "weights_only" in inspect.signature(cls.from_pretrained).parameters:
        kwargs["weights_only"] = True
    return cls.from_pretrained(str(path), **kwargs)


def _input_names(path: Path, model: Any) -> list[str]:
    """input_ids, with attention_mask and token_type_ids where the model takes them: the
    folder's tokenizer says which, else the config (token types only when it has > 1)."""
    params = inspect.signature(model.forward).parameters
    if "input_ids" not in params:
        raise ModelLoadError(
            f"{path.name}: {type(model).__name__} takes no input_ids; only text models "
            "open from Hugging Face folders for now"
        )
    wanted = _tokenizer_inputs(path)
    if wanted is None:
        wanted = ["input_ids", "attention_mask"]
        if getattr(model.config, "type_vocab_size", 0) > 1:
            wanted.append("token_type_ids")
    names = [n for n in TEXT_INPUTS if n in wanted and n in params]
    if "token_type_ids" in names and "attention_mask" not in names:
        names.remove("token_type_ids")  # the wrapper takes its inputs by position
    return names


def _tokenizer_inputs(path: Path) -> list[str] | None:
    try:
        config = json.loads((path / "tokenizer_config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    names = config.get("model_input_names") if isinstance(config, dict) else None
    return [str(n) for n in names] if isinstance(names, list) and names else None


def _example_sequence(config: Any) -> int:
    limit = getattr(config, "max_position_embeddings", None) or getattr(config, "n_positions", 0)
    return max(2, min(EXAMPLE_SEQUENCE, int(limit or EXAMPLE_SEQUENCE)))


def _ids(batch: int, sequence: int, names: list[str]) -> dict[str, Any]:
    import torch

    feed = {name: torch.ones(batch, sequence, dtype=torch.int64) for name in names}
    if "token_type_ids" in feed:
        feed["token_type_ids"] = torch.zeros(batch, sequence, dtype=torch.int64)
    return feed


def _output_axes(first: tuple[int, ...], second: tuple[int, ...], sequence: int) -> dict[int, str]:
    """Axes that followed batch (2 -> 3) or sequence (n -> n-1) between two probe runs."""
    axes: dict[int, str] = {}
    for index, (a, b) in enumerate(zip(first, second, strict=False)):
        if (a, b) == (2, 3):
            axes[index] = "batch"
        elif (a, b) == (sequence, sequence - 1):
            axes[index] = "sequence"
    return axes


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0] if text else type(exc).__name__
