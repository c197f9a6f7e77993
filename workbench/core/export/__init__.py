"""ONNX export that is validated before it is trusted: checker, parity, report.

``export_onnx(model, out, ExportOptions(...), data=) -> ExportReport``; a file that fails
parity raises ``ParityError`` and is not written unless ``force``. Cheap to import.
"""

from __future__ import annotations

from workbench.core.export.onnx_export import ExportOptions, export_onnx
from workbench.core.export.parity import ParityError, ParityResult
from workbench.core.export.report import ExportReport, store_export

__all__ = [
    "ExportOptions",
    "ExportReport",
    "ParityError",
    "ParityResult",
    "export_onnx",
    "store_export",
]
