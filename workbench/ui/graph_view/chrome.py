"""Where the legend, the overview and the node count sit: beside the canvas, not on it.

The view keeps margins around its viewport (``QAbstractScrollArea`` viewport margins):
a strip along the bottom holds the legend (collapsed to its header unless opened), the
node count and the Overview toggle; a column on the right holds the minimap while it
helps, i.e. while it is switched on and the graph does not fit the view at the current
zoom. Nothing is ever drawn over a box, so fitting the graph fits it into what shows.
Whether the legend is open and the overview on is remembered in the settings.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QRect, QSettings
from PySide6.QtWidgets import QLabel, QToolButton

from workbench.ui.graph_view.legend import Legend
from workbench.ui.graph_view.minimap import Minimap
from workbench.ui.graph_view.view import GraphView

LEGEND_KEY = "graph/legend_open"
OVERVIEW_KEY = "graph/overview"
STRIP = 24  # the bottom strip's height with the legend collapsed
GAP = 4


def setting_bool(settings: QSettings, key: str, default: bool) -> bool:
    value = settings.value(key, default)
    return value in (True, "true", "1", 1) if not isinstance(value, bool) else value


class CanvasChrome(QObject):
    def __init__(self, view: GraphView, legend: Legend, minimap: Minimap,
                 settings: QSettings) -> None:  # fmt: skip
        super().__init__(view)
        self.view, self.legend, self.minimap, self.settings = view, legend, minimap, settings
        self.count = QLabel("", view)
        self.count.setObjectName("graph-node-count")
        self.count.setStyleSheet("color: palette(dark);")
        self.overview_button = QToolButton(view)
        self.overview_button.setObjectName("graph-overview-toggle")
        self.overview_button.setText("Overview")
        self.overview_button.setCheckable(True)
        self.overview_button.setAutoRaise(True)
        self.overview_button.setToolTip(
            "Show a small map of the whole graph beside the canvas when it does not fit"
        )
        self.overview_button.setChecked(setting_bool(settings, OVERVIEW_KEY, True))
        self.overview_button.toggled.connect(self._on_overview_toggled)
        legend.set_expanded(setting_bool(settings, LEGEND_KEY, False))
        legend.toggled.connect(self._on_legend_toggled)
        self.active = False  # a graph is drawn and its overview rendered
        self._placing = False

    @property
    def overview_wanted(self) -> bool:
        return self.overview_button.isChecked()

    def set_active(self, active: bool) -> None:
        """A graph is on the canvas (its legend and overview are ready) or not."""
        self.active = active
        self.place()

    def _on_overview_toggled(self, on: bool) -> None:
        self.settings.setValue(OVERVIEW_KEY, on)
        self.place()

    def _on_legend_toggled(self, expanded: bool) -> None:
        self.settings.setValue(LEGEND_KEY, expanded)
        self.place()

    def minimap_helps(self) -> bool:
        """Switched on, and the graph at this zoom is larger than the canvas could show
        with the minimap's column given back (so showing it cannot make it unneeded)."""
        if not (self.active and self.overview_wanted and self.minimap.has_picture):
            return False
        rect = self.view.sceneRect()
        zoom = self.view.zoom
        right, _bottom = self.view.margins()
        room = self.view.viewport().size()
        return (
            rect.width() * zoom > room.width() + right + 1
            or rect.height() * zoom > room.height() + 1
        )

    def place(self) -> None:
        """Set the margins and put each piece in them (after any change of size or view)."""
        if self._placing:
            return
        self._placing = True
        try:
            self._place()
        finally:
            self._placing = False

    def _place(self) -> None:
        for widget in (self.legend, self.count, self.overview_button):
            widget.setVisible(self.active)
        show_map = self.minimap_helps()
        self.minimap.setVisible(show_map)
        if not self.active:
            self.view.set_margins(0, 0)
            return
        self.count.adjustSize()
        beside = self.overview_button.sizeHint().width() + self.count.width()
        self.legend.set_available_width(self.view.viewport().width() - beside - 5 * GAP)
        strip = max(STRIP, self.legend.height() + 2 * GAP)
        right = self.minimap.width() + 2 * GAP if show_map else 0
        self.view.set_margins(right, strip)  # resizes the viewport: geometry below follows
        viewport = self.view.viewport().geometry()
        top = viewport.bottom() + 1
        self.legend.move(viewport.left() + GAP, top + GAP)
        button = self.overview_button.sizeHint()
        x = viewport.right() + right - button.width() - GAP
        y = top + (STRIP - button.height()) // 2
        self.overview_button.setGeometry(QRect(x, y, button.width(), button.height()))
        self.count.move(
            self.overview_button.x() - self.count.width() - 2 * GAP,
            top + (STRIP - self.count.height()) // 2,
        )
        if show_map:
            self.minimap.move(viewport.right() + 1 + GAP, viewport.top() + GAP)
