"""Compress > Prune…: method -> target -> layers -> fine-tuning -> review -> run -> summary.

A language model (its dataset's task is language-modeling) walks what to remove (heads,
MLP width, depth) -> fine-tuning -> run -> summary instead, on the ``lm-prune`` pass.

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
    QFormLayout,
    QLabel,
    QVBoxLayout,
    QWidget,
    QWizardPage,
)

from workbench.core.catalogue import get_registry
from workbench.core.compress.pruning.config import ChannelPruneConfig, MagnitudePruneConfig
from workbench.core.compress.pruning.methods import METHODS, STRUCTURED_PASS, pruning_pass
from workbench.core.config_schema import config_to_dict, fields_of
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.ui.config_form import ConfigForm
from workbench.ui.wizards.base import ExplainedChoicePage, PassWizard, RunPage, WizardOutcome
from workbench.ui.wizards.pruning_lm import LM_FINETUNE_FIELDS, LMMethodPage
from workbench.ui.wizards.pruning_pages import LayersPage, LiveLoss, plot_widget
from workbench.ui.wizards.pruning_review import ReviewPage
from workbench.ui.wizards.pruning_summary import SummaryPage
from workbench.ui.wizards.quantization_wizard import is_language_model
from workbench.ui.workers import TaskRunner

# The pages show fields of channel-prune's config (magnitude-prune's are a subset, with
# the same names and limits); each is a generated form, so no limit is restated here.
TARGET_FIELDS = ("amount", "target", "scope")
CHANNEL_FIELDS = ("round_to", "max_layer_amount", "taylor_batches")  # channel pruning only
FINETUNE_FIELDS = ("steps", "finetune_epochs", "finetune_lr")
FIRST_EPOCHS = 2  # shown when fine-tuning is switched on (the config's 0 means none)


def _help(config_class: type, name: str) -> str:
    return next(spec.help for spec in fields_of(config_class) if spec.name == name)


def _note(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setStyleSheet("color: palette(placeholder-text);")
    return label


def _form(fields: tuple[str, ...], name: str) -> ConfigForm:
    form = ConfigForm(ChannelPruneConfig, only=fields)
    form.setObjectName(name)
    return form


class TargetPage(QWizardPage):
    """How much to prune, measured how, ranked where; channel pruning's finer limits."""

    def __init__(self) -> None:
        super().__init__()
        self.setTitle("Target")
        self.form = _form(TARGET_FIELDS, "target-form")
        self.amount = self.form.editors["amount"]  # in percent; the config holds a fraction
        self.amount.setObjectName("target-amount")
        self.target = self.form.editors["target"]
        self.target.setObjectName("target-kind")
        self.scope = self.form.editors["scope"]
        self.scope.setObjectName("target-scope")
        self.channel_form = _form(CHANNEL_FIELDS, "target-channel-form")
        self.explain = _note("")
        layout = QVBoxLayout(self)
        layout.addWidget(self.form)
        layout.addWidget(self.explain)
        layout.addWidget(self.channel_form)
        layout.addStretch(1)
        for form in (self.form, self.channel_form):
            form.changed.connect(self.update_explanation)
            form.validity_changed.connect(lambda _valid: self.completeChanged.emit())

    def initializePage(self) -> None:  # Qt's name: entered with Next
        structured = self.wizard().structured  # type: ignore[attr-defined]
        self.target.setEnabled(structured)
        self.channel_form.setVisible(structured)
        if not structured:
            self.target.setCurrentIndex(0)
        self.setSubTitle(
            "How much of the channels (or compute, size, latency) to remove."
            if structured
            else "What fraction of the weights to set to zero."
        )
        self.update_explanation()

    def settings(self, structured: bool) -> dict[str, Any]:
        """The page's fields of the chosen pass's config."""
        values = self.form.value()
        settings = {"amount": values.amount, "scope": values.scope}
        if structured:
            settings["target"] = values.target
            channel = self.channel_form.value()
            settings.update({name: getattr(channel, name) for name in CHANNEL_FIELDS})
        return settings

    def isComplete(self) -> bool:  # Qt's name
        return self.form.is_valid() and self.channel_form.is_valid()

    def update_explanation(self) -> None:
        """Say in words what the current numbers will do."""
        wizard = self.wizard()
        if wizard is None:
            return
        structured = wizard.structured  # type: ignore[attr-defined]
        values = self.form.values()
        amount = values["amount"]
        kept = max(1e-9, 1 - amount)
        target = values["target"]
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

    def __init__(self, source: LoadedModel, lm: bool = False) -> None:
        super().__init__()
        self.lm = lm
        score = "perplexity" if lm else "accuracy"
        self.setTitle("Fine-tuning")
        self.setSubTitle(
            f"Pruning costs {score}; a few epochs of training afterwards win most of it back."
        )
        self.enabled = QCheckBox("Fine-tune after pruning (uses the training engine)")
        self.enabled.setObjectName("finetune-enabled")
        self.fields = LM_FINETUNE_FIELDS if lm else FINETUNE_FIELDS  # lm-prune prunes once
        self.form = _form(self.fields, "finetune-form")
        self.form.set_value({"finetune_epochs": FIRST_EPOCHS})
        self.epochs = self.form.editors["finetune_epochs"]
        self.epochs.setObjectName("finetune-epochs")
        self.lr = self.form.editors["finetune_lr"]
        self.lr.setObjectName("finetune-lr")
        self.steps = self.form.editors.get("steps")
        if self.steps is not None:
            self.steps.setObjectName("finetune-steps")
        self.data = QComboBox()
        self.data.setObjectName("finetune-data")
        self.data.addItem(f"none (no fine-tuning, scan or {score})", None)
        for name in sorted(get_registry().datasets):
            self.data.addItem(name, name)
        self.data.setCurrentIndex(max(0, self.data.findData(source.dataset)))
        self.enabled.toggled.connect(self._sync)
        self.enabled.toggled.connect(lambda _on: self.completeChanged.emit())
        self.data.currentIndexChanged.connect(lambda _i: self.completeChanged.emit())
        self.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        self.error = QLabel()
        self.error.setStyleSheet("color: #c0392b;")
        data_row = QFormLayout()
        data_row.addRow("Data", self.data)
        layout = QVBoxLayout(self)
        layout.addWidget(self.enabled)
        layout.addLayout(data_row)
        layout.addWidget(self.form)
        layout.addWidget(_note(
            "The data also scores perplexity before and after (lower is better), runs the "
            "depth scan, and ranks heads and channels for Taylor importance."
            if lm
            else "The data also scores accuracy before and after, and ranks channels for "
            "Taylor importance."
        ))  # fmt: skip
        layout.addWidget(self.error)
        layout.addStretch(1)
        self._sync(False)

    def _sync(self, on: bool) -> None:
        for widget in (self.epochs, self.lr):
            widget.setEnabled(on)

    def settings(self) -> dict[str, Any]:
        """steps, finetune_epochs and finetune_lr (none of the fine-tuning when off)."""
        values = config_to_dict(self.form.value())
        settings = {name: values[name] for name in self.fields}
        if not self.enabled.isChecked():
            settings.update(finetune_epochs=0, finetune_lr=None)
        return settings

    def isComplete(self) -> bool:  # Qt's name
        problem = ""
        if self.data.currentData() is None:
            wizard = self.wizard()
            if self.enabled.isChecked():
                problem = "Fine-tuning needs data: choose a dataset"
            elif wizard is not None and wizard.method.value() == "taylor":  # type: ignore[attr-defined]
                problem = "Taylor importance needs training data: choose a dataset"
            elif self.lm and wizard is not None and wizard.method.settings()["depth"]:  # type: ignore[attr-defined]
                problem = "Removing blocks needs data for its perplexity scan: choose a dataset"
        self.error.setText(problem)
        return self.form.is_valid() and not problem


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
        self.lm = is_language_model(source)
        if self.lm:
            self._lm_pages(source)
            return
        self.method: Any = ExplainedChoicePage(
            "Method",
            "How to choose what to remove. Structured methods make the model faster; "
            "unstructured only makes it sparse.",
            [(method.key, method.label, method.explanation) for method in METHODS],
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

    def _lm_pages(self, source: LoadedModel) -> None:
        """What to remove -> fine-tuning -> run -> summary: no channels to pick by hand."""
        from workbench.core.compress.pruning.lm import require_blocks

        blocks = require_blocks(source.module, source.display_name)
        self.method = LMMethodPage(len(blocks))
        self.finetune = FinetunePage(source, lm=True)
        self.run_page = PruneRunPage(self._run_job, self._ran)
        self.summary = SummaryPage()
        for page in (self.method, self.finetune, self.run_page, self.summary):
            self.addPage(page)

    def nextId(self) -> int:  # Qt's name: unstructured pruning removes no channels to review
        if self.currentPage() is self.finetune and not self.structured:
            return next(i for i in self.pageIds() if self.page(i) is self.run_page)
        return super().nextId()

    @property
    def structured(self) -> bool:
        if self.lm:
            return False
        return pruning_pass(self.method.value())[0] == STRUCTURED_PASS

    def pass_and_config(self) -> tuple[str, dict[str, Any]]:
        """The pass name and its recipe config, as ``workbench prune`` builds them."""
        if self.lm:
            return "lm-prune", {**self.method.settings(), **self.finetune.settings()}
        pass_name, preset = pruning_pass(self.method.value())
        ignored = self.layers.ignored()
        keep = self.classifier is not None and self.classifier in ignored
        config: dict[str, Any] = {
            **preset,
            **self.target.settings(pass_name == STRUCTURED_PASS),
            "keep_classifier": keep,
            "ignore": [name for name in ignored if name != self.classifier],
            "layer_amounts": [f"{n}={a:g}" for n, a in self.layers.amounts().items()],
            **self.finetune.settings(),
        }
        return pass_name, config

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
            dataset = resolve_dataset(name, seed=0, image_size=source.image_size)
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
                ctx.data = resolve_dataset(name, seed=0, image_size=source.image_size)
            return preview_groups(source, config, ctx)

        return job

    def _run_job(self) -> Any:
        from workbench.core.compress.pruning.variant import run_pruning
        from workbench.core.data.resolve import resolve_dataset

        pass_name, config = self.pass_and_config()
        source, name = self.source, self.dataset_name()
        listener = self.run_page.live.listener

        def job(ctx: RunContext) -> Any:
            dataset = resolve_dataset(name, seed=0, image_size=source.image_size) if name else None
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
