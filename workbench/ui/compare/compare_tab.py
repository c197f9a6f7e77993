"""The Compare tab: pick variants, read them side by side, see what changed and why.

Everything shown is computed by ``workbench.core.compare`` (the CLI prints the same
table); this module only renders it. Building a missing graph and matching two graphs
run in the TaskRunner; the table itself is plain arithmetic on stored metrics.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QBrush, QColor, QFont
from PySide6.QtWidgets import (
    QComboBox,
    QDoubleSpinBox,
    QFileDialog,
    QFormLayout,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSplitter,
    QTableWidgetItem,
    QTabWidget,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from workbench.core.compare import Budget, Comparison, Entry, GraphDiff, compare
from workbench.core.compare.graph_match import changed_overlay, diff_graphs
from workbench.core.compare.table import MISSING
from workbench.core.graph.model import Graph
from workbench.core.graph.overlays import Overlay
from workbench.core.project import Project
from workbench.ui.app_words import in_app_words
from workbench.ui.compare.charts import BarChart, ParetoPlot
from workbench.ui.compare.details_view import DetailsSection
from workbench.ui.compare.figure_table import FigureTable
from workbench.ui.compare.generation_preview import GenerationPreview
from workbench.ui.compare.graph_diff import GraphDiffView
from workbench.ui.compare.layers_table import LayersTable
from workbench.ui.compare.measure_all import MeasureAllControl
from workbench.ui.workers import TaskRunner

VALUE_ROLE = Qt.ItemDataRole.UserRole + 1
ID_ROLE = Qt.ItemDataRole.UserRole + 2
BEST_FILL, MISSING_TEXT = QColor("#d7f5dd"), QColor("#8a94a3")
NO_BUDGET, LATENCY_BUDGET, SIZE_BUDGET = "no budget", "latency ≤ (ms)", "size ≤ (MiB)"


class CompareTab(QWidget):
    overlay_ready = Signal(str, object)  # child variant id, its "Changed versus parent" Overlay
    failed = Signal(object)  # an exception from a background job

    def __init__(self, tasks: TaskRunner | None = None, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("compare-tab")
        self.tasks = tasks or TaskRunner(self)
        self.project: Project | None = None
        # The project events this tab follows. A tab deleted while its project lives on
        # (a closed window, a test's tab) must stop following them: its widgets are gone.
        # The closure holds the list, not the tab.
        self._following: list = []
        following = self._following
        self.destroyed.connect(lambda *_: _disconnect(following))
        self.graphs: dict[str, Graph] = {}
        # Where graphs already built come from (the window's inspections), by variant id.
        self.graph_source: Callable[[str], Graph | None] = lambda _variant_id: None
        self.diffs: dict[str, GraphDiff] = {}  # child id -> versus its parent
        self.comparison: Comparison | None = None
        self._building: set[str] = set()
        self._build_ui()

    # -- construction -------------------------------------------------------------------

    def _build_ui(self) -> None:
        self.variant_list = QListWidget()
        self.variant_list.setObjectName("compare-variants")
        self.variant_list.itemChanged.connect(lambda _item: self._recompute())
        self.baseline_box = QComboBox()
        self.baseline_box.setObjectName("compare-baseline")
        self.baseline_box.currentIndexChanged.connect(lambda _i: self._recompute())
        self.budget_kind = QComboBox()
        self.budget_kind.addItems([NO_BUDGET, LATENCY_BUDGET, SIZE_BUDGET])
        self.budget_value = QDoubleSpinBox()
        self.budget_value.setRange(0.0, 1e6)
        self.budget_value.setDecimals(3)
        self.budget_value.setValue(1.0)
        self.budget_kind.currentIndexChanged.connect(lambda _i: self._recompute())
        self.budget_value.valueChanged.connect(lambda _v: self._recompute())
        self.pick_label = QLabel("")
        self.pick_label.setObjectName("compare-pick")
        self.pick_label.setWordWrap(True)
        self.pair_box = QComboBox()
        self.pair_box.setObjectName("compare-pair")
        self.pair_box.setToolTip("The variant whose layers and graph are set against its parent")
        self.pair_box.currentIndexChanged.connect(lambda _i: self._show_pair())
        export = QPushButton("Export report…")
        export.clicked.connect(self.export_dialog)
        self.measure_all = MeasureAllControl(
            self.tasks, self.ticked_variants, project=lambda: self.project
        )
        self.measure_all.measured.connect(lambda _variants: self.refresh())
        self.measure_all.failed.connect(self.failed.emit)

        side = QWidget()
        form = QFormLayout(side)
        form.addRow(QLabel("<b>Variants</b> (tick two or more)"))
        form.addRow(self.variant_list)
        form.addRow("Baseline", self.baseline_box)
        form.addRow("Budget", self.budget_kind)
        form.addRow("", self.budget_value)
        form.addRow(self.measure_all)
        form.addRow(self.pick_label)
        form.addRow("Changes of", self.pair_box)
        form.addRow(export)

        self.table = FigureTable()
        self.bars = BarChart()
        self.bar_metric = QComboBox()
        self.bar_metric.currentIndexChanged.connect(lambda _i: self._show_bars())
        bars_page = QWidget()
        bars_layout = QVBoxLayout(bars_page)
        bars_layout.addWidget(self.bar_metric)
        bars_layout.addWidget(self.bars, 1)
        self.pareto = ParetoPlot()
        self.layers = LayersTable()
        self.graph_diff = GraphDiffView(tasks=self.tasks)
        self.why = QTextBrowser()
        self.why.setObjectName("compare-why")
        self.pages = QTabWidget()
        self.pages.addTab(bars_page, "Bars")
        self.pages.addTab(self.pareto, "Latency vs accuracy")
        self.pages.addTab(self.layers, "Layers")
        self.pages.addTab(self.graph_diff, "Graph diff")
        self.pages.addTab(self.why, "Why (not) faster?")
        # Language models: the ticked variants' continuations of one prompt.
        self.generation = GenerationPreview(
            self.tasks, self.ticked_variants, project=lambda: self.project
        )
        self.generation.failed.connect(self.failed.emit)
        self.generation.measured.connect(lambda _variants: self.refresh())
        self.pages.addTab(self.generation, "Generation")

        right = QSplitter(Qt.Orientation.Vertical)
        right.addWidget(self.table)
        self.details = DetailsSection()  # what each run recorded: folded, apart
        right.addWidget(self.details)
        right.addWidget(self.pages)
        right.setSizes([300, 60, 520])
        main = QSplitter()
        main.addWidget(side)
        main.addWidget(right)
        main.setSizes([260, 1000])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(main)

    # -- the project ---------------------------------------------------------------------

    def set_project(self, project: Project, graphs: Mapping[str, Graph] | None = None) -> None:
        """Show ``project``'s variants (all ticked) and follow its events; ``graphs`` by
        variant id where known (others come from ``graph_source`` or are built from
        ``variant.loaded`` in the worker when a diff needs them)."""
        if self.project is not project:
            _disconnect(self._following)
            for signal, slot in self._listeners(project):
                signal.connect(slot)
                self._following.append((signal, slot))
        self.project = project
        self.graphs.update(graphs or {})
        self.diffs = {}
        self.refresh()

    def _listeners(self, project: Project | None) -> list:
        if project is None:
            return []
        events = project.events
        return [
            (events.variant_added, self._on_variant_event),
            (events.variant_changed, self._on_variant_event),  # new figures
            (events.variant_removed, self._on_variant_removed),
            (events.replaced, self._on_replaced),
        ]

    def _on_variant_event(self, _variant) -> None:
        self.refresh()

    def _on_variant_removed(self, variant) -> None:
        self.graphs.pop(variant.id, None)
        self.diffs.pop(variant.id, None)
        self.refresh()

    def _on_replaced(self, _project: Project) -> None:
        self.graphs, self.diffs = {}, {}
        self.refresh()

    def set_graph(self, variant_id: str, graph: Graph) -> None:
        self.graphs[variant_id] = graph

    def refresh(self) -> None:
        """Re-read the variants and their metrics (call after a variant is added or measured)."""
        if self.project is None:
            return
        ticked = self.selected_ids()
        known = {self.variant_list.item(i).data(ID_ROLE) for i in range(self.variant_list.count())}
        baseline = self.baseline_box.currentData()
        self.variant_list.blockSignals(True)
        self.baseline_box.blockSignals(True)
        self.variant_list.clear()
        self.baseline_box.clear()
        for variant in self.project.variants.values():
            item = QListWidgetItem(variant.name)
            item.setData(ID_ROLE, variant.id)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            checked = variant.id in ticked or variant.id not in known
            item.setCheckState(Qt.CheckState.Checked if checked else Qt.CheckState.Unchecked)
            self.variant_list.addItem(item)
            self.baseline_box.addItem(variant.name, variant.id)
        if baseline is not None and self.baseline_box.findData(baseline) >= 0:
            self.baseline_box.setCurrentIndex(self.baseline_box.findData(baseline))
        self.variant_list.blockSignals(False)
        self.baseline_box.blockSignals(False)
        self._recompute()

    def selected_ids(self) -> list[str]:
        items = (self.variant_list.item(i) for i in range(self.variant_list.count()))
        return [i.data(ID_ROLE) for i in items if i.checkState() == Qt.CheckState.Checked]

    def ticked_variants(self) -> list:
        if self.project is None:
            return []
        return [self.project.variants[i] for i in self.selected_ids()]

    def select(self, ids: list[str], baseline: str | None = None) -> None:
        """Tick exactly ``ids`` (and choose the baseline), as a user would."""
        self.variant_list.blockSignals(True)
        for i in range(self.variant_list.count()):
            item = self.variant_list.item(i)
            wanted = item.data(ID_ROLE) in ids
            item.setCheckState(Qt.CheckState.Checked if wanted else Qt.CheckState.Unchecked)
        self.variant_list.blockSignals(False)
        if baseline is not None:
            self.baseline_box.setCurrentIndex(self.baseline_box.findData(baseline))
        self._recompute()

    def set_budget(self, kind: str, limit: float) -> None:
        """``kind``: "latency" (ms), "size" (MiB) or "none"."""
        names = {"latency": LATENCY_BUDGET, "size": SIZE_BUDGET, "none": NO_BUDGET}
        self.budget_value.setValue(limit)
        self.budget_kind.setCurrentText(names[kind])

    # -- computing and showing -----------------------------------------------------------

    def _budget(self) -> Budget | None:
        kind, value = self.budget_kind.currentText(), self.budget_value.value()
        if kind == LATENCY_BUDGET:
            return Budget("latency", value)
        if kind == SIZE_BUDGET:
            return Budget("size", value * 1024**2)
        return None

    def _recompute(self) -> None:
        if self.project is None:
            return
        ids = self.selected_ids()
        variants = [self.project.variants[i] for i in ids]
        if len(variants) < 2:
            self.comparison = None
            self.table.clear()
            self.table.setRowCount(0)
            self.table.setColumnCount(0)
            self.details.show_entries([])
            self.pick_label.setText("Tick two or more variants to compare them.")
            return
        baseline = self.baseline_box.currentData()
        if baseline not in ids:
            baseline = ids[0]
        op_types = {v: [n.op_type for n in g.nodes] for v, g in self.graphs.items() if v in ids}
        self.comparison = compare(
            [Entry.from_variant(v) for v in variants],
            ids.index(baseline),
            budget=self._budget(),
            op_types=op_types,
            diffs={k: d for k, d in self.diffs.items() if k in ids},
        )
        self._show_table()
        self.details.show_entries(self.comparison.table.entries)
        self._refresh_bar_metrics()
        self.pareto.show_comparison(self.comparison)
        self.pages.setTabText(self.pages.indexOf(self.pareto), self.pareto.page_name)
        self.pick_label.setText(self.comparison.pick_text())
        self._show_why()
        self._refresh_pairs(variants)

    def _show_table(self) -> None:
        table, c = self.table, self.comparison.table
        table.clear()
        table.setRowCount(len(c.rows))
        table.setColumnCount(len(c.entries))
        headers = [n + (" (baseline)" if i == c.baseline else "") for i, n in enumerate(c.names)]
        table.set_variant_names(headers)
        table.setVerticalHeaderLabels([r.spec.label for r in c.rows])
        bold = QFont()
        bold.setBold(True)
        for r, row in enumerate(c.rows):
            for col, cell in enumerate(row.cells):
                text = cell.text + (f"\n{cell.delta_text}" if cell.delta_text else "")
                item = QTableWidgetItem(text)
                item.setData(VALUE_ROLE, cell.value)
                item.setTextAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
                if cell.best:
                    item.setBackground(QBrush(BEST_FILL))
                    item.setFont(bold)
                    item.setToolTip("best of the row")
                if cell.text == MISSING:
                    item.setForeground(QBrush(MISSING_TEXT))
                    item.setToolTip("not measured")
                table.setItem(r, col, item)
        table.fit_columns()

    def _refresh_bar_metrics(self) -> None:
        current = self.bar_metric.currentData()
        self.bar_metric.blockSignals(True)
        self.bar_metric.clear()
        for row in self.comparison.table.rows:
            self.bar_metric.addItem(row.spec.label, row.spec.key)
        axes = self.comparison.axes
        wanted = current or (axes.x if axes else None)
        index = self.bar_metric.findData(wanted) if wanted else 0
        self.bar_metric.setCurrentIndex(max(index, 0))
        self.bar_metric.blockSignals(False)
        self._show_bars()

    def _show_bars(self) -> None:
        if self.comparison is None:
            return
        row = self.comparison.table.row(self.bar_metric.currentData())
        if row is not None:
            self.bars.show_row(row, self.comparison.table.names)

    def _show_why(self) -> None:
        from html import escape

        parts = []
        for e in self.comparison.explanations:
            reasons = "".join(
                f"<li>{escape(in_app_words(r.text))} <span style='color:#4f5b6b'>— "
                f"{escape(r.source)}: {escape(r.figure)}</span></li>"
                for r in e.reasons
            )
            parts.append(f"<p><b>{escape(in_app_words(e.headline))}</b></p><ul>{reasons}</ul>")
        self.why.setHtml("".join(parts) or "<p>Nothing to explain.</p>")

    # -- layers and graph diff -----------------------------------------------------------

    def _refresh_pairs(self, variants) -> None:
        current = self.pair_box.currentData()
        self.pair_box.blockSignals(True)
        self.pair_box.clear()
        for v in variants:
            parent = self.project.variants.get(v.parent) if v.parent else None
            if parent is not None:
                self.pair_box.addItem(f"{v.name} vs {parent.name}", v.id)
        index = self.pair_box.findData(current) if current else -1
        self.pair_box.setCurrentIndex(index if index >= 0 else 0)
        self.pair_box.blockSignals(False)
        self._show_pair()

    def _show_pair(self) -> None:
        child_id = self.pair_box.currentData()
        if child_id is None:
            self.layers.show_diff(None)
            return
        if child_id in self.diffs:
            self._show_layers(self.diffs[child_id])
        else:
            self.request_diff(child_id)

    def request_diff(self, child_id: str) -> None:
        """Match the child's graph against its parent's in the worker (building missing
        graphs from the open models first); ``overlay_ready`` follows."""
        child = self.project.variants[child_id]
        parent_id = child.parent
        if parent_id is None or child_id in self._building:
            return
        loaded = {i: self.project.variants[i].loaded for i in (parent_id, child_id)}
        graphs = {i: self.graphs.get(i) or self.graph_source(i) for i in (parent_id, child_id)}
        if any(graphs[i] is None and loaded[i] is None for i in graphs):
            self.layers.show_diff(None)  # neither a graph nor an open model to build one
            return
        self._building.add(child_id)

        def job(ctx):
            from workbench.core.graph import from_model

            built = {i: g if g is not None else from_model(loaded[i]) for i, g in graphs.items()}
            ctx.check()
            return built, diff_graphs(built[parent_id], built[child_id])

        def done(result) -> None:
            self._building.discard(child_id)
            built, diff = result
            diff.parent_name = self.project.variants[parent_id].name
            diff.child_name = child.name
            self.graphs.update(built)
            self.diffs[child_id] = diff
            self.overlay_ready.emit(child_id, changed_overlay(diff))
            if self.pair_box.currentData() == child_id:
                self._show_layers(diff)

        def fail(error: BaseException) -> None:
            self._building.discard(child_id)
            self.failed.emit(error)

        self.tasks.start_job(job, done, fail)

    def changed_overlay(self, variant_id: str) -> Overlay | None:
        """The "Changed versus parent" overlay of a variant, if its diff is computed."""
        diff = self.diffs.get(variant_id)
        return changed_overlay(diff) if diff is not None else None

    def _show_layers(self, diff: GraphDiff) -> None:
        self.layers.show_diff(diff)
        child = self.project.variants[self.pair_box.currentData()]
        parent_graph, child_graph = self.graphs.get(child.parent), self.graphs.get(child.id)
        if (
            parent_graph is not None
            and child_graph is not None
            and self.graph_diff.diff is not diff
        ):
            self.graph_diff.show_diff(parent_graph, child_graph, diff)
        if self.comparison is not None and child.id not in self.comparison.diffs:
            self.comparison.diffs[child.id] = diff

    # -- report --------------------------------------------------------------------------

    def export_report(self, path: Path) -> Path:
        """Write the comparison as .md, .html or .csv (charts as PNG beside it)."""
        from workbench.core.compare.report import write_report

        if self.comparison is None:
            raise ValueError("nothing to export: tick two or more variants")
        return write_report(self.comparison, Path(path))

    def export_dialog(self) -> Path | None:
        if self.comparison is None:
            return None
        path, _ = QFileDialog.getSaveFileName(
            self,
            "Export comparison",
            "comparison.html",
            "HTML (*.html);;Markdown (*.md);;CSV (*.csv)",
        )
        return self.export_report(Path(path)) if path else None


def _disconnect(following: list) -> None:
    """Disconnect each (psygnal signal, slot) pair and forget them."""
    for signal, slot in following:
        signal.disconnect(slot)
    following.clear()
