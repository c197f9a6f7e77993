"""The distillation wizard's set-up pages: teacher, student (with its figures), loss, budget.

Every setting the run reads is a ``DistillConfig`` field; the loss and budget pages are
``ConfigForm``s over their fields (``only=``), the student page writes the ``student``
and ``init`` fields from its own editors, so the wizard, the CLI and recipes share one
set of names, limits and messages.
"""

from __future__ import annotations

import contextlib
import inspect
from typing import Any

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.compress.distillation.config import BUDGET_FIELDS, LOSS_FIELDS
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.units import human_bytes, human_count
from workbench.ui.app_words import error_line
from workbench.ui.config_form import ConfigForm
from workbench.ui.wizards.base import ExplainedChoicePage

FIGURES_DELAY_MS = 300  # wait for typing to pause before building the student again

STUDENT_CHOICES = [
    ("zoo", "A smaller architecture",
     "A built-in architecture, made narrower (width) or shallower (depth). Fresh weights, "
     "or the teacher's wherever a layer keeps its shape."),
    ("pruned", "A pruned copy of the teacher",
     "The teacher with a fraction of the channels of every layer removed (structured "
     "pruning): it keeps the teacher's design and most useful weights."),
    ("factory", "Your own architecture",
     "A Python function module:factory that builds the student, e.g. mypkg.nets:tiny."),
]  # fmt: skip

LOSS_TEXT = (
    "<p>The student learns from two sources at once: the <b>true labels</b>, and the "
    "<b>teacher's answers</b>. The teacher's answers say more than a label: "
    "<i>“probably a 3, could be an 8”</i> tells the student which classes look alike.</p>"
    "<p><b>Alpha</b> splits the attention: 1 is labels only (no teacher), 0 is the teacher "
    "only. <b>Temperature</b> softens both answers before they are compared; higher "
    "shows more of the teacher's second choices (2–6 is usual). <b>Hints</b> also ask "
    "chosen inner layers of the student to resemble the teacher's.</p>"
)
# A language model's "classes" are its next tokens: the same loss, per token.
LM_LOSS_TEXT = (
    "<p>The student learns from two sources at once: the <b>text itself</b> (the true next "
    "token) and the <b>teacher's answers</b>, at every position. The teacher's answer says "
    "more than the true token: <i>“probably ‘the’, could be ‘a’”</i> tells the student "
    "which continuations are alike.</p>"
    "<p><b>Alpha</b> splits the attention: 1 is the text only (no teacher), 0 is the "
    "teacher only. <b>Temperature</b> softens both answers before they are compared; "
    "higher shows more of the teacher's second choices. The result is judged by "
    "perplexity (lower is better).</p>"
)
AUGMENT_WHY = "Image augmentation (crops, flips) does not apply to text: it stays off."


class TeacherPage(QWizardPage):
    def __init__(
        self, source: LoadedModel, lm: bool = False, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setTitle("Teacher")
        self.setSubTitle(
            "The model you started from is the teacher. It is not changed: a new, smaller "
            "student is trained to copy it."
        )
        params = sum(p.numel() for p in source.module.parameters()) if source.module else 0
        text = QLabel(
            f"<b>{source.display_name}</b><br>"
            f"Architecture: {source.arch or 'unknown'}<br>"
            f"Dataset: {source.dataset or 'none (choose one on the data page)'}<br>"
            f"Parameters: {human_count(params)}<br><br>"
            + ("Its perplexity (lower is better) is" if lm else "Its accuracy is")
            + " measured on the validation data when the run starts."
        )
        text.setObjectName("teacher-text")
        text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addStretch(1)


def _accepts(arch: str) -> set[str]:
    """The keyword arguments a zoo architecture's factory takes."""
    from workbench.core.catalogue import get_registry
    from workbench.core.registry import resolve

    try:
        return set(inspect.signature(resolve(get_registry().model(arch).factory)).parameters)
    except (WorkbenchError, TypeError, ValueError):
        return set()


class StudentPage(ExplainedChoicePage):
    """Which student, with its parameters, MACs and latency beside the teacher's."""

    def __init__(self, source: LoadedModel, parent: QWidget | None = None) -> None:
        from workbench.core.catalogue import get_registry

        head = (source.arch or "").removeprefix("zoo:").partition(":")[0]
        zoo_names = sorted(get_registry().models)
        default = "zoo" if head in zoo_names and "width" in _accepts(head) else "pruned"
        super().__init__(
            "Student",
            "The smaller model that learns from the teacher.",
            STUDENT_CHOICES,
            default=default,
            parent=parent,
        )
        self.source = source
        self.arch = QComboBox()
        self.arch.setObjectName("student-arch")
        self.arch.addItems(zoo_names)
        if head in zoo_names:
            self.arch.setCurrentText(head)
        self.width = _spin(0.05, 4.0, 0.5, "student-width")
        self.depth = _spin(0.25, 4.0, 1.0, "student-depth")
        self.options = QLineEdit()
        self.options.setObjectName("student-options")
        self.options.setPlaceholderText("other options, e.g. hidden=32")
        self.options.setMinimumWidth(190)
        zoo_row = _row(QLabel("Architecture"), self.arch, QLabel("width ×"), self.width,
                       QLabel("depth ×"), self.depth, self.options)  # fmt: skip
        self.ratio = _spin(0.05, 0.95, 0.5, "student-ratio")
        self.round_to = QSpinBox()
        self.round_to.setObjectName("student-round-to")
        self.round_to.setRange(1, 64)
        self.round_to.setToolTip("8 suits CPU vector units and tensor cores; 1: any count")
        self.drop = QSpinBox()
        self.drop.setObjectName("student-drop-blocks")
        self.drop.setRange(0, 64)
        self.drop.setToolTip(
            "leave out this many of the teacher's blocks that keep their input's shape, "
            "the least harmful first (ranked on the data)"
        )
        pruned_row = _row(QLabel("Fraction of channels removed"), self.ratio,
                          QLabel("channels a multiple of"), self.round_to,
                          QLabel("blocks dropped"), self.drop)  # fmt: skip
        self.factory = QLineEdit()
        self.factory.setObjectName("student-factory")
        self.factory.setPlaceholderText("package.module:factory")
        factory_row = _row(self.factory)
        layout: QVBoxLayout = self.layout()  # type: ignore[assignment]
        for index, row in ((2, zoo_row), (5, pruned_row), (8, factory_row)):
            layout.insertWidget(index, row)  # under each choice's explanation
        self.rows = {"zoo": zoo_row, "pruned": pruned_row, "factory": factory_row}
        self.from_teacher = QCheckBox("Start from the teacher's weights where the shapes allow")
        self.from_teacher.setObjectName("student-init")
        self.from_teacher.setChecked(True)
        layout.insertWidget(layout.count() - 1, self.from_teacher)
        self.figures = QLabel("")
        self.figures.setObjectName("student-figures")
        self.figures.setWordWrap(True)
        layout.insertWidget(layout.count() - 1, self.figures)
        self.timer = QTimer(self)
        self.timer.setSingleShot(True)
        self.timer.setInterval(FIGURES_DELAY_MS)
        self.timer.timeout.connect(self.refresh_figures)
        self._generation = 0
        self._measuring = False  # a figures job is running
        self._again = False  # settings changed meanwhile: measure again when it ends
        self.figures_for: str | None = None  # the spec whose figures are shown
        for signal in (self.arch.currentTextChanged, self.width.valueChanged,
                       self.depth.valueChanged, self.options.textChanged,
                       self.ratio.valueChanged, self.round_to.valueChanged,
                       self.drop.valueChanged,
                       self.factory.textChanged,
                       self.group.buttonToggled):  # fmt: skip
            signal.connect(self._changed)
        self._changed()

    # -- the chosen student -------------------------------------------------------------

    def spec(self) -> str:
        """The ``student`` setting the editors describe (``zoo:...``, ``pruned:R``, ...)."""
        kind = self.value()
        if kind == "pruned":
            return f"pruned:{self.ratio.value():g}"
        if kind == "factory":
            return self.factory.text().strip()
        arch = self.arch.currentText()
        accepted = _accepts(arch)
        if "layers" in accepted and "heads" in accepted:  # a language model: counts, not x
            return f"zoo:{arch}:" + ",".join([*self._lm_options(), *self._typed()])
        options = [f"width={self.width.value():g}"] if "width" in accepted else []
        options += [f"depth={self.depth.value():g}"] if "depth" in accepted else []
        options += self._typed()
        return f"zoo:{arch}" + (":" + ",".join(options) if options else "")

    def _typed(self) -> list[str]:
        return [o.strip() for o in self.options.text().split(",") if o.strip()]

    def _lm_options(self) -> list[str]:
        """A decoder LM's width and layers are counts: the teacher's own (from its arch,
        else the zoo's defaults) times the multipliers, width a multiple of the heads."""
        from workbench.core.zoo import parse_zoo_ref

        own: dict[str, Any] = {"width": 128, "layers": 4, "heads": 4}
        with contextlib.suppress(WorkbenchError, ValueError, TypeError):
            own.update(parse_zoo_ref(self.source.arch or "")[1])
        heads = int(own["heads"])
        width = max(heads, round(int(own["width"]) * self.width.value() / heads) * heads)
        layers = max(1, round(int(own["layers"]) * self.depth.value()))
        return [f"width={width}", f"layers={layers}", f"heads={heads}"]

    def rounding(self) -> int:
        """``round_to``: only a pruned copy has channel counts to round."""
        return self.round_to.value() if self.value() == "pruned" else 1

    def dropping(self) -> int:
        """``drop_blocks``: only a pruned copy of the teacher loses blocks."""
        return self.drop.value() if self.value() == "pruned" else 0

    def init(self) -> str:
        return "teacher" if self.from_teacher.isChecked() else "scratch"

    def isComplete(self) -> bool:  # Qt's name
        return bool(self.value()) and (self.value() != "factory" or ":" in self.spec())

    def _changed(self, *_args: Any) -> None:
        kind = self.value()
        for key, row in self.rows.items():
            row.setEnabled(key == kind)
        accepted = _accepts(self.arch.currentText())
        self.width.setEnabled("width" in accepted)
        self.depth.setEnabled("depth" in accepted)
        self.completeChanged.emit()
        wizard = self.wizard()
        if wizard is not None and wizard.currentPage() is self:  # measure only when seen
            self.figures.setText("<i>Measuring the student…</i>")
            self.timer.start()

    def initializePage(self) -> None:  # Qt's name: entered with Next
        self._changed()

    # -- figures, measured in a worker ----------------------------------------------------

    def refresh_figures(self) -> None:
        """Build the student and time it off the GUI thread, one job at a time (two
        timings at once would disturb each other); the newest settings win."""
        wizard = self.wizard()
        if not self.isComplete() or wizard is None or wizard.currentPage() is not self:
            return
        if self._measuring:
            self._again = True
            return
        from workbench.core.compress.distillation.students import describe_student

        self._generation += 1
        generation, spec, source = self._generation, self.spec(), self.source
        rounding, dropping = self.rounding(), self.dropping()
        self._measuring, self._again = True, False

        def work() -> dict[str, Any]:
            return describe_student(source, spec, round_to=rounding, drop_blocks=dropping)

        wizard.start(  # type: ignore[attr-defined]
            work,
            lambda result: self._done(generation, spec, result, None),
            lambda error: self._done(generation, spec, None, error),
        )

    def _done(self, generation: int, spec: str, result: Any, error: Any) -> None:
        self._measuring = False
        if self._again:  # the settings changed while this one was measured
            self.refresh_figures()
            return
        if generation != self._generation:
            return
        if error is None:
            self.figures_for = spec
            self.figures.setText(figures_table(result))
            return
        text = error_line(error)
        self.figures.setText(
            f"<span style='color:#c0392b'>This student cannot be built: {text}</span>"
        )


def figures_table(result: dict[str, Any]) -> str:
    """Student beside teacher: parameters, MACs, estimated latency, as an HTML table."""
    s, t = result["student"], result["teacher"]

    def share(a: Any, b: Any) -> str:
        return f" ({a / b:.1%})" if a and b else ""

    rows = [
        ("Parameters", human_count(s["parameters"]) + share(s["parameters"], t["parameters"]),
         human_count(t["parameters"])),
        ("MACs (batch 1)", (human_count(s["macs"]) if s["macs"] else "unknown")
         + share(s["macs"], t["macs"]), human_count(t["macs"]) if t["macs"] else "unknown"),
        ("Weights", human_bytes(s["size_bytes"]), human_bytes(t["size_bytes"])),
        (f"Est. latency (batch 1, {s.get('latency_label') or 'CPU'})",
         f"{s['latency_ms']:.2f} ms", f"{t['latency_ms']:.2f} ms"),
    ]  # fmt: skip
    cells = "".join(
        f"<tr><td>{name}</td><td align='right'><b>{a}</b></td><td align='right'>{b}</td></tr>"
        for name, a, b in rows
    )
    return (
        f"<b>{result['description']}</b> (before training)"
        "<table cellspacing='0' cellpadding='3'><tr><th align='left'></th>"
        f"<th align='right'>Student</th><th align='right'>Teacher</th></tr>{cells}</table>"
    )


class _ShortSpin(QDoubleSpinBox):
    """Four decimals, so the ratios a search picks (0.875, 0.9375) and widths such as
    0.125 can be typed (two rounded 0.875 to 0.88), shown without trailing zeros."""

    def textFromValue(self, value: float) -> str:  # Qt's name
        return self.locale().toString(value, "g", 6)


def _spin(low: float, high: float, value: float, name: str) -> QDoubleSpinBox:
    spin = _ShortSpin()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setDecimals(4)
    spin.setSingleStep(0.05)
    spin.setValue(value)
    return spin


def _row(*widgets: QWidget) -> QWidget:
    row = QWidget()
    layout = QHBoxLayout(row)
    layout.setContentsMargins(24, 0, 0, 10)
    for widget in widgets:
        layout.addWidget(widget)
    layout.addStretch(1)
    return row


class LossPage(QWizardPage):
    def __init__(self, config_class: type, lm: bool = False, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Loss")
        self.setSubTitle(
            f"How the student weighs the {'text' if lm else 'labels'} against the teacher."
        )
        explanation = QLabel(LM_LOSS_TEXT if lm else LOSS_TEXT)
        explanation.setObjectName("loss-explanation")
        explanation.setWordWrap(True)
        self.form = ConfigForm(config_class, only=LOSS_FIELDS)
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        layout = QVBoxLayout(self)
        layout.addWidget(explanation)
        layout.addWidget(self.form)
        layout.addStretch(1)

    def isComplete(self) -> bool:  # Qt's name
        return self.form.is_valid()


class BudgetPage(QWizardPage):
    """Data, epochs, batch and the baseline (on by default: the summary's comparison)."""

    def __init__(
        self,
        config_class: type,
        source: LoadedModel,
        lm: bool = False,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setTitle("Data and budget")
        self.setSubTitle(
            f"Data left empty means the teacher's own ({source.dataset or 'none: name one'})."
        )
        self.form = ConfigForm(config_class, only=BUDGET_FIELDS)
        self.form.set_value({"baseline": True})
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        self.error = QLabel("")
        self.error.setObjectName("budget-error")
        self.error.setWordWrap(True)
        self.error.setStyleSheet("color: #c0392b;")
        self.augment_note = QLabel(AUGMENT_WHY if lm else "")
        self.augment_note.setObjectName("budget-augment-note")
        self.augment_note.setWordWrap(True)
        self.augment_note.setVisible(lm)
        if lm:
            augment = self.form.editors["augment"]
            augment.setEnabled(False)
            augment.setToolTip(AUGMENT_WHY)
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.augment_note)
        layout.addWidget(self.error)
        layout.addStretch(1)

    def isComplete(self) -> bool:  # Qt's name
        return self.form.is_valid()

    def validatePage(self) -> bool:  # Qt's name: Next; checks across pages (cache vs augment)
        try:
            self.wizard().config()  # type: ignore[attr-defined]
        except WorkbenchError as exc:
            self.error.setText(error_line(exc))
            return False
        self.error.setText("")
        return True
