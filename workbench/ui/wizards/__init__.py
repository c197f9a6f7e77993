"""One QWizard per pass family (pruning, quantization, distillation) on a shared base.

``WIZARDS`` is what the Compress menu lists: (menu text, "module:Class"); each class is
imported when its menu entry is first used and is built as ``Class(loaded, tasks,
parent=window)``.
"""

from __future__ import annotations

WIZARDS: tuple[tuple[str, str], ...] = (
    ("&Prune…", "workbench.ui.wizards.pruning_wizard:PruningWizard"),
    ("&Quantize…", "workbench.ui.wizards.quantization_wizard:QuantizationWizard"),
    ("&Distill…", "workbench.ui.wizards.distillation_wizard:DistillationWizard"),
    ("&Optimize…", "workbench.ui.wizards.optimize_wizard:OptimizeWizard"),
    ("&Apply a Pass…", "workbench.ui.wizards.any_pass_wizard:AnyPassWizard"),
)
