"""The window's first size and a restored layout that no longer fits (offscreen: one
800x800 screen; tests/ui/test_layout_xvfb.py checks the real window on a real X server)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QRect, QSettings, Qt
from PySide6.QtWidgets import QDockWidget, QLabel, QMainWindow

from workbench.ui.window_layout import (
    DOCK_MIN_WIDTH,
    first_geometry,
    restore_layout,
    save_layout,
)


def _window(qtbot) -> QMainWindow:
    window = QMainWindow()
    window.setCentralWidget(QLabel("graph"))
    for title, area in (("Variants", Qt.DockWidgetArea.LeftDockWidgetArea),
                        ("Inspector", Qt.DockWidgetArea.RightDockWidgetArea)):  # fmt: skip
        dock = QDockWidget(title, window)
        dock.setObjectName(f"dock-{title.lower()}")
        dock.setWidget(QLabel(title))
        window.addDockWidget(area, dock)
    qtbot.addWidget(window)
    return window


def test_the_first_window_fits_a_small_screen_and_grows_on_a_large_one() -> None:
    small = first_geometry(QRect(0, 0, 1366, 736))  # a 1366x768 laptop less its panel
    assert (
        small.width() == 1256 and small.height() <= 736 and QRect(0, 0, 1366, 736).contains(small)
    )
    large = first_geometry(QRect(0, 0, 1920, 1050))
    assert (large.width(), large.height()) == (1536, 840)  # 80% of it, above 1280x800
    assert large.center() == QRect(0, 0, 1920, 1050).center()


def test_a_layout_saved_on_a_larger_screen_comes_back_inside_this_one(qtbot, tmp_path) -> None:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    first = _window(qtbot)
    first.setGeometry(0, 0, 2400, 1400)  # larger than the offscreen screen
    save_layout(first, settings)
    second = _window(qtbot)
    restore_layout(second, settings)  # Qt shrinks it, or the first-start size replaces it
    available = second.screen().availableGeometry()
    assert available.contains(second.geometry())


def test_a_dock_never_comes_back_narrower_than_usable(qtbot, tmp_path: Path) -> None:
    settings = QSettings(str(tmp_path / "w.ini"), QSettings.Format.IniFormat)
    first = _window(qtbot)
    first.setGeometry(20, 20, 700, 600)
    first.show()
    docks = first.findChildren(QDockWidget)
    first.resizeDocks(docks, [10, 10], Qt.Orientation.Horizontal)  # dragged to a sliver
    save_layout(first, settings)
    first.close()
    second = _window(qtbot)
    assert restore_layout(second, settings)
    second.show()
    second.resize(780, 600)
    qtbot.waitUntil(
        lambda: all(d.width() >= DOCK_MIN_WIDTH for d in second.findChildren(QDockWidget))
    )
