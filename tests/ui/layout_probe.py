"""Start the app as a person does, then print what its window looks like as JSON.

Run by tests/ui/test_layout_xvfb.py under ``xvfb-run`` with Qt's xcb platform (a real X
server, no window manager): ``python layout_probe.py [WIDTHxHEIGHT]``. The optional size
is applied once the window shows (a person resizing it) before it is measured; closing
the window afterwards saves the layout to ``$WORKBENCH_CONFIG_DIR`` for the next start.
"""

from __future__ import annotations

import json
import sys
import traceback

from PySide6.QtCore import QTimer
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QDockWidget,
    QHeaderView,
    QTableView,
    QTreeView,
)

from workbench.ui.app import prepare_qt, run_app
from workbench.ui.main_window import MainWindow

SETTLE_MS = 3000  # the demo opens and lays out; docks take their sizes


def _report(window: MainWindow) -> dict:
    screen = window.screen().availableGeometry()
    frame = window.frameGeometry()
    docks = {d.objectName(): d.width() for d in window.findChildren(QDockWidget) if d.isVisible()}
    columns = []
    for view in window.findChildren(QAbstractItemView):
        if not isinstance(view, (QTableView, QTreeView)) or not view.isVisible():
            continue
        header = view.horizontalHeader() if isinstance(view, QTableView) else view.header()
        for index in range(header.count()):
            if (
                header.isSectionHidden(index)
                or header.sectionResizeMode(index) == QHeaderView.ResizeMode.Stretch
            ):
                continue
            columns.append(
                [view.objectName(), index, header.sectionSize(index), header.minimumSectionSize()]
            )
    return {
        "screen": [screen.x(), screen.y(), screen.width(), screen.height()],
        "frame": [frame.x(), frame.y(), frame.width(), frame.height()],
        "docks": docks,
        "columns": columns,
    }


def main() -> None:
    size = sys.argv[1] if len(sys.argv) > 1 else ""
    prepare_qt()
    app = QApplication(sys.argv[:1])
    at_start: list[int] = []  # the frame as the start left it, before any resize

    def guarded(step):  # an error here must end the app, not leave it running
        def run(*args) -> None:
            try:
                step(*args)
            except BaseException:
                traceback.print_exc()
                app.exit(3)

        return run

    @guarded
    def measure() -> None:
        window = next(w for w in app.topLevelWidgets() if isinstance(w, MainWindow))
        started = window.frameGeometry()
        at_start.extend([started.x(), started.y(), started.width(), started.height()])
        if size:
            width, height = (int(v) for v in size.split("x"))
            window.setGeometry(window.screen().availableGeometry().x(), 0, width, height)
            QTimer.singleShot(1000, lambda: guarded(finish)(window))
        else:
            finish(window)

    def finish(window: MainWindow) -> None:
        print("LAYOUT " + json.dumps({**_report(window), "at_start": at_start}), flush=True)
        window.close()

    QTimer.singleShot(SETTLE_MS, measure)
    sys.exit(run_app())


if __name__ == "__main__":
    main()
