"""Opening a variant folder keeps what its variant.json records: the lineage back through
the folders that made it, the recipe step, the metrics and the dataset."""

from __future__ import annotations

from pathlib import Path

from fixtures.cli import run_workbench

WAIT_MS = 60_000


def _rows(inspector, title: str) -> list[tuple[str, str]]:
    for index in range(inspector.topLevelItemCount()):
        section = inspector.topLevelItem(index)
        if section.text(0) == title:
            return [
                (section.child(i).text(0), section.child(i).text(1))
                for i in range(section.childCount())
            ]
    raise AssertionError(f"no {title} section")


def test_a_pruned_folder_opens_with_its_history(qtbot, main_window, tmp_path: Path) -> None:
    # Real folders from the real writer: train zoo:digits_cnn, then prune the trained folder.
    trained = run_workbench(
        "train", "zoo:digits_cnn", "--data", "digits", "--epochs", "1", "--out", "T", cwd=tmp_path
    )
    assert trained.returncode == 0, trained.stderr
    pruned = run_workbench(
        "apply", "random-prune", "T", "--amount", "0.5", "--out", "P", cwd=tmp_path
    )
    assert pruned.returncode == 0, pruned.stderr

    main_window.open_source(str(tmp_path / "P"))
    qtbot.waitUntil(lambda: len(main_window.project.variants) == 3, timeout=WAIT_MS)
    opened = main_window.project.variants[next(iter(main_window.inspections))]
    assert opened.loaded is not None and opened.step["pass"] == "random-prune"
    main_window.inspector.show_variant(main_window.project, opened, None)

    variant = dict(_rows(main_window.inspector, "Variant"))
    assert variant["dataset"] == "digits"  # not "—"
    lineage = _rows(main_window.inspector, "Lineage")
    assert lineage == [
        ("zoo:digits_cnn", "opened"),
        ("digits_cnn (trained on digits)", "train"),
        (opened.name, "random-prune"),
    ]
    # What the pruning recorded (the app's Metrics section is for benchmarks run here).
    result = dict(_rows(main_window.inspector, "Result"))
    assert result["sparsity"].startswith("50")
    trained = main_window.project.variants[opened.parent]
    main_window.inspector.show_variant(main_window.project, trained, None)
    assert "val accuracy" in " ".join(k for k, _ in _rows(main_window.inspector, "Result"))

    main_window.recipe_view.show_variant(main_window.project, opened)
    recipe = main_window.recipe_view.toPlainText()
    assert "no steps yet" not in recipe
    assert "model: zoo:digits_cnn" in recipe and "pass: train" in recipe
    assert "pass: random-prune" in recipe and "amount: 0.5" in recipe
