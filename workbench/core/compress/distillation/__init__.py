"""Knowledge distillation: a teacher (the input model) trains a smaller student.

Importing this package is cheap (no torch): ``DistillConfig`` is read for the wizard,
the CLI flags and recipes; the work is in ``run.distill`` (the Trainer with the loss of
``loss.py``), the students in ``students.py``, the pass in ``distill_pass.py``.
"""

from __future__ import annotations

from workbench.core.compress.distillation.config import DistillConfig

__all__ = ["DistillConfig"]
