"""The Apply a Pass dialog at its default size: every field's help shows whole, in app words."""

from __future__ import annotations

import re

from PySide6.QtCore import QRect
from PySide6.QtWidgets import (
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QLabel,
    QLineEdit,
    QSlider,
    QWidget,
)

from workbench.core.catalogue import get_registry
from workbench.core.io import load
from workbench.ui.config_form import HelpLabel
from workbench.ui.wizards.any_pass_wizard import AnyPassWizard
from workbench.ui.workers import TaskRunner

FLAG = re.compile(r"(?<![\w-])--[A-Za-z]")
LEAVES = (QLabel, QLineEdit, QAbstractSpinBox, QComboBox, QCheckBox, QSlider)


def _rect_in(widget: QWidget, ancestor: QWidget) -> QRect:
    return QRect(widget.mapTo(ancestor, widget.rect().topLeft()), widget.size())


def _clipped_help(form: QWidget) -> list[str]:
    """Help labels shorter than their wrapped lines, or lying over another field's widget."""
    problems = []
    helps = [h for h in form.findChildren(HelpLabel) if h.isVisibleTo(form)]
    others = [
        w
        for w in form.findChildren(QWidget)
        if isinstance(w, LEAVES) and w.isVisibleTo(form) and not isinstance(w.parent(), LEAVES)
    ]
    for help_label in helps:
        if help_label.height() < help_label.heightForWidth(help_label.width()):
            problems.append(
                f"{help_label.objectName()}: {help_label.height()} px high, its lines need "
                f"{help_label.heightForWidth(help_label.width())}"
            )
        rect = _rect_in(help_label, form)
        for other in others:
            if other is not help_label and rect.intersects(_rect_in(other, form)):
                problems.append(f"{help_label.objectName()} overlaps {other.objectName()}")
    return problems


def test_every_pass_form_shows_its_help_whole_at_the_default_size(qtbot) -> None:
    wizard = AnyPassWizard(load("zoo:digits_cnn"), TaskRunner())
    qtbot.addWidget(wizard)
    wizard.show()
    qtbot.waitExposed(wizard)
    default_size = wizard.size()
    picker = wizard.pick.picker
    names = list(get_registry().passes)
    assert len(names) >= 7 and picker.names() == names
    checked = 0
    for name in names:
        picker.select(name)
        form = picker.form
        assert form is not None, name
        helps = form.findChildren(HelpLabel)
        checked += len(helps)
        # The labels claim their height on resize; give the layouts a few passes.
        qtbot.waitUntil(lambda f=form: not _clipped_help(f), timeout=3_000)
        assert _clipped_help(form) == [], name
        assert wizard.size() == default_size, f"{name} grew the dialog"
        texts = [h.text() for h in helps] + [w.toolTip() for w in form.findChildren(QWidget)]
        assert [t for t in texts if FLAG.search(t)] == [], name
    assert checked > 40  # the sweep saw the help of many fields


def test_a_flag_in_a_field_help_reads_as_the_setting(qtbot) -> None:
    wizard = AnyPassWizard(load("zoo:digits_cnn"), TaskRunner())
    qtbot.addWidget(wizard)
    wizard.pick.picker.select("channel-prune")
    help_label = wizard.pick.picker.form.findChild(HelpLabel, "help-target")
    assert help_label.text().startswith("what the 'amount' setting measures")
