"""Saving a project with its models, and opening it again with every variant described.

``project.json`` says what was made (``Project.save``: atomic); each variant's model
goes into ``variants/<id>/`` beside it (``model.pt`` and/or ``model.onnx``) so the
folder is whole on its own. A root opened from ``zoo:NAME`` needs no file: it is
rebuilt from its seed. Opening reads nothing but data: ``project.json`` is checked
against its schema first (``project_record``), then each model file inside the folder is
parsed in a child process with a memory cap (``io.isolated``, as the app opens a file)
and read as a state_dict (``weights_only=True``) paired with the recorded architecture,
or as ONNX. A recorded ``module:factory`` architecture imports code: it is built only
when the user trusts the project (``trust``).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.context import RunContext
from workbench.core.errors import TrustRequired, WorkbenchError
from workbench.core.io.arch_ref import ArchRef, parse_arch
from workbench.core.io.variant_folder import write_model_files
from workbench.core.named_sources import is_named_source
from workbench.core.project import Project, ProjectError

VARIANTS_FOLDER = "variants"


def save_project(project: Project, folder: Path, ctx: RunContext | None = None) -> Path:
    """Write every variant's model that is not yet in ``folder``, then ``project.json``."""
    ctx = ctx or RunContext()
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    variants = list(project.variants.values())
    for index, variant in enumerate(variants):
        ctx.check()
        ctx.report(index / max(1, len(variants)), f"saving {variant.name}")
        if variant.loaded is None or _is_rebuildable(variant) or _inside(variant, folder):
            continue
        paths = write_model_files(variant.loaded, folder / VARIANTS_FOLDER / variant.id)
        variant.artifacts.update(
            {kind: str(path.relative_to(folder)) for kind, path in paths.items()}
        )
    path = project.save(folder)
    ctx.report(1.0, f"saved {path}")
    return path


def open_project(
    folder: Path, ctx: RunContext | None = None, *, trust: bool = False
) -> tuple[Project, dict[str, Any]]:
    """The project and an ``Inspection`` per variant (graph and summary built).

    Temp files a crash left behind are swept first, and a variant still marked
    ``running`` or ``paused`` (the app died during its run) becomes ``interrupted``: its
    run folder keeps the last checkpoint, which the Training tab offers to resume.
    """
    from workbench.core.io.isolated import inspect_isolated

    ctx = ctx or RunContext()
    folder = Path(folder)
    project = Project.open(folder)
    sweep_temp_files(folder)
    for variant in project.variants.values():
        if variant.state in ("running", "paused"):
            variant.state = "interrupted"
    inspections: dict[str, Any] = {}
    variants = list(project.variants.values())
    for index, variant in enumerate(variants):
        ctx.check()
        ctx.report(index / max(1, len(variants)), f"opening {variant.name}")
        source, arch = model_source(variant, folder, trust)
        try:
            inspection = inspect_isolated(source, arch=arch, ctx=ctx)
        except TrustRequired:  # the app asks; its message names project.json and the field
            raise
        except WorkbenchError as exc:
            raise ProjectError(
                f"{folder / 'project.json'}: variant {variant.name!r} cannot be opened from "
                f"{source}: {exc.message}"
            ) from None
        variant.loaded = inspection.loaded
        inspections[variant.id] = inspection
    ctx.report(1.0, f"opened {project.name}")
    return project, inspections


def sweep_temp_files(folder: Path) -> list[Path]:
    """Remove what interrupted writes leave: ``.NAME.XXXX.tmp`` temp files and
    ``.checkpoint.pt.new`` checkpoints that were never verified into place."""
    swept = []
    for pattern in (".*.tmp", ".*.new"):
        for path in Path(folder).rglob(pattern):
            if path.is_file() and not path.is_symlink():
                path.unlink(missing_ok=True)
                swept.append(path)
    return swept


def runs_folder(project: Project, variant_id: str) -> Path | None:
    """Where a variant's training runs go inside the project (None: not saved yet)."""
    return project.folder / "runs" / variant_id if project.folder is not None else None


def _is_rebuildable(variant: Any) -> bool:
    """A root opened from zoo:NAME (or tv:/timm:): the same seed gives the same weights."""
    return variant.parent is None and is_named_source(variant.source)


def _inside(variant: Any, folder: Path) -> bool:
    """Its files are already in this project folder (saved before)."""
    paths = [Path(p) for p in variant.artifacts.values()]
    return bool(paths) and all(
        (folder / p).is_file() if not p.is_absolute() else p.is_relative_to(folder) for p in paths
    )


def model_source(variant: Any, folder: Path, trust: bool) -> tuple[str, ArchRef | None]:
    """Where to read the variant's model from: its file inside the folder (``Project.open``
    confined every artifact path to it), else the zoo model it was opened from."""
    where = f"{folder / 'project.json'}: variant {variant.name!r}"
    arch = (
        parse_arch(variant.arch, trusted=trust, origin=f"{where} field 'arch'")
        if variant.arch
        else None
    )
    for kind in ("torch", "pytorch", "onnx"):
        recorded = variant.artifacts.get(kind)
        if recorded:
            return recorded, arch if kind != "onnx" else None
    if is_named_source(variant.source):
        return variant.source, None
    raise ProjectError(f"{where} has no model file in the project folder")
