"""Compress > Prune…: method -> target -> layers -> fine-tuning -> review -> run -> summary.

``PruningWizard(source, tasks, parent=None)`` on the shared ``PassWizard`` base. Every
setting maps onto the config of the ``magnitude-prune`` or ``channel-prune`` pass
(``pass_and_config()``), and the run calls ``run_pruning`` exactly as ``workbench
prune`` does, so the wizard and the CLI make the same model from the same settings.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDoubleSpinBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QSpinBox,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.compress.pruning.config import ChannelPruneConfig, MagnitudePruneConfig
from workbench.core.config_schema import fields_of
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.ui.wizards.base import ExplainedChoicePage, PassWizard, RunPage, WizardOutcome
from workbench.ui.wizards.pruning_pages import LayersPage, LiveLoss, plot_widget
from workbench.ui.wizards.pruning_review import ReviewPage
from workbench.ui.wizards.pruning_summary import SummaryPage
from workbench.ui.workers import TaskRunner

METHODS = [
    ("magnitude", "Magnitude (unstructured)",
     "Sets the smallest individual weights to zero. Accuracy holds up to high sparsity, "
     "but the layers keep their shapes: unstructured zeros make no dense model faster "
     "(ONNX Runtime and PyTorch do the same work); only a compressed file gets smaller."),
    ("l1", "Channels by L1 magnitude (structured)",
     "Removes whole filters whose weights add up to the least, with everything that "
     "depends on them. The model really gets smaller and faster. A good default."),
    ("l2", "Channels by L2 magnitude (structured)",
     "Like L1, but large single weights count more when ranking filters."),
    ("bn-scale", "Channels by BatchNorm scale (structured)",
     "Ranks channels by the scale their BatchNorm layer gives them: a channel the "
     "network itself turned down matters little. Needs BatchNorm after the convolutions."),
    ("taylor", "Channels by Taylor importance (structured)",
     "Estimates how much the loss would rise without each channel (weight x gradient "
     "on a few training batches). Usually keeps the most accuracy; needs training data."),
]  # fmt: skip
TARGET_LABELS = {
    "channels": "a fraction of the channels",
    "macs": "a reduction of the MACs (compute)",
    "params": "a reduction of the parameters (size)",
    "latency": "a reduction of the measured latency (ONNX Runtime, CPU)",
}


def _help(config_class: type, name: str) -> str:
    return next(spec.help for spec in fields_of(config_class) if spec.name == name)


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


class TargetPage(QWizardPage):
    """How much to prune, measured how, ranked where."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Target")
        self.amount = QDoubleSpinBox()
        self.amount.setObjectName("target-amount")
        self.amount.setRange(0.0, 95.0)
        self.amount.setDecimals(0)
        self.amount.setSingleStep(5)
        self.amount.setValue(50)
        self.amount.setSuffix(" %")
        self.target = QComboBox()
        self.target.setObjectName("target-kind")
        for key, label in TARGET_LABELS.items():
            self.target.addItem(label, key)
        self.scope = QComboBox()
        self.scope.setObjectName("target-scope")
        self.scope.addItem("the same fraction in every layer", "per-layer")
        self.scope.addItem("one ranking over the whole network", "global")
        self.explain = _note("")
        form = QFormLayout()
        form.addRow("Remove", self.amount)
        form.addRow("Measured as", self.target)
        form.addRow("Ranking", self.scope)
        layout = QVBoxLayout(self)
        layout.addLayout(form)
        layout.addWidget(self.explain)
        layout.addStretch(1)
        self.amount.valueChanged.connect(lambda _v: self.update_explanation())
        self.target.currentIndexChanged.connect(lambda _i: self.update_explanation())
        self.scope.currentIndexChanged.connect(lambda _i: self.update_explanation())

    def initializePage(self) -> None:  # Qt's name: entered with Next
        structured = self.wizard().structured  # type: ignore[attr-defined]
        self.target.setEnabled(structured)
        if not structured:
            self.target.setCurrentIndex(0)
        self.setSubTitle(
            "How much of the channels (or compute, size, latency) to remove."
            if structured
            else "What fraction of the weights to set to zero."
        )
        self.update_explanation()

    def update_explanation(self) -> None:
        """Say in words what the current numbers will do."""
        structured = self.wizard().structured  # type: ignore[attr-defined]
        amount = self.amount.value() / 100
        kept = max(1e-9, 1 - amount)
        target = self.target.currentData()
        if not structured:
            text = (
                f"{amount:.0%} of the weights of every chosen layer become zero (the "
                "classifier stays dense). Unstructured pruning counts weights, not MACs or "
                "latency: those stay as they are."
            )
        elif target == "channels":
            text = (
                f"Each chosen layer loses {amount:.0%} of its output channels. In a plain CNN "
                f"compute falls with both sides of a convolution: about {1 / kept**2:.1f}x "
                "fewer MACs."
            )
        else:
            what = {"macs": "MACs", "params": "parameters", "latency": "milliseconds"}[target]
            text = (
                f"Searches the channel fraction that removes {amount:.0%} of the {what} "
                f"({1 / kept:.1f}x fewer)"
                + (", timing candidates on ONNX Runtime: slower to run." if target == "latency"
                   else ".")
            )  # fmt: skip
        scope = _help(ChannelPruneConfig if structured else MagnitudePruneConfig, "scope")
        self.explain.setText(f"{text}\n\nRanking: {scope}.")


class FinetunePage(QWizardPage):
    """Optional fine-tuning with the training engine, and iterative steps."""

    def __init__(self, source: LoadedModel) -> None:
        super().__init__()
        from workbench.core.catalogue import get_registry

        self.setTitle("Fine-tuning")
        self.setSubTitle(
            "Pruning costs accuracy; a few epochs of training afterwards win most of it back."
        )
        self.enabled = QCheckBox("Fine-tune after pruning (uses the training engine)")
        self.enabled.setObjectName("finetune-enabled")
        self.epochs = QSpinBox()
        self.epochs.setObjectName("finetune-epochs")
        self.epochs.setRange(1, 1000)
        self.epochs.setValue(2)
        self.lr = QLineEdit()
        self.lr.setObjectName("finetune-lr")
        self.lr.setPlaceholderText("the model's usual learning rate")
        self.steps = QSpinBox()
        self.steps.setObjectName("finetune-steps")
        self.steps.setRange(1, 20)
        self.data = QComboBox()
        self.data.setObjectName("finetune-data")
        self.data.addItem("none (no fine-tuning, scan or accuracy)", None)
        for name in sorted(get_registry().datasets):
            self.data.addItem(name, name)
        self.data.setCurrentIndex(max(0, self.data.findData(source.dataset)))
        self.enabled.toggled.connect(self._sync)
        self.enabled.toggled.connect(lambda _on: self.completeChanged.emit())
        self.data.currentIndexChanged.connect(lambda _i: self.completeChanged.emit())
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b;")
        self.lr.textChanged.connect(lambda _text: self.completeChanged.emit())
        form = QFormLayout()
        form.addRow("Data", self.data)
        form.addRow("Epochs per step", self.epochs)
        form.addRow("Learning rate", self.lr)
        form.addRow("Steps", self.steps)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addLayout(form)
        layout.addWidget(_note(
            f"Steps: {_help(MagnitudePruneConfig, 'steps')}. The data also scores accuracy "
            "before and after, and ranks channels for Taylor importance."
        ))  # fmt: skip
        layout.addWidget(self.error)
        layout.addStretch(1)
        self._sync(False)

    def _sync(self, on: bool) -> None:
        for widget in (self.epochs, self.lr):
            widget.setEnabled(on)

    def learning_rate(self) -> float | None:
        text = self.lr.text().strip()
        return float(text) if text else None

    def isComplete(self) -> bool:  # Qt's name
        try:
            rate = self.learning_rate()
        except ValueError:
            self.error.setText("The learning rate must be a number, e.g. 0.001")
            return False
        problem = "" if rate is None or rate > 0 else "The learning rate must be positive"
        if self.data.currentData() is None:
            wizard = self.wizard()
            if self.enabled.isChecked():
                problem = "Fine-tuning needs data: choose a dataset"
            elif wizard is not None and wizard.method.value() == "taylor":  # type: ignore[attr-defined]
                problem = "Taylor importance needs training data: choose a dataset"
        self.error.setText(problem)
        return not problem


class PruneRunPage(RunPage):
    """The shared run page plus the fine-tuning loss, live."""

    def __init__(self, make_job: Any, on_result: Any) -> None:
        super().__init__("Pruning", make_job, on_result)
        self.setSubTitle(
            "Prunes (and fine-tunes), then measures both models the same way. Cancel stops "
            "at the next step and keeps nothing."
        )
        self.plot = plot_widget("Fine-tuning loss", "step", "loss")
        self.plot.setObjectName("run-loss")
        self.live = LiveLoss(self.plot)
        self.body.insertWidget(2, self.plot, 1)

    def initializePage(self) -> None:  # Qt's name
        self.live.reset()
        self.plot.setVisible(self.wizard().finetune.enabled.isChecked())  # type: ignore[attr-defined]
        self.live.timer.start()
        super().initializePage()

    def _end(self, ok: bool, text: str) -> None:
        self.live.drain()
        self.live.timer.stop()
        super()._end(ok, text)


class PruningWizard(PassWizard):
    """Prune ``source`` step by step; Finish emits the pruned model as a WizardOutcome."""

    def __init__(
        self, source: LoadedModel, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        super().__init__(source, tasks, title="Prune", parent=parent)
        from workbench.core.compress.pruning.layers import prunable_layers

        if source.framework != "pytorch" or source.module is None:
            raise WorkbenchError(
                f"{source.display_name} is not a PyTorch model; pruning needs one (export "
                "happens after pruning)"
            )
        self.run: Any = None
        self.method = ExplainedChoicePage(
            "Method",
            "How to choose what to remove. Structured methods make the model faster; "
            "unstructured only makes it sparse.",
            METHODS,
            default="l1",
        )
        self.target = TargetPage()
        self.layers = LayersPage(self._scan_job)
        found = prunable_layers(source.module)
        self.classifier = next((layer.name for layer in found if layer.classifier), None)
        self.layers.set_layers(found)
        self.finetune = FinetunePage(source)
        self.review = ReviewPage(self._groups_job)
        self.run_page = PruneRunPage(self._run_job, self._ran)
        self.summary = SummaryPage()
        for page in (self.method, self.target, self.layers, self.finetune, self.review,
                     self.run_page, self.summary):  # fmt: skip
            self.addPage(page)

    def nextId(self) -> int:  # Qt's name: unstructured pruning removes no channels to review
        if self.currentPage() is self.finetune and not self.structured:
            return next(i for i in self.pageIds() if self.page(i) is self.run_page)
        return super().nextId()

    @property
    def structured(self) -> bool:
        return self.method.value() != "magnitude"

    def pass_and_config(self) -> tuple[str, dict[str, Any]]:
        """The pass name and its recipe config, as ``workbench prune`` builds them."""
        ignored = self.layers.ignored()
        keep = self.classifier is not None and self.classifier in ignored
        config: dict[str, Any] = {
            "amount": round(self.target.amount.value() / 100, 4),
            "scope": self.target.scope.currentData(),
            "keep_classifier": keep,
            "ignore": [name for name in ignored if name != self.classifier],
            "layer_amounts": [f"{n}={a:g}" for n, a in self.layers.amounts().items()],
            "steps": self.finetune.steps.value(),
            "finetune_epochs": self.finetune.epochs.value() if self.finetune_on else 0,
            "finetune_lr": self.finetune.learning_rate() if self.finetune_on else None,
        }
        if not self.structured:
            return "magnitude-prune", config
        config["method"] = self.method.value()
        config["target"] = self.target.target.currentData()
        return "channel-prune", config

    @property
    def finetune_on(self) -> bool:
        return self.finetune.enabled.isChecked()

    def dataset_name(self) -> str | None:
        return self.finetune.data.currentData()

    def _scan_job(self) -> Any:
        from workbench.core.compress.pruning.sensitivity import sensitivity_scan
        from workbench.core.data.resolve import resolve_dataset

        source, structured = self.source, self.structured
        method = self.method.value() if structured else "l1"
        layers, name = self.layers.chosen(), self.dataset_name()
        if not name:
            raise WorkbenchError("choose the data to scan on (Data, on the Fine-tuning page)")

        def job(ctx: RunContext) -> Any:
            dataset = resolve_dataset(name, seed=0)
            return sensitivity_scan(
                source, dataset, structured=structured, method=method, layers=layers, ctx=ctx
            )

        return job

    def _groups_job(self) -> Any:
        from workbench.core.compress.pruning.config import ChannelPruneConfig
        from workbench.core.compress.pruning.groups import preview_groups
        from workbench.core.config_schema import config_from_dict
        from workbench.core.data.resolve import resolve_dataset

        _pass, settings = self.pass_and_config()
        config = config_from_dict(ChannelPruneConfig, settings)
        source, name = self.source, self.dataset_name()

        def job(ctx: RunContext) -> Any:
            if name and config.method == "taylor":
                ctx.data = resolve_dataset(name, seed=0)
            return preview_groups(source, config, ctx)

        return job

    def _run_job(self) -> Any:
        from workbench.core.compress.pruning.variant import run_pruning
        from workbench.core.data.resolve import resolve_dataset

        pass_name, config = self.pass_and_config()
        source, name = self.source, self.dataset_name()
        listener = self.run_page.live.listener

        def job(ctx: RunContext) -> Any:
            dataset = resolve_dataset(name, seed=0) if name else None
            ctx.train_listeners = [listener]
            return run_pruning(source, pass_name, config, dataset=dataset, ctx=ctx)

        return job

    def _ran(self, run: Any) -> None:
        self.run = run
        label = self.source.arch or self.source.display_name
        self.outcome = WizardOutcome(
            model=run.model,
            name=run.name(label),
            step=run.step,
            metrics=run.metrics,
            notes=list(run.notes),
        )
        self.summary.show_run(run)
