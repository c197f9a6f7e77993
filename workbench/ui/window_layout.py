"""The main window's size and docks: fitted to the screen it opens on, restored only
when the saved layout still fits.

Qt restores a saved geometry and dock state as they were, even when the screen is now
smaller (a 1280x800 window on a 1366x768 laptop hides its status bar, with the progress
bar and Cancel) or when docks were squeezed to a sliver in a narrow window (they come
back 70 px wide and stay so after the window is widened). Desktop apps that keep their
layout (Qt Creator, VS Code) check what they restore; so does this module.
"""

from __future__ import annotations

from PySide6.QtCore import QByteArray, QEvent, QObject, QRect, QSettings, Qt, QTimer
from PySide6.QtWidgets import QDockWidget, QMainWindow

GEOMETRY_KEY, STATE_KEY = "window/geometry", "window/state"
DOCK_MIN_WIDTH = 150  # below this the variant names and the inspector's values are cut
DOCK_WIDTH = 260  # what a dock gets when its restored width is unusable
PREFERRED = (1280, 800)
ROOMY_WIDTH = 1100  # a window this wide gives side docks DOCK_WIDTH and the graph the rest
SCREEN_SHARE = 0.92  # of the available area, on a screen smaller than PREFERRED
LARGE_SHARE = 0.8  # of a large screen: Compare's table and plots want the room


def first_geometry(available: QRect) -> QRect:
    """PREFERRED, or as much of the available screen as fits, centred on it; on a large
    screen LARGE_SHARE of it, leaving the desktop visible around the window."""
    width = min(max(PREFERRED[0], int(available.width() * LARGE_SHARE)),
                int(available.width() * SCREEN_SHARE))  # fmt: skip
    height = min(max(PREFERRED[1], int(available.height() * LARGE_SHARE)),
                 int(available.height() * SCREEN_SHARE))  # fmt: skip
    rect = QRect(0, 0, width, height)
    rect.moveCenter(available.center())
    return rect


def docks_of(window: QMainWindow) -> list[QDockWidget]:
    return window.findChildren(QDockWidget)


def set_dock_minimums(window: QMainWindow) -> None:
    """A floor no layout, restored or dragged, can push a side dock below."""
    for dock in docks_of(window):
        dock.setMinimumWidth(DOCK_MIN_WIDTH)


def restore_layout(window: QMainWindow, settings: QSettings) -> bool:
    """The saved layout when it fits the screen, else the first-start one; True when the
    saved one was used. Call after the docks exist and before the window is shown."""
    set_dock_minimums(window)
    available = _available(window)
    geometry, state = settings.value(GEOMETRY_KEY), settings.value(STATE_KEY)
    restored = isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)
    if restored and not available.contains(window.frameGeometry().adjusted(8, 8, -8, -8)):
        restored = False  # made on a larger screen: it would hang off this one
    if not restored:
        window.setGeometry(first_geometry(available))
    if isinstance(state, QByteArray):
        window.restoreState(state)
    # Dock widths are known once the window is shown and laid out: check them then, and
    # each time the window grows (docks squeezed in a narrow window get room back).
    QTimer.singleShot(0, lambda: widen_narrow_docks(window))
    window.installEventFilter(_WidenOnGrow(window))
    return restored


def widen_narrow_docks(window: QMainWindow) -> None:
    """Docks left narrower than usable (a layout saved in a narrow window) get DOCK_WIDTH."""
    narrow = [d for d in docks_of(window) if not d.isFloating() and d.width() < DOCK_WIDTH
              and window.dockWidgetArea(d) in (Qt.DockWidgetArea.LeftDockWidgetArea,
                                               Qt.DockWidgetArea.RightDockWidgetArea)]  # fmt: skip
    if narrow and window.width() >= ROOMY_WIDTH:
        window.resizeDocks(narrow, [DOCK_WIDTH] * len(narrow), Qt.Orientation.Horizontal)


class _WidenOnGrow(QObject):
    """Widens narrow docks after the window is resized wider (a queued check, so the
    docks have their new sizes by then)."""

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if event.type() == QEvent.Type.Resize and isinstance(watched, QMainWindow):
            old, new = event.oldSize().width(), event.size().width()  # type: ignore[attr-defined]
            if new > old:
                QTimer.singleShot(0, lambda: widen_narrow_docks(watched))
        return False


def save_layout(window: QMainWindow, settings: QSettings) -> None:
    settings.setValue(GEOMETRY_KEY, window.saveGeometry())
    settings.setValue(STATE_KEY, window.saveState())
    settings.sync()


def _available(window: QMainWindow) -> QRect:
    screen = window.screen()
    return screen.availableGeometry() if screen is not None else QRect(0, 0, *PREFERRED)
