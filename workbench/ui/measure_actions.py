"""Benchmark, Evaluate and Export ONNX on a variant, run off the GUI thread.

Each ``start_*`` function hands the core call to ``TaskRunner.start_job`` (progress and
cooperative cancel through the job's RunContext) and, back on the GUI thread, stores
the result on the variant before calling ``on_done``: the variant is only ever written
from the GUI thread, and, given its ``project``, through ``Project.changing`` so that the
project's listeners (inspector, Compare, autosave) hear of it. ``ExportDialog`` asks
for the file and the export options.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from workbench.core.context import RunContext
from workbench.core.export import ExportOptions, ExportReport
from workbench.core.measure.metrics import AccuracyReport, Metrics
from workbench.core.measure.options import MeasureOptions
from workbench.core.project import Project, Variant
from workbench.ui.workers import JobHandle, TaskRunner

Done = Callable[[Any], None]
Failed = Callable[[BaseException], None]
Progress = Callable[[float | None, str], None]


@contextmanager
def _changing(project: Project | None, variant: Variant) -> Iterator[None]:
    with project.changing(variant) if project is not None else nullcontext():
        yield


def start_benchmark(
    runner: TaskRunner,
    variant: Variant,
    on_done: Callable[[Metrics], None],
    on_failure: Failed,
    *,
    on_progress: Progress | None = None,
    on_cancelled: Callable[[], None] | None = None,
    options: MeasureOptions | None = None,
    project: Project | None = None,
) -> JobHandle:
    """Benchmark ``variant`` under ``options`` (default: its own runtime, on the CPU);
    stores the Metrics on it."""
    from workbench.core.measure import benchmark, store_metrics

    options = options or MeasureOptions(runtime="auto")

    def job(ctx: RunContext) -> Metrics:
        return benchmark(variant, options, ctx=ctx)

    def done(metrics: Metrics) -> None:
        with _changing(project, variant):
            store_metrics(variant, metrics)
        on_done(metrics)

    return runner.start_job(
        job,
        done,
        on_failure,
        on_progress=on_progress,
        on_cancelled=on_cancelled,
        context=RunContext(device=options.device),
    )


def start_evaluation(
    runner: TaskRunner,
    variant: Variant,
    on_done: Callable[[AccuracyReport], None],
    on_failure: Failed,
    *,
    parent: Variant | None = None,
    data: Any = None,
    runtime: str = "auto",
    on_progress: Progress | None = None,
    on_cancelled: Callable[[], None] | None = None,
    device: str = "cpu",
    project: Project | None = None,
) -> JobHandle:
    """Accuracy of ``variant`` (and agreement with ``parent`` when its model is open).

    A variant without validation data fails with a DataError saying so: show it, do not
    show a zero.
    """
    from workbench.core.measure import Metrics, evaluate, store_metrics

    compare = parent if parent is not None and parent.loaded is not None else None

    def job(ctx: RunContext) -> AccuracyReport:
        return evaluate(variant, data=data, runtime=runtime, parent=compare, device=device, ctx=ctx)

    def done(report: AccuracyReport) -> None:
        with _changing(project, variant):
            store_metrics(variant, Metrics(accuracy={report.runtime: report}))
        on_done(report)

    return runner.start_job(
        job,
        done,
        on_failure,
        on_progress=on_progress,
        on_cancelled=on_cancelled,
        context=RunContext(device=device),
    )


def start_export(
    runner: TaskRunner,
    variant: Variant,
    out: Path,
    on_done: Callable[[ExportReport], None],
    on_failure: Failed,
    *,
    options: ExportOptions | None = None,
    data: Any = None,
    on_progress: Progress | None = None,
    on_cancelled: Callable[[], None] | None = None,
    project: Project | None = None,
) -> JobHandle:
    """Export ``variant`` to ``out``; the report (parity figures) is stored on the variant.

    A parity failure arrives at ``on_failure`` as ``ParityError`` whose ``report`` holds
    the figures; nothing was written then.
    """
    from workbench.core.export import export_onnx, store_export

    def job(ctx: RunContext) -> ExportReport:
        return export_onnx(variant, out, options or ExportOptions(), data=data, ctx=ctx)

    def done(report: ExportReport) -> None:
        with _changing(project, variant):
            store_export(variant, report)
        on_done(report)

    return runner.start_job(
        job, done, on_failure, on_progress=on_progress, on_cancelled=on_cancelled
    )


class ExportDialog(QDialog):
    """Where to write the ONNX file and how: opset, dynamic batch, onnxslim, fp16, force."""

    def __init__(
        self, variant_name: str, parent: QWidget | None = None, folder: Path | None = None
    ) -> None:
        super().__init__(parent)
        self.setObjectName("exportDialog")
        self.setWindowTitle(f"Export ONNX — {variant_name}")
        self.path_edit = QLineEdit(str((folder or Path.home()) / f"{_safe(variant_name)}.onnx"))
        browse = QPushButton("Browse…")
        browse.clicked.connect(self._browse)
        row = QHBoxLayout()
        row.addWidget(self.path_edit, 1)
        row.addWidget(browse)
        self.opset = QSpinBox()
        self.opset.setRange(0, 23)
        self.opset.setSpecialValueText("default (17; ONNX files keep theirs)")
        self.opset.setValue(0)
        self.dynamic_batch = QCheckBox("Dynamic batch dimension")
        self.dynamic_batch.setChecked(True)
        self.simplify = QCheckBox("Simplify with onnxslim")
        self.fp16 = QCheckBox("Float16 weights (inputs and outputs stay float32)")
        self.force = QCheckBox("Write the file even if the parity check fails")
        form = QFormLayout()
        form.addRow("File", row)
        form.addRow("Opset", self.opset)
        for box in (self.dynamic_batch, self.simplify, self.fp16, self.force):
            form.addRow("", box)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Export")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(buttons)
        self.resize(560, self.sizeHint().height())

    def _browse(self) -> None:
        path, _ = QFileDialog.getSaveFileName(
            self, "Export ONNX", self.path_edit.text(), "ONNX models (*.onnx)"
        )
        if path:
            self.path_edit.setText(path if path.endswith(".onnx") else path + ".onnx")

    def output_path(self) -> Path:
        return Path(self.path_edit.text()).expanduser()

    def options(self) -> ExportOptions:
        return ExportOptions(
            opset=self.opset.value() or None,
            dynamic_batch=self.dynamic_batch.isChecked(),
            simplify=self.simplify.isChecked(),
            fp16=self.fp16.isChecked(),
            force=self.force.isChecked(),
        )


def _safe(name: str) -> str:
    """A variant name as a file name: no separators or odd characters."""
    cleaned = "".join(c if c.isalnum() or c in "-_." else "_" for c in name).strip("._")
    return cleaned.removesuffix(".onnx") or "model"
