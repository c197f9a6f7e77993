"""Compare's "Measure all on one runtime": the ticked variants timed side by side.

Benchmarks started one at a time from the Model menu time PyTorch variants with
PyTorch and ONNX ones with ONNX Runtime, in the app's own process; an INT8 variant and
its float parent then never share a runtime. This control times every ticked variant on
ONNX Runtime (CPU by default, CUDA when the machine has it) in one child process,
warmed up and interleaved (``core.measure.side_by_side``), and stores each report on its
variant under the same conditions ``workbench bench`` records, so Compare, "why (not)
faster" and the latency-vs-accuracy plot all read the same figures.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton, QSpinBox, QVBoxLayout, QWidget

from workbench.core.context import RunContext
from workbench.core.device import onnxruntime_devices
from workbench.core.measure.metrics import LatencyReport, Metrics, store_metrics
from workbench.core.measure.side_by_side import SideBySideOptions, measure_side_by_side
from workbench.core.project import Project, Variant
from workbench.ui.device_combo import DeviceCombo
from workbench.ui.workers import JobHandle, TaskRunner

START_TEXT = "Measure all on one runtime"


class MeasureAllControl(QWidget):
    """A button, the runtime's device and the batch; progress and Cancel while it runs."""

    measured = Signal(list)  # the variants whose metrics were updated
    failed = Signal(object)

    def __init__(
        self,
        tasks: TaskRunner,
        ticked: Callable[[], list[Variant]],
        parent=None,
        project: Callable[[], Project | None] = lambda: None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("compare-measure-all")
        self.tasks, self.ticked, self.project = tasks, ticked, project
        self.job: JobHandle | None = None
        self.button = QPushButton(START_TEXT)
        self.button.setObjectName("compare-measure-all-button")
        self.button.setToolTip(
            "Time every ticked variant on ONNX Runtime in a separate process, warmed up "
            "and interleaved, so the figures can be set against each other"
        )
        self.button.clicked.connect(self.toggle)
        self.device = DeviceCombo(("cpu",))
        self.device.hint = "where ONNX Runtime runs the variants"
        self.device.load(tasks, onnxruntime_devices)
        self.batch = QSpinBox()
        self.batch.setRange(1, 4096)
        self.batch.setPrefix("batch ")
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.status.setObjectName("compare-measure-all-status")
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.device, 1)
        row.addWidget(self.batch)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.button)
        layout.addLayout(row)
        layout.addWidget(self.status)

    @property
    def running(self) -> bool:
        return self.job is not None

    def toggle(self) -> None:
        if self.job is not None:
            self.job.cancel()
            self.status.setText("Cancelling…")
        else:
            self.start()

    def start(self, options: SideBySideOptions | None = None) -> JobHandle | None:
        """Measure the ticked variants (at least one, each with its model open)."""
        variants = [v for v in self.ticked() if v.loaded is not None]
        if not variants:
            self.status.setText("Tick the variants to measure (their models must be open).")
            return None
        options = options or SideBySideOptions(
            batch=self.batch.value(), device=self.device.device() or "cpu"
        )
        names = {v.id: v.name for v in variants}

        def job(ctx: RunContext) -> dict[str, LatencyReport]:
            return measure_side_by_side([(v.id, v) for v in variants], options, ctx)

        def done(reports: dict[str, LatencyReport]) -> None:
            self._finish(f"Measured {len(reports)} variants on ONNX Runtime ({options.device}).")
            for variant in variants:
                report = reports[variant.id]
                store_on(self.project(), variant, Metrics(latency={report.key: report}))
            self.measured.emit(variants)

        def fail(error: BaseException) -> None:
            self._finish("")
            self.failed.emit(error)

        def progress(fraction: float | None, message: str) -> None:
            shown = f"{fraction:.0%} " if fraction is not None else ""
            for variant_id, name in names.items():
                message = message.replace(variant_id, name)
            self.status.setText(f"{shown}{message}")

        self.button.setText("Cancel measuring")
        self.status.setText(f"Preparing {len(variants)} variants…")
        self.job = self.tasks.start_job(
            job,
            done,
            fail,
            on_progress=progress,
            on_cancelled=lambda: self._finish("Cancelled; nothing was stored."),
            context=RunContext(device=options.device),
        )
        return self.job

    def _finish(self, text: str) -> None:
        self.job = None
        self.button.setText(START_TEXT)
        self.status.setText(text)


def store_on(project: Project | None, variant: Variant, metrics: Metrics) -> None:
    """Keep ``metrics`` on ``variant``; through its project, so its listeners (the
    inspector, autosave) hear of it."""
    if project is not None and variant.id in project.variants:
        with project.changing(variant):
            store_metrics(variant, metrics)
    else:
        store_metrics(variant, metrics)
