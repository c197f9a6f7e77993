"""Qt is prepared as the app prepares it before pytest-qt makes the QApplication, although
nothing imports Qt before a test asks for it (tests/fixtures/qt.py)."""

from __future__ import annotations

import sys


def test_the_application_was_made_after_prepare_qt(qapp) -> None:
    from PySide6.QtCore import QCoreApplication, Qt

    assert QCoreApplication.instance() is qapp
    # Set by prepare_qt; Qt ignores (and warns about) this attribute once an app exists.
    assert QCoreApplication.testAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
    assert sys.getswitchinterval() == 0.001
