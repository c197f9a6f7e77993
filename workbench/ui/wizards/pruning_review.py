"""The pruning wizard's Review page: which channels channel pruning will remove together.

Shown for structured methods before the run. The wizard supplies ``groups_job()``, the
function to run in a worker (``job(ctx) -> GroupPreview``, the core's
``preview_groups`` with the wizard's settings); entering the page starts it, and
leaving it either way cancels it: the run does not wait for it.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtWidgets import (
    QHeaderView,
    QLabel,
    QProgressBar,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWizardPage,
)

from workbench.core.errors import WorkbenchError
from workbench.ui.app_words import error_line

LAYER, CHANNELS, REMOVED = range(3)


class ReviewPage(QWizardPage):
    def __init__(self, groups_job: Callable[[], Callable[[Any], Any]]) -> None:
        super().__init__()
        self.setTitle("Review")
        self.setSubTitle(
            "What the run will remove. Layers in one group lose the same channels together "
            "(a convolution's filters, its BatchNorm, the next layers' inputs, both sides of "
            "a residual add), so the smaller model stays consistent."
        )
        self._groups_job = groups_job
        self._job: Any = None
        self._ticket = 0  # which job's answers are still wanted
        self.preview: Any = None
        self.status = QLabel("")
        self.status.setWordWrap(True)
        self.bar = QProgressBar()
        self.bar.setRange(0, 0)
        self.bar.setTextVisible(False)
        self.bar.setMaximumHeight(8)
        self.tree = QTreeWidget()
        self.tree.setObjectName("pruning-groups")
        self.tree.setHeaderLabels(["Group: ranked layer / layers that shrink with it",
                                   "Channels", "Removed"])  # fmt: skip
        header = self.tree.header()
        header.setSectionResizeMode(LAYER, QHeaderView.ResizeMode.Stretch)
        for column in (CHANNELS, REMOVED):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        layout = QVBoxLayout(self)
        layout.addWidget(self.status)
        layout.addWidget(self.bar)
        layout.addWidget(self.tree, 1)

    def initializePage(self) -> None:  # Qt's name: entered with Next
        self.cancel()
        self.tree.clear()
        self.preview = None
        try:
            job = self._groups_job()
        except WorkbenchError as exc:
            self._ended(f"No preview: {error_line(exc)}")
            return
        self.bar.show()
        self.status.setText("Asking Torch-Pruning which channels go together…")
        self._ticket += 1
        ticket = self._ticket

        def current(slot: Callable[..., None]) -> Callable[..., None]:
            # A job cancelled by Back, then Next, may still answer: only the latest shows.
            return lambda *args: slot(*args) if ticket == self._ticket else None

        self._job = self.wizard().start_job(  # type: ignore[attr-defined]
            job,
            current(self.show_preview),
            current(self._failed),
            on_progress=current(lambda _fraction, message: self.status.setText(message + "…")),
            on_cancelled=current(lambda: self._ended("Preview cancelled.")),
        )

    def cleanupPage(self) -> None:  # Qt's name: left with Back
        self.cancel()

    def validatePage(self) -> bool:  # Qt's name: Next. A preview still searching a latency
        self.cancel()  # target would time ONNX Runtime beside the run's own search
        return True

    def cancel(self) -> None:
        if self._job is not None:
            self._job.cancel()

    @property
    def busy(self) -> bool:
        return self._job is not None

    def _ended(self, text: str) -> None:
        self._job = None
        self.bar.hide()
        self.status.setText(text)

    def _failed(self, error: BaseException) -> None:
        self._ended(f"No preview: {error_line(error)}")

    def show_preview(self, preview: Any) -> None:
        self.preview = preview
        for group in preview.groups:
            kept = group.channels - group.removed
            top = QTreeWidgetItem([group.root, f"{group.channels} → {kept}", str(group.removed)])
            for layer, side in group.members:
                top.addChild(QTreeWidgetItem([f"{layer} ({side})", "", ""]))
            self.tree.addTopLevelItem(top)
        self._ended(
            f"{len(preview.groups)} groups: {review_share(preview)} Expand a group to see the "
            "layers that shrink with it. Next runs the pruning."
        )


def review_share(preview: Any) -> str:
    """How many channels go, and why that share can differ from the one set: a variant
    named "50% channels" whose review says 38% reads as a bug unless this says why."""
    share = preview.removed / preview.channels if preview.channels else 0.0
    text = f"{preview.removed:,} of {preview.channels:,} ranked channels go ({share:.0%})."
    if abs(share - preview.ratio) >= 0.01:
        text += (
            f" The ratio set is {preview.ratio:.0%}; per-layer amounts, the most one layer "
            "may lose and rounding of channel counts set each group's own share."
        )
    return text
