"""Resuming a distillation: where each training keeps its checkpoints in the run folder,
and the settings the run started with, which a resumed run must ask for again.
"""

from __future__ import annotations

import json
from pathlib import Path

from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.config_schema import config_to_dict
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.train.checkpoints import CHECKPOINT_NAME

SETTINGS_FILE = "distill-config.json"  # beside the trainings' folders in run_dir
DISTILL_DIR, BASELINE_DIR = "distill", "baseline"  # each training's folder in run_dir
# What a resumed run may change: how many epochs, and whether the baseline is trained and
# the models timed afterwards; the rest decides what the trainings compute.
RESUMABLE = ("epochs", "measure", "baseline")


def check_resume(config: DistillConfig, ctx: RunContext) -> None:
    """Record the settings a run starts with; a resumed run must ask for the same ones."""
    run_dir = ctx.run_dir
    if run_dir is None:
        if ctx.resume:
            raise WorkbenchError("resuming a distillation needs the folder of its checkpoints")
        return
    run_dir = Path(run_dir)
    settings = run_dir / SETTINGS_FILE
    asked = config_to_dict(config)
    if ctx.resume:
        if not (run_dir / DISTILL_DIR / CHECKPOINT_NAME).exists() or not settings.exists():
            raise WorkbenchError(
                f"nothing to resume in {run_dir}: no distillation checkpoint there; "
                "run without --resume to start one"
            )
        saved = json.loads(settings.read_text(encoding="utf-8"))
        changed = [
            f"{key} {saved.get(key)!r} -> {value!r}"
            for key, value in asked.items()
            if key not in RESUMABLE and saved.get(key) != value
        ]
        if changed:
            raise WorkbenchError(
                "resume with the settings the run started with; changed: " + ", ".join(changed)
            )
    run_dir.mkdir(parents=True, exist_ok=True)
    settings.write_text(json.dumps(asked, indent=1), encoding="utf-8")
