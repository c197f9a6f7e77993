"""The Compress menu opens each wizard on the selected variant; results become children."""

from __future__ import annotations

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
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=60_000)
    child = next(v for v in window.project.variants.values() if v.parent == root.id)
    assert child.framework == "onnx" and child.step["pass"] == "quantize-static"
    qtbot.waitUntil(lambda: window.current is child, timeout=30_000)
    assert "Quantization error" in window.graph_view.overlays
    assert window.graph_view.overlays["Quantization error"].values
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=60_000)
