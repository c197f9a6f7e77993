"""Optimize: search pruning, recovery and quantization for the Pareto front (#22).

Pages: goal (objective, accuracy floor, device, budget) → data, search and output
folder (Resume offered when the folder holds a search) → run. The run is
``core.optimize.optimize``, the call `workbench optimize` makes, in a worker; each
candidate lands on a live latency-vs-accuracy scatter as it finishes, the front so far
joined. Cancel keeps the finished candidates (the search rewrites ``pareto.json`` after
each); Resume carries on from them. Finish emits ``front_ready`` with the front's
candidates, which ``VariantActions.add_front`` adds as variants (so Compare shows them).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot
from PySide6.QtWidgets import QLabel, QListWidget, QPushButton, QWidget

from workbench.core.config_schema import config_from_dict
from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.optimize import (
    CandidateFinished,
    CandidateSkipped,
    OptimizeConfig,
    SearchResult,
    SearchStarted,
)
from workbench.core.optimize.front import ORIGINAL
from workbench.ui.wizards.base import PassWizard, RunPage
from workbench.ui.wizards.optimize_pages import GoalPage, SearchPage, default_folder
from workbench.ui.wizards.optimize_scatter import SearchScatter
from workbench.ui.workers import TaskRunner


@dataclass
class FrontItem:
    """A candidate to add as a variant: under ``parent_key``'s (None: the source)."""

    key: str
    name: str
    parent_key: str | None
    folder: Path
    step: dict[str, Any]
    metrics: dict[str, Any] = field(default_factory=dict)
    on_front: bool = True


def front_items(result: SearchResult, source_name: str) -> list[FrontItem]:
    """The front's candidates, each after the candidate its last step starts from (an
    INT8 copy of a pruned model comes under that model, added too if not on the front),
    so every variant records one step and the lineage replays as a recipe."""
    records = {r["key"]: r for r in result.records}
    items: dict[str, FrontItem] = {}

    def add(key: str) -> None:
        record = records[key]
        parent = record.get("parent")
        if parent and parent not in items:
            add(parent)
        search = {k: record[k] for k in ("key", "speedup", "drop_points", "size_ratio")
                  if k in record}  # fmt: skip
        items[key] = FrontItem(
            key=key,
            name=f"{source_name} ({key})",
            parent_key=parent or None,
            folder=result.out / record["folder"],
            step=dict(record["steps"][-1]),
            metrics={**record.get("metrics", {}), "optimize": search},
            on_front=key in result.front,
        )

    for key in result.front:
        if key != ORIGINAL and key not in items:
            add(key)
    return list(items.values())


class _Events(QObject):
    """Carries the search's events from the worker thread: a signal emitted there
    reaches the GUI thread's slot queued, in order, before the job's result."""

    arrived = Signal(object)


class OptimizeRunPage(RunPage):
    """The shared run page with the scatter, the candidates' log, the budget and Resume."""

    def __init__(self, make_job: Any, on_result: Any, parent: QWidget | None = None) -> None:
        super().__init__("Searching", make_job, on_result, parent)
        self.setSubTitle("Each candidate is trained, quantized and timed against the "
                         "original; it appears on the plot when it finishes.")  # fmt: skip
        self.events = _Events(self)
        self.events.arrived.connect(self.on_event)
        self.resuming = False
        self.search: SearchResult | None = None
        self.max_drop = 1.0
        self.budget_s = 0.0
        self.planned = 0  # candidates of the search, the finished ones included
        self.resume_button = QPushButton("Resume search")
        self.resume_button.setObjectName("optimize-resume-run")
        self.resume_button.setEnabled(False)
        self.resume_button.clicked.connect(self.resume)
        self.controls.addWidget(self.resume_button)
        self.budget_label = QLabel("")
        self.budget_label.setObjectName("optimize-budget")
        self.controls.insertWidget(1, self.budget_label)
        self.scatter = SearchScatter()
        self.scatter.setMinimumHeight(300)
        self.log = QListWidget()
        self.log.setObjectName("optimize-log")
        self.log.setMaximumHeight(130)
        self.log.setWordWrap(True)  # a skipped candidate's reason is read whole
        self.log.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.finish_note = QLabel("")
        self.finish_note.setObjectName("optimize-finish-note")
        self.finish_note.setWordWrap(True)
        at = self.body.indexOf(self.message) + 1
        self.body.insertWidget(at, self.scatter, 1)
        self.body.insertWidget(at + 1, self.log)
        self.body.insertWidget(at + 2, self.finish_note)
        self.body.setStretch(self.body.count() - 1, 0)  # the scatter takes the free height
        self.timer = QTimer(self)
        self.timer.setInterval(500)
        self.timer.timeout.connect(self._show_budget)

    def start(self) -> None:
        wizard = self.wizard()
        try:
            config = wizard.config()  # type: ignore[attr-defined]
        except Exception:  # the run itself reports the bad setting
            config = OptimizeConfig()
        self.max_drop, self.budget_s = config.max_drop, config.budget_s
        self.scatter.reset(config.objective, config.batch[0])
        self.log.clear()
        self.search = None
        self.finish_note.setText("")
        self.resume_button.setEnabled(False)
        super().start()
        self.timer.start()
        self._show_budget()

    def resume(self) -> None:
        """Carry on from the finished candidates (a fresh budget for the rest)."""
        self.resuming = True
        self.start()

    def cleanupPage(self) -> None:  # Qt's name: left with Back
        super().cleanupPage()
        self.resuming = False
        self.wizard().search_page.refresh_folder()  # type: ignore[attr-defined]

    def isComplete(self) -> bool:  # Qt's name: Finish needs a front to add
        return super().isComplete() and bool(self.front_keys())

    def front_keys(self) -> list[str]:
        return [k for k in (self.search.front if self.search else []) if k != ORIGINAL]

    @Slot(object)
    def on_event(self, event: Any) -> None:
        """On the GUI thread, as each event arrives."""
        if isinstance(event, SearchStarted):
            self.planned = len(event.planned)
            self.scatter.set_original(event.baseline, self.max_drop)
            self._log(f"original: {_figures(event.baseline)}; {len(event.planned)} candidates "
                      f"planned; timed with {event.threads_note}")  # fmt: skip
        elif isinstance(event, CandidateFinished):
            self.scatter.add(event.record, event.front)
            mark = " — on the front" if event.record["key"] in event.front else ""
            again = " (earlier run)" if event.resumed else ""
            self._log(f"{event.record['key']}: {_figures(event.record)}{mark}{again}")
        elif isinstance(event, CandidateSkipped):
            self._log(f"{event.key}: not run: {event.reason}")

    def _log(self, text: str) -> None:
        self.log.addItem(text)
        self.log.scrollToBottom()

    def _show_budget(self) -> None:
        if not self.running:
            self.timer.stop()
            self.budget_label.setText("")
            return
        left = max(self.budget_s - (time.monotonic() - self._started), 0.0)
        self.budget_label.setText(f"{_duration(left)} of {_duration(self.budget_s)} left")

    def _succeeded(self, result: Any) -> None:
        super()._succeeded(result)
        if self.error is not None:
            return
        search: SearchResult = result
        self.search = search
        kept = len(search.records) - 1
        elapsed = _duration(search.elapsed_s)  # this run's: a resumed run has a new budget
        text = {
            "cancelled": f"Cancelled after {elapsed}: the {kept} finished candidates are kept "
            f"in {search.out}. Resume search carries on from them.",
            "budget": f"The budget is spent after {elapsed}: {kept} candidates. Resume search "
            "tries the ones left, with a new budget.",
            "done": f"Every candidate ran, in {elapsed}: {kept} candidates.",
        }[search.stopped]
        self.message.setText(text)
        if search.stopped != "done" and self.planned:  # a stopped search is not at 100%
            self.bar.setValue(round(1000 * min(kept / self.planned, 1.0)))
        self.budget_label.setText("")
        self.resume_button.setEnabled(search.stopped in ("cancelled", "budget"))
        front = self.front_keys()
        if front:
            self.finish_note.setText(
                f"Finish adds the front ({', '.join(front)}) as variants under the model "
                "you started from; Compare shows them."
            )
        else:
            self.finish_note.setText("No candidate beats the original yet: nothing to add.")
        self.completeChanged.emit()


def _figures(record: dict[str, Any]) -> str:
    top1 = record.get("top1")
    parts = ["top-1 —" if top1 is None else f"top-1 {100 * top1:.2f} %"]
    if record.get("drop_points") is not None:
        parts[0] += f" ({-record['drop_points']:+.2f})"
    speedup = record.get("speedup") or {}
    if speedup:
        parts.append(" / ".join(f"{v:.2f}x at batch {b}" for b, v in speedup.items()))
    else:
        latency = record.get("latency_ms") or {}
        parts.append(" / ".join(f"{v:.3f} ms at batch {b}" for b, v in latency.items()))
    parts.append(f"{record['size_bytes'] / 1024:.0f} KiB")
    return ", ".join(parts)


def _duration(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60} min {seconds % 60:02d} s" if seconds >= 60 else f"{seconds} s"


class OptimizeWizard(PassWizard):
    """Set the goal, run the search, add the front as variants."""

    front_ready = Signal(object)  # list[FrontItem]

    def __init__(
        self, source: LoadedModel, tasks: TaskRunner, parent: QWidget | None = None
    ) -> None:
        from workbench.core.device import onnxruntime_devices

        super().__init__(source, tasks, title="Optimize", parent=parent)
        self.goal_page = GoalPage()
        self.search_page = SearchPage(source.dataset)
        self.run_page = OptimizeRunPage(self._make_job, lambda _result: None)
        for page in (self.goal_page, self.search_page, self.run_page):
            self.addPage(page)
        self.set_project_folder(None)
        self.goal_page.device.load(self.tasks, onnxruntime_devices)

    def set_project_folder(self, folder: Path | None) -> None:
        """The default output folder: in the project's folder, or a temp one if unsaved."""
        self.search_page.folder.setText(str(default_folder(folder, self.source.display_name)))

    def config(self) -> OptimizeConfig:
        values = {**self.goal_page.form.values(), **self.search_page.form.values()}
        return config_from_dict(OptimizeConfig, values, where="optimize")

    def _make_job(self):
        from workbench.core.optimize import optimize

        config = self.config()
        out = Path(self.search_page.folder.text().strip())
        resume = self.run_page.resuming or (
            self.search_page.previous is not None and self.search_page.resume.isChecked()
        )
        data = self.search_page.data.text().strip() or None
        source, emit = self.source, self.run_page.events.arrived.emit

        def job(ctx: RunContext) -> SearchResult:
            return optimize(source, config, out, data=data, resume=resume, ctx=ctx,
                            on_event=emit)  # fmt: skip

        return job

    def accept(self) -> None:  # Qt's name: Finish
        search = self.run_page.search
        if search is not None and self.run_page.front_keys():
            self.front_ready.emit(front_items(search, self.source.display_name))
        super().accept()
