"""Help > Plugins: what loaded, what each plugin contributes, what failed and why."""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import Qt, QUrl
from PySide6.QtGui import QBrush, QColor, QDesktopServices, QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QDialogButtonBox,
    QHeaderView,
    QLabel,
    QPlainTextEdit,
    QPushButton,
    QSplitter,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

COLUMNS = ("Plugin", "Source", "Status", "Contributes")
FAILED = QColor("#c0392b")


class PluginsDialog(QDialog):
    """A table of plugins; selecting one shows its details, or its error and traceback.

    ``reports`` and ``folders`` default to what ``workbench.core.plugins`` found at
    start-up (loaded once per process; a change takes effect after a restart).
    """

    def __init__(
        self,
        reports: list[Any] | None = None,
        folders: list[tuple[Any, str]] | None = None,
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        from workbench.core import catalogue, plugins

        self.setObjectName("plugins-dialog")
        self.setWindowTitle("Plugins")
        self.resize(820, 520)
        self.reports = catalogue.plugin_reports() if reports is None else list(reports)
        folders = plugins.plugin_folders() if folders is None else folders
        self.user_folder = plugins.user_plugin_dir()

        failed = sum(not r.loaded for r in self.reports)
        summary = f"{len(self.reports)} plugins" + (f", {failed} failed" if failed else "")
        searched = ["installed packages (entry point group workbench.plugins)"]
        searched += [f"{source}: {path}" for path, source in folders]
        intro = QLabel(
            f"<b>{summary}.</b> Searched: {'; '.join(searched)}. Plugins load at start-up: "
            "restart Workbench after adding or changing one."
        )
        intro.setWordWrap(True)
        intro.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        self.table = QTableWidget(len(self.reports), len(COLUMNS))
        self.table.setObjectName("plugins-table")
        self.table.setHorizontalHeaderLabels(COLUMNS)
        self.table.verticalHeader().setVisible(False)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        header = self.table.horizontalHeader()
        for column in range(3):
            header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        header.setSectionResizeMode(3, QHeaderView.ResizeMode.Stretch)
        for row, report in enumerate(self.reports):
            self._fill_row(row, report)

        self.details = QPlainTextEdit()
        self.details.setObjectName("plugin-details")
        self.details.setReadOnly(True)
        self.details.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.details.setPlaceholderText("Select a plugin to see what it contributes.")
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(self.table)
        splitter.addWidget(self.details)
        splitter.setSizes([260, 200])

        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        self.open_folder_button = QPushButton("Open User Plugin Folder")
        self.open_folder_button.setToolTip(str(self.user_folder))
        self.open_folder_button.clicked.connect(self.open_user_folder)
        buttons.addButton(self.open_folder_button, QDialogButtonBox.ButtonRole.ActionRole)

        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addWidget(splitter, 1)
        layout.addWidget(buttons)
        self.table.itemSelectionChanged.connect(self._show_selected)
        first_failed = next((i for i, r in enumerate(self.reports) if not r.loaded), 0)
        if self.reports:
            self.table.selectRow(first_failed)

    def _fill_row(self, row: int, report: Any) -> None:
        contributes = "; ".join(
            f"{kind}: {', '.join(names)}" for kind, names in report.contributes.items()
        )
        status = "loaded" if report.loaded else "failed"
        cells = (report.name, report.source, status, contributes or (report.error or "nothing"))
        for column, text in enumerate(cells):
            item = QTableWidgetItem(text)
            item.setToolTip(report.location)
            if not report.loaded and column >= 2:
                item.setForeground(QBrush(FAILED))
            self.table.setItem(row, column, item)

    def selected_report(self) -> Any:
        rows = self.table.selectionModel().selectedRows()
        return self.reports[rows[0].row()] if rows else None

    def _show_selected(self) -> None:
        report = self.selected_report()
        self.details.setPlainText("" if report is None else describe(report))

    def open_user_folder(self) -> None:
        """Open (creating it if needed) the folder a user drops plugins into."""
        self.user_folder.mkdir(parents=True, exist_ok=True)
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(self.user_folder)))


def describe(report: Any) -> str:
    """The details pane's text for one plugin."""
    lines = [f"{report.name} {report.version}".rstrip(), f"source: {report.source}"]
    lines.append(f"from: {report.location}")
    if report.loaded:
        lines.append("status: loaded")
        for kind, names in report.contributes.items():
            lines.append(f"{kind}: {', '.join(names)}")
        if not report.contributes:
            lines.append("contributes nothing")
    else:
        lines += ["status: failed", f"error: {report.error}", "", report.details.rstrip()]
    return "\n".join(lines)
