"""Quantize a variant: method → data and calibration → advanced → run → results.

Every page reads the pass configs (``core.compress.quantization.configs``) through
``ConfigForm``; the run calls ``quantize_variant`` and ``write_quantized_variant`` in
a worker, exactly what ``workbench quantize`` calls, so the two agree for the same
settings. The results page lists the per-node error with check boxes: ticking the
worst nodes and re-running keeps them in float. Finish hands over the quantized model,
its ONNX file (in a folder this wizard owns) and the figures.
"""

from __future__ import annotations

import html
import shutil
import tempfile
from pathlib import Path
from typing import Any

from PySide6.QtWidgets import (
    QComboBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QScrollArea,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.compress.quantization import METHODS
from workbench.core.context import RunContext
from workbench.core.device import onnxruntime_devices
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.ui.config_form import ConfigForm
from workbench.ui.device_combo import DeviceCombo
from workbench.ui.wizards.base import ExplainedChoicePage, PassWizard, RunPage, WizardOutcome
from workbench.ui.wizards.quantization_results import ResultsPage
from workbench.ui.workers import TaskRunner

CALIBRATION_FIELDS = ("calibration", "samples", "calibration_batch", "percentile")
METHOD_CHOICES = (
    (
        "static",
        "INT8, calibrated (static) — for CNNs on CPUs",
        "Weights and activations in 8-bit integers; activation ranges are measured first on "
        "a few hundred of your samples. About 4x smaller and 2-4x faster on CPUs with VNNI "
        "(Intel Cascade Lake or newer, AMD Zen 4) or AMX (Sapphire Rapids). Accuracy "
        "usually drops by under a point. On a GPU it needs TensorRT: ONNX Runtime's CUDA "
        "provider runs it dequantized, slower than float32.",
    ),
    (
        "dynamic",
        "INT8 weights (dynamic) — for transformers and Linear-heavy models",
        "Matrix-multiply weights in 8 bits; activations are quantized as the model runs, so "
        "no calibration is needed. Gains grow with the size of the matrices; VNNI/AMX CPUs "
        "gain most.",
    ),
    (
        "fp16",
        "Float16 — for GPUs",
        "Weights and arithmetic in 16-bit floats: half the size, and up to 2x faster on GPUs "
        "with tensor cores (NVIDIA Volta or newer), at larger batches: at batch 1 the casts "
        "that keep float32 inputs and outputs and the kernel launches can cost more than it "
        "saves. CPUs do not gain. Accuracy is nearly always unchanged.",
    ),
    (
        "torch-dynamic",
        "INT8 Linear/LSTM in PyTorch — stays a PyTorch model",
        "PyTorch's own dynamic quantization of Linear and LSTM layers, for deployment in "
        "PyTorch on CPUs. Only for PyTorch models.",
    ),
)
# Offered for language models (their dataset's task): their size is their MatMul weights.
INT4_CHOICE = (
    "int4",
    "INT4 weights (weight-only) — for language models",
    "Matrix-multiply weights in 4 bits, in blocks that each keep their own scale; "
    "activations stay float. About 6x smaller weights at block size 32, perplexity usually "
    "within a few percent. Round-to-nearest and HQQ need no data; GPTQ corrects the "
    "rounding with a few windows of text. Choose the block size and algorithm on the "
    "advanced page; keep the output layer (lm_head) in float if perplexity suffers.",
)


def is_language_model(source: LoadedModel) -> bool:
    """Whether the model's registered dataset is a language-modeling one."""
    from workbench.core.catalogue import get_registry
    from workbench.core.compress.quantization.lm_figures import LM_TASK

    entry = get_registry().datasets.get(source.dataset or "")
    return entry is not None and entry.task == LM_TASK


def _config_class(method: str) -> type:
    from workbench.core.compress.quantization import CONFIGS

    return CONFIGS[method]


def hardware_line() -> str:
    """What this machine offers, in a sentence (stdlib only: safe on the GUI thread)."""
    from workbench.core.measure.environment import cpu_description

    model, flags = cpu_description()
    vnni = any("vnni" in f for f in flags)
    amx = any(f.startswith("amx") for f in flags)
    extras = ", ".join(n for n, ok in (("VNNI", vnni), ("AMX", amx)) if ok) or "no VNNI or AMX"
    return f"This machine: {model or 'unknown CPU'} ({extras})."


class DataPage(QWizardPage):
    """The data to calibrate and measure on, and (static INT8) how to calibrate."""

    def __init__(self, source: LoadedModel, parent: QWidget | None = None) -> None:
        from workbench.core.catalogue import get_registry
        from workbench.core.compress.quantization import StaticInt8Config

        super().__init__(parent)
        self.setTitle("Data and calibration")
        self.data = QComboBox()
        self.data.setObjectName("quant-data")
        self.data.setEditable(True)
        self.data.addItems(sorted(get_registry().datasets))
        self.data.setCurrentText(source.dataset or "")
        self.data.lineEdit().setPlaceholderText("a dataset name, image folder, .csv or .npz")
        self.data.currentTextChanged.connect(lambda _t: self._data_changed())
        self.explain = QLabel()
        self.explain.setWordWrap(True)
        self.missing = QLabel("Static INT8 needs calibration data: choose a dataset or type "
                              "the path of an image folder, .csv or .npz.")  # fmt: skip
        self.missing.setObjectName("quant-data-missing")
        self.missing.setWordWrap(True)
        self.missing.setStyleSheet("color: #c0392b;")
        self.missing.hide()
        self.form = ConfigForm(StaticInt8Config, only=CALIBRATION_FIELDS)
        self.form.setObjectName("calibration-form")
        self.form.validity_changed.connect(lambda _v: self.completeChanged.emit())
        rows = QFormLayout()
        rows.addRow("Data", self.data)
        layout = QVBoxLayout(self)
        layout.addLayout(rows)
        layout.addWidget(self.missing)
        layout.addWidget(self.explain)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def initializePage(self) -> None:  # Qt's name
        static = self.wizard().method() == "static"
        self.form.setVisible(static)
        self.setSubTitle(
            "Calibration measures each activation's range on samples of the training split; "
            "accuracy is measured on the validation split."
            if static
            else "No calibration for this method: the data is used for accuracy and the "
            "per-node error table (leave it empty to skip both)."
        )
        self._data_changed()
        self.explain.setText(
            "Percentile ignores rare outliers and usually keeps the most accuracy; min-max "
            "takes the extremes; entropy is the slowest. 100-500 samples are usually enough."
            if static
            else ""
        )

    def _data_changed(self) -> None:
        wizard = self.wizard()
        static = wizard is not None and wizard.method() == "static"
        self.missing.setVisible(static and self.data_spec() is None)
        self.completeChanged.emit()

    def data_spec(self) -> str | None:
        return self.data.currentText().strip() or None

    def isComplete(self) -> bool:  # Qt's name
        if self.wizard() is None or self.wizard().method() != "static":
            return True
        return self.data_spec() is not None and self.form.is_valid()


class AdvancedPage(QWizardPage):
    """The method's other settings (op types, per-channel, ranges, exclusions), and
    where to measure."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Advanced settings")
        self.setSubTitle("The defaults suit most models; node names to keep in float come "
                         "from the per-node error table after a first run.")  # fmt: skip
        self.method = ""
        self.form: ConfigForm | None = None
        self.scroll = QScrollArea()
        self.scroll.setWidgetResizable(True)
        self.device = DeviceCombo(("cpu",))  # GPUs once ONNX Runtime's CUDA provider loads
        self.device.setObjectName("quant-device")
        self.device.set_hint("where latency and accuracy are measured (the provider)")
        self.batches = QLineEdit("1,32")
        self.batches.setObjectName("quant-batches")
        self.batches.setToolTip("batch sizes timed before and after")
        rows = QFormLayout()
        rows.addRow("Measure on", self.device)
        rows.addRow("Batch sizes", self.batches)
        layout = QVBoxLayout(self)
        layout.addWidget(self.scroll, 1)
        layout.addLayout(rows)

    def initializePage(self) -> None:  # Qt's name
        method = self.wizard().method()
        if method == self.method and self.form is not None:
            return  # keep what was edited (and the exclusions a re-run set)
        self.method = method
        self.form = ConfigForm(_config_class(method), only=self._fields(method))
        self.form.setObjectName("advanced-form")
        self.form.validity_changed.connect(lambda _v: self.completeChanged.emit())
        self.scroll.setWidget(self.form)
        self.completeChanged.emit()

    @staticmethod
    def _fields(method: str) -> list[str]:
        from workbench.core.config_schema import fields_of

        # Static INT8's calibration settings live on the data page; INT4's samples (GPTQ) here.
        return [
            s.name
            for s in fields_of(_config_class(method))
            if method != "static" or s.name not in CALIBRATION_FIELDS
        ]

    @property
    def auto_exclude(self) -> QSpinBox | None:
        """The form's auto-exclude field (the methods that make a per-node error table)."""
        editor = self.form.editors.get("auto_exclude") if self.form is not None else None
        return editor if isinstance(editor, QSpinBox) else None

    def set_exclude(self, names: list[str]) -> None:
        """Keep exactly ``names`` in float: the user's choice now, none added by auto-exclude."""
        if self.form is not None:
            known = {"exclude": names, "auto_exclude": 0}
            self.form.set_value({k: v for k, v in known.items() if k in self.form.editors})

    def batch_sizes(self) -> list[int]:
        from workbench.core.units import parse_batch_sizes

        try:
            return parse_batch_sizes(self.batches.text())
        except ValueError as exc:
            raise WorkbenchError(f"batch sizes: {exc}") from None

    def isComplete(self) -> bool:  # Qt's name
        return self.form is not None and self.form.is_valid()


class QuantizationWizard(PassWizard):
    """INT8 / FP16 quantization of one variant, measured before and after."""

    def __init__(
        self, source: LoadedModel, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(source, tasks, title="Quantize", parent=parent)
        self.setObjectName("quantization-wizard")
        self.folder = Path(tempfile.mkdtemp(prefix="workbench-quantize-"))
        self.runs = 0
        language = is_language_model(source)
        default = "static" if source.framework == "onnx" or _convolutional(source) else "dynamic"
        self.method_page = ExplainedChoicePage(
            "Quantization method",
            f"Smaller numbers for weights and activations. {hardware_line()}",
            [*([INT4_CHOICE] if language else []), *METHOD_CHOICES],
            default="int4" if language else default,
        )
        if source.framework != "pytorch":
            button = self.method_page.buttons["torch-dynamic"]
            button.setEnabled(False)
            button.setToolTip("only for PyTorch models")
        self.measured_advice = QLabel()
        self.measured_advice.setObjectName("quant-measured-advice")
        self.measured_advice.setWordWrap(True)
        self.measured_advice.setStyleSheet(
            "background: #fff7e0; border: 1px solid #e3c770; padding: 6px;"
        )
        self.measured_advice.hide()
        layout = self.method_page.layout()
        layout.insertWidget(layout.count() - 1, self.measured_advice)  # above the stretch
        self.data_page = DataPage(source)
        self.advanced_page = AdvancedPage()
        self.advanced_page.device.load(self.tasks, onnxruntime_devices)
        self.run = RunPage("Quantizing", self._make_job, self._show)
        self.results = ResultsPage(self._rerun)
        for page in (self.method_page, self.data_page, self.advanced_page, self.run,
                     self.results):  # fmt: skip
            self.addPage(page)

    def method(self) -> str:
        return self.method_page.value()

    def show_measurements(
        self, source_metrics: dict[str, Any], quantized: list[tuple[str, dict, dict]]
    ) -> None:
        """What this model's recorded measurements say per device, on the method page:
        its own benchmarks (``source_metrics``) and its quantized variants' before and
        after figures (name, step, metrics each). A model benchmarked only on a GPU
        starts on FP16. Plain data, read on the GUI thread: nothing is measured here."""
        from workbench.core.compress.quantization.advice import (
            for_method_page,
            recommended_method,
        )

        lines = for_method_page(source_metrics, quantized)
        paragraphs = "".join(
            f"<p style='margin: 4px 0 0 0'>{html.escape(x, quote=False)}</p>" for x in lines
        )
        self.measured_advice.setText(f"<b>From this model's recorded measurements</b>{paragraphs}")
        self.measured_advice.setVisible(bool(lines))
        recommended = recommended_method(source_metrics)
        if recommended is not None and self.method_page.buttons[recommended].isEnabled():
            self.method_page.set_value(recommended)

    def config(self) -> Any:
        """The chosen method's config from the data page and the advanced page."""
        from workbench.core.config_schema import config_from_dict

        method = self.method()
        values = dict(self.data_page.form.values()) if method == "static" else {}
        form = self.advanced_page.form
        if form is not None and self.advanced_page.method == method:
            values.update(form.values())
        return config_from_dict(_config_class(method), values, where=METHODS[method])

    def _make_job(self) -> Any:
        from workbench.core.compress.quantization.variant_record import (
            write_quantized_variant,
        )
        from workbench.core.compress.quantization.workflow import quantize_variant

        method, config = self.method(), self.config()
        data = self.data_page.data_spec()
        device = self.advanced_page.device.device()
        batches = self.advanced_page.batch_sizes()
        source = self.source
        self.runs += 1
        folder = self.folder / f"run-{self.runs}"

        def job(ctx: RunContext) -> tuple[Any, dict[str, Path]]:
            outcome = quantize_variant(
                source, method, config, data=data, device=device, batches=batches, ctx=ctx
            )
            return outcome, write_quantized_variant(outcome, folder, source=source.display_name)

        return job

    def _show(self, result: tuple[Any, dict[str, Path]]) -> None:
        outcome, paths = result
        self.outcome = WizardOutcome(
            model=outcome.model,
            name=outcome.name(),
            step=outcome.step,
            metrics=outcome.variant_metrics(),
            artifacts={key: str(path) for key, path in paths.items()},
            notes=list(outcome.notes),
        )
        self.results.show_outcome(outcome)

    def _rerun(self, exclude: list[str]) -> None:
        """Keep ``exclude`` in float and run again (back to the run page). The ticks are
        the user's choice now, auto-excluded nodes included: no more are added."""
        self.advanced_page.set_exclude(exclude)
        self.back()
        self.run.start()

    def reject(self) -> None:  # Qt's name: Cancel; nothing made is kept
        running = self.run.running
        super().reject()
        if not running:
            shutil.rmtree(self.folder, ignore_errors=True)


def _convolutional(source: LoadedModel) -> bool:
    module = source.module
    if module is None:
        return True
    return any("Conv" in type(m).__name__ for m in module.modules())
