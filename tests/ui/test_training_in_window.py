"""Training in the window with real runs: the tree and the inspector follow a pause, and an
unsaved project's second run shows the first as an earlier run."""

from __future__ import annotations

from PySide6.QtCore import Qt


def _inspector_state(window) -> str:
    section = window.inspector.topLevelItem(0)
    rows = {section.child(i).text(0): section.child(i).text(1) for i in range(section.childCount())}
    return rows["state"]


def _open_for_training(qtbot, window, source: str = "zoo:digits_cnn"):
    window.open_source(source)
    qtbot.waitUntil(lambda: window.current is not None, timeout=30_000)
    qtbot.waitUntil(lambda: window.training.start_button.isEnabled(), timeout=30_000)
    qtbot.waitUntil(lambda: not window.training.tasks.busy, timeout=10_000)
    return window.current


def test_a_paused_run_shows_paused_in_the_tree_and_the_inspector(qtbot, main_window) -> None:
    window, tab = main_window, main_window.training
    root = _open_for_training(qtbot, window)
    item = window.variants.item_of(root.id)
    tab.form.editors["epochs"].setValue(200)
    tab.start()
    try:
        _pause_resume_stop(qtbot, window, item, root)
    finally:  # a failed check must not leave the run going (closing would ask)
        assert tab.request_stop_and_wait()
        qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)


def _pause_resume_stop(qtbot, window, item, root) -> None:
    tab = window.training
    qtbot.waitUntil(lambda: tab.curves.losses.size >= 3, timeout=60_000)
    assert item.text(1) == "running" and _inspector_state(window) == "running"

    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: "paused after step" in tab.log.toPlainText(), timeout=30_000)
    assert item.text(1) == "paused" and _inspector_state(window) == "paused"
    assert root.state == "paused"

    held = tab.curves.losses.size
    qtbot.mouseClick(tab.resume_button, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: tab.curves.losses.size > held, timeout=30_000)
    assert item.text(1) == "running" and _inspector_state(window) == "running"

    qtbot.mouseClick(tab.pause_button, Qt.MouseButton.LeftButton)
    with qtbot.waitSignal(tab.running_changed, timeout=60_000):
        qtbot.mouseClick(tab.stop_button, Qt.MouseButton.LeftButton)  # stop while paused
    assert item.text(1) == "ready" and _inspector_state(window) == "ready"


def test_an_unsaved_projects_second_run_shows_the_first_as_an_earlier_run(
    qtbot, main_window
) -> None:
    window, tab = main_window, main_window.training
    assert window.project.folder is None  # never saved
    root = _open_for_training(qtbot, window)
    tab.form.editors["epochs"].setValue(1)
    with qtbot.waitSignal(tab.run_finished, timeout=120_000) as finished:
        tab.start()
    first = finished.args[0].result.history.to_dict()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)
    qtbot.waitUntil(lambda: window.current.parent == root.id, timeout=30_000)  # the child

    window.variants.select(root.id)  # the root again, to train it once more
    qtbot.waitUntil(lambda: tab.key == root.id and not tab.tasks.busy, timeout=10_000)
    assert [h["losses"] for h in tab.earlier] == [first["losses"]]  # offered at once
    tab.form.editors["epochs"].setValue(1)
    with qtbot.waitSignal(tab.run_finished, timeout=120_000):
        tab.start()
        # The second run's plots show the first, dashed, and the key names it.
        assert [h["losses"] for h in tab.curves._earlier] == [first["losses"]]
        assert tab.curves.overlays and all(item.isVisible() for _, item in tab.curves.overlays)
        assert "earlier&nbsp;runs" in tab.curves.key.text()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)


def test_a_bert_folder_trains_on_labelled_texts_by_their_column(
    qtbot, main_window, tmp_path
) -> None:
    """A Hugging Face text model in the Training tab: the data rows ask for the text
    column and length instead of an image size, and one epoch on a CSV whose texts are
    under "body" learns the cue word through the folder's own tokenizer."""
    from fixtures.hf_folders import bert_model, labelled_texts, save, save_tokenizer

    folder = save_tokenizer(save(bert_model(), tmp_path / "my-bert"))
    rows = ["body,label", *(f"{text},{label}" for text, label in labelled_texts(960, 0))]
    (tmp_path / "posts.csv").write_text("\n".join(rows) + "\n", encoding="utf-8")
    window, tab = main_window, main_window.training
    _open_for_training(qtbot, window, str(folder))
    form = tab.form
    assert form.data_rows.isRowVisible(form.text_column)
    assert not form.data_rows.isRowVisible(form.image_size)
    assert form.dataset_spec() == ""  # no built-in dataset holds labelled texts
    assert form.editors["optimizer"].currentText() == "AdamW"  # the transformer fine-tune
    form.set_dataset(str(tmp_path / "posts.csv"))
    form.text_column.setText("body")
    form.editors["epochs"].setValue(1)
    form.editors["lr"].setValue(0.002)
    form.editors["batch_size"].setValue(8)
    with qtbot.waitSignal(tab.run_finished, timeout=180_000) as finished:
        qtbot.mouseClick(tab.start_button, Qt.MouseButton.LeftButton)  # as a user starts it
    result = finished.args[0].result
    assert result.metrics["val_accuracy"] >= 0.9, tab.log.toPlainText()
    qtbot.waitUntil(lambda: not tab.is_running(), timeout=30_000)
    qtbot.waitUntil(lambda: len(window.project.variants) == 2, timeout=60_000)  # the child
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=60_000)
    # the child's step says how its texts were read: its recipe replays them alike
    from workbench.core.recipe import recipe_from_lineage

    (tuned,) = [v for v in window.project.variants.values() if v.parent]
    assert tuned.step["text"] == {"column": "body"}
    recipe = recipe_from_lineage(window.project, tuned.id)
    assert "text:\n  column: body\n" in recipe.to_yaml()
    assert recipe.data == str(tmp_path / "posts.csv")  # the folder names no data: the run's

    window.open_source("zoo:digits_cnn")  # an image model: the image size comes back
    qtbot.waitUntil(lambda: len(window.project.variants) == 3, timeout=60_000)
    (digits,) = [v for v in window.project.variants.values() if v.source == "zoo:digits_cnn"]
    window.variants.select(digits.id)
    qtbot.waitUntil(lambda: tab.source == "zoo:digits_cnn", timeout=60_000)
    assert form.data_rows.isRowVisible(form.image_size)
    assert not form.data_rows.isRowVisible(form.text_column)
    assert form.image_size.value() == 8  # the digits CNN's own 8x8 input
