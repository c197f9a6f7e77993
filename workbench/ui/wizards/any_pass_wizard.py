"""Apply any registered pass (built-in or from a plugin) with no UI code of its own.

Pages: the pass list beside the chosen pass's form (``config_form.PassPicker``, built
from its config dataclass) → run (``run_pass`` in a worker) → summary (the figures and
notes the pass returned). This is how a plugin's pass reaches the GUI: registering it
is enough.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtWidgets import QLabel, QSizePolicy, QVBoxLayout, QWidget, QWizardPage

from workbench.core.config_schema import config_to_dict
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.ui.pass_picker import PassPicker
from workbench.ui.wizards.base import PassWizard, RunPage, WizardOutcome
from workbench.ui.workers import TaskRunner


class PickPassPage(QWizardPage):
    def __init__(self, registry: Any = None, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Pass and settings")
        self.setSubTitle("Every registered pass, from the workbench and from plugins.")
        self.picker = PassPicker(registry)
        self.picker.setObjectName("pass-picker")
        self.picker.pass_changed.connect(lambda _name: self._watch_form())
        QVBoxLayout(self).addWidget(self.picker)
        # QWizard puts a stretch under each page: this one takes the height instead, so
        # the list and the (scrolling) form fill the dialog.
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Expanding)
        self._watch_form()

    def _watch_form(self) -> None:
        if self.picker.form is not None:
            self.picker.form.validity_changed.connect(lambda _valid: self.completeChanged.emit())
        self.completeChanged.emit()

    def isComplete(self) -> bool:  # Qt's name
        return self.picker.form is not None and self.picker.form.is_valid()


class SummaryPage(QWizardPage):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setTitle("Summary")
        self.setSubTitle("Finish adds the result as a new variant under the one you started from.")
        self.text = QLabel("")
        self.text.setObjectName("summary-text")
        self.text.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addStretch(1)


class AnyPassWizard(PassWizard):
    """Choose a pass, set it up from its config form, run it, keep the result."""

    def __init__(
        self,
        source: LoadedModel,
        tasks: TaskRunner,
        parent: QWidget | None = None,
        *,
        registry: Any = None,
    ) -> None:
        super().__init__(source, tasks, title="Apply a pass", parent=parent)
        self.pick = PickPassPage(registry)
        self.run = RunPage("Running", self._make_job, self._show)
        self.summary = SummaryPage()
        for page in (self.pick, self.run, self.summary):
            self.addPage(page)

    def _make_job(self):
        from workbench.core.compress import run_pass

        entry, config = self.pick.picker.selection()
        pass_class = entry.load()
        source = self.source

        def job(ctx: RunContext) -> tuple[Any, Any, Any]:
            ctx.trust = True  # the user typed these settings into the form
            return entry, config, run_pass(pass_class, source, config, ctx)

        return job

    def _show(self, result: tuple[Any, Any, Any]) -> None:
        entry, config, outcome = result
        if outcome.model is self.source:
            raise WorkbenchError(f"{entry.name} returned its input")
        self.outcome = WizardOutcome(
            model=outcome.model,
            name=f"{self.source.display_name} ({entry.name})",
            step={"pass": entry.name, "config": config_to_dict(config)},
            metrics=dict(outcome.metrics),
            notes=list(outcome.notes),
        )
        lines = [f"<b>{entry.title}</b>"]
        for key, value in outcome.metrics.items():
            if isinstance(value, dict):
                continue  # per-layer tables belong in the inspector, not a summary line
            shown = f"{value:.4g}" if isinstance(value, float) else str(value)
            lines.append(f"{key}: {shown}")
        lines += [f"• {note}" for note in outcome.notes]
        self.summary.text.setText("<br>".join(lines))
