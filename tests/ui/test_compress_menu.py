"""The Compress menu opens each wizard on the selected variant; results become children."""

from __future__ import annotations

import shiboken6
from PySide6.QtWidgets import QSpinBox, QWizard

from workbench.ui.wizards import WIZARDS


def _open_with_menu(window, text: str):
    menu = next(a.menu() for a in window.menuBar().actions() if a.text() == "&Compress")
    action = next(a for a in menu.actions() if a.text() == text)
    before = set(window.findChildren(QWizard))
    action.trigger()
    (wizard,) = set(window.findChildren(QWizard)) - before
    return wizard


def test_every_wizard_in_the_menu_can_be_imported() -> None:
    from workbench.core.registry import resolve

    for _text, reference in WIZARDS:
        assert isinstance(resolve(reference), type)


def test_quantize_from_the_menu_adds_an_onnx_child_with_its_error_overlay(
    qtbot, main_window
) -> None:
    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    root = window.current
    wizard = _open_with_menu(window, "&Quantize…")
    wizard.next()
    wizard.data_page.form.findChild(QSpinBox, "field-samples").setValue(16)
    wizard.next()
    wizard.advanced_page.form.findChild(QSpinBox, "field-error_samples").setValue(8)
    wizard.advanced_page.batches.setText("1")
    wizard.next()
    qtbot.waitUntil(lambda: wizard.run.done, timeout=120_000)
    assert wizard.run.isComplete(), wizard.run.message.text()
    wizard.next()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    qtbot.waitUntil(lambda: not shiboken6.isValid(wizard), timeout=10_000)  # freed once closed
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=60_000)
    child = next(v for v in window.project.variants.values() if v.parent == root.id)
    assert child.framework == "onnx" and child.step["pass"] == "quantize-static"
    qtbot.waitUntil(lambda: window.current is child, timeout=30_000)
    assert "Quantization error" in window.graph_view.overlays
    assert window.graph_view.overlays["Quantization error"].values
    result = _inspector_section(window, "Result")
    (quantization,) = [result.child(i) for i in range(result.childCount())]
    groups = {
        quantization.child(i).text(0): quantization.child(i)
        for i in range(quantization.childCount())
    }
    ratios = groups["ratios"]
    assert ratios.childCount() > 0 and all(
        ratios.child(i).text(1) for i in range(ratios.childCount())
    )
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=60_000)


def test_a_wizard_closed_mid_run_stops_its_job_then_is_freed(qtbot, main_window) -> None:
    window = main_window
    window.open_source("zoo:digits_cnn")
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    wizard = _open_with_menu(window, "&Quantize…")
    for _ in range(3):
        wizard.next()
    assert wizard.run.running
    wizard.reject()  # Cancel while the calibration runs
    assert shiboken6.isValid(wizard), "kept until its job has answered"
    qtbot.waitUntil(lambda: not shiboken6.isValid(wizard), timeout=60_000)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=60_000)
    assert len(window.project.variants) == 1, "a cancelled run makes nothing"


def _inspector_section(window, title: str):
    inspector = window.inspector
    items = [inspector.topLevelItem(i) for i in range(inspector.topLevelItemCount())]
    return next(item for item in items if item.text(0) == title)


def _children(item) -> list:
    return [item.child(i) for i in range(item.childCount())]
