"""Menus built from lists of entries, and the one way a menu action calls its slot.

``QAction.triggered`` passes ``checked``; connected straight to a slot whose first
parameter is optional (Open Project's folder, Save As's folder, Export Recipe's path)
it arrived as that argument: ``False`` as a folder (#19). ``menu_action`` calls the slot
with nothing, whatever the signal carries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction, QKeySequence
from PySide6.QtWidgets import QMenu, QMenuBar

# An entry: (text, slot) or (text, slot, shortcut); a ready QAction or QMenu; None is a
# separator.
Entry = tuple[Any, ...] | QAction | QMenu | None


def menu_action(
    parent: QObject, text: str, slot: Callable[[], Any], shortcut: Any = None
) -> QAction:
    action = QAction(text, parent)
    if shortcut is not None:
        action.setShortcut(QKeySequence(shortcut))
    action.triggered.connect(lambda _checked=False: slot())
    return action


def add_menu(bar: QMenuBar, title: str, entries: Sequence[Entry]) -> QMenu:
    """A menu of ``entries`` on ``bar``; its actions belong to the bar's window."""
    menu = bar.addMenu(title)
    for entry in entries:
        if entry is None:
            menu.addSeparator()
        elif isinstance(entry, QAction):
            menu.addAction(entry)
        elif isinstance(entry, QMenu):
            menu.addMenu(entry)
        else:
            menu.addAction(menu_action(bar.window(), *entry))
    return menu
