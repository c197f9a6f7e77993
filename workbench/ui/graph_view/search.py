"""The canvas's search bar: find nodes by name or op type, step through the hits."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QKeyEvent
from PySide6.QtWidgets import QHBoxLayout, QLabel, QLineEdit, QToolButton, QWidget


class _Field(QLineEdit):
    """Enter finds the next hit, Shift+Enter the previous one, Esc leaves the search."""

    stepped = Signal(int)
    escaped = Signal()

    def keyPressEvent(self, event: QKeyEvent) -> None:
        if event.key() == Qt.Key.Key_Escape:
            self.escaped.emit()
            return
        if event.key() in (Qt.Key.Key_Return, Qt.Key.Key_Enter):
            shift = event.modifiers() & Qt.KeyboardModifier.ShiftModifier
            self.stepped.emit(-1 if shift else 1)
            return
        super().keyPressEvent(event)


class SearchBar(QWidget):
    """A query field with previous/next; ``matcher(text)`` lists hits, ``hit`` goes to one."""

    hit = Signal(int)  # the index (a leaf of the hierarchy) of the hit to show
    left = Signal()  # Esc: the query is cleared and the canvas should take the keys back

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self.setObjectName("graph-search")
        self.field = _Field()
        self.field.setObjectName("graph-search-field")
        self.field.setPlaceholderText("Find a node by name or op type (Ctrl+F)")
        self.field.setClearButtonEnabled(True)
        self.field.setMinimumWidth(120)  # narrow windows and the side-by-side diff
        self.previous_button = self._button("▲", "Previous match (Shift+Enter)", -1)
        self.next_button = self._button("▼", "Next match (Enter)", 1)
        self.status = QLabel("")
        self.status.setMinimumWidth(64)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(2)
        layout.addWidget(self.field, 1)
        layout.addWidget(self.previous_button)
        layout.addWidget(self.next_button)
        layout.addWidget(self.status)
        self.matcher: Callable[[str], list[int]] = lambda text: []
        self.matches: list[int] = []
        self.current: int | None = None
        self.field.textChanged.connect(self._recount)
        self.field.stepped.connect(self.step)
        self.field.escaped.connect(self.leave)

    def _button(self, text: str, tip: str, step: int) -> QToolButton:
        button = QToolButton()
        button.setText(text)
        button.setToolTip(tip)
        button.setAutoRaise(True)
        button.clicked.connect(lambda: self.step(step))
        return button

    def search(self, text: str) -> int:
        """Set the query (as if typed); returns the number of hits."""
        if self.field.text() != text:
            self.field.setText(text)
        else:
            self._recount(text)
        return len(self.matches)

    def _recount(self, text: str) -> None:
        self.matches = self.matcher(text) if text.strip() else []
        self.current = None
        self.set_status(None, len(self.matches))

    def step(self, step: int) -> int | None:
        """Go to the next (+1) or previous (-1) hit; returns it (None without hits)."""
        if not self.matches:
            return None
        count = len(self.matches)
        if self.current is None:
            self.current = 0 if step > 0 else count - 1
        else:
            self.current = (self.current + step) % count
        self.set_status(self.current, count)
        self.hit.emit(self.matches[self.current])
        return self.matches[self.current]

    def set_status(self, current: int | None, total: int) -> None:
        """Show "3 of 17", "17 matches" or "no match" (nothing for an empty query)."""
        if not self.field.text().strip():
            self.status.setText("")
        elif total == 0:
            self.status.setText("no match")
        elif current is None:
            self.status.setText(f"{total} matches")
        else:
            self.status.setText(f"{current + 1} of {total}")

    def leave(self) -> None:
        """Esc, as in browsers' and editors' find bars: clear the query, hand focus back."""
        self.field.clear()
        self.left.emit()

    def focus(self) -> None:
        self.field.setFocus(Qt.FocusReason.ShortcutFocusReason)
        self.field.selectAll()
