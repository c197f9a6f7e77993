"""The Optimize wizard on the digits CNN trained briefly: a real search (channel pruning
fine-tuned for an epoch, static INT8, ONNX Runtime timing) with one ratio, so a run takes
seconds. The scatter gets a point per finished candidate while the search runs, Cancel
keeps the finished ones and says so, Resume carries on, Finish adds the front as
variants and Compare lists them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fixtures.compare_variants import trained_root
from PySide6.QtWidgets import QWizard

from workbench.core.io.variant_folder import VariantRecord, write_variant
from workbench.core.optimize.front import ORIGINAL
from workbench.ui.wizards.optimize_wizard import OptimizeWizard
from workbench.ui.workers import TaskRunner

pytestmark = pytest.mark.slow
WAIT_MS = 120_000
SMALL = {
    "ratios": "0.5",
    "recovery": ["finetune"],
    "epochs": 1,
    "proxy_epochs": 0,
    "proxy_margin": 100.0,  # screening by the pruned accuracy alone keeps the ratio
    "sensitivity": False,
    "batch": "1",
    "seconds": 0.05,
    "rounds": 1,
}


@pytest.fixture(scope="module")
def source(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The trained CNN as a variant folder (the window opens it; the wizard loads it)."""
    folder = tmp_path_factory.mktemp("optimize-wizard") / "trained"
    record = VariantRecord("digits", "zoo:digits_cnn", "digits_cnn", "digits", "pytorch", {}, {})
    write_variant(folder, record, trained_root())
    return folder


def _set_up(wizard: OptimizeWizard, out: Path, budget: str = "90s") -> None:
    wizard.goal_page.form.set_value({"objective": "latency", "max_drop": 5.0, "budget": budget})
    wizard.search_page.form.set_value(SMALL)
    wizard.search_page.folder.setText(str(out))
    assert wizard.config().ratios == [0.5] and wizard.config().budget_s == 90
    wizard.next()
    assert wizard.currentPage() is wizard.search_page and wizard.search_page.isComplete()
    wizard.next()
    assert wizard.currentPage() is wizard.run_page


def _finished(page) -> list[str]:
    """The log's lines of finished candidates (not the original's, not the skipped)."""
    lines = [page.log.item(i).text() for i in range(page.log.count())]
    return [line for line in lines if "top-1" in line and not line.startswith("original")]


def test_live_scatter_cancel_keeps_the_finished_and_resume_goes_on(
    qtbot, source: Path, tmp_path: Path
) -> None:
    from workbench.core.io import load

    tasks = TaskRunner()
    wizard = OptimizeWizard(load(source), tasks)
    qtbot.addWidget(wizard)
    wizard.show()
    out = tmp_path / "search"
    _set_up(wizard, out)
    page = wizard.run_page
    # The first candidate is a point while the search goes on, at its own figures.
    qtbot.waitUntil(lambda: len(page.scatter.records) >= 2, timeout=WAIT_MS)
    assert page.running
    first = next(r for k, r in page.scatter.records.items() if k != ORIGINAL)
    xs, ys = page.scatter.candidate_xy()
    assert (xs, ys) == ([first["latency_ms"]["1"]], [pytest.approx(100 * first["top1"])])
    original = page.scatter.records[ORIGINAL]
    assert page.scatter.original.getData()[1][0] == pytest.approx(100 * original["top1"])
    assert page.scatter.floor.value() == pytest.approx(100 * original["top1"] - 5.0)
    assert " left" in page.budget_label.text()
    page.cancel_button.click()
    qtbot.waitUntil(lambda: page.done, timeout=WAIT_MS)
    kept = json.loads((out / "pareto.json").read_text())["candidates"][1:]
    assert page.search.stopped == "cancelled" and len(kept) >= 1
    assert "Cancelled" in page.message.text() and f"{len(kept)} finished candidates are kept" in (
        page.message.text()
    )
    assert len(page.scatter.candidate_xy()[0]) == len(kept) == len(_finished(page))
    assert page.resume_button.isEnabled()
    assert page.bar.value() == round(1000 * len(kept) / page.planned) < 1000  # not "100%"

    page.resume_button.click()
    qtbot.waitUntil(lambda: page.done, timeout=WAIT_MS)
    assert page.search.stopped == "done", page.message.text()
    records = page.search.records[1:]
    assert len(records) > len(kept)  # it went on to the candidates the cancel left
    lines = _finished(page)
    assert sum("(earlier run)" in line for line in lines) == len(kept)
    assert len(page.scatter.candidate_xy()[0]) == len(records) == len(lines)
    front = [k for k in page.search.front if k != ORIGINAL]
    front_x = list(page.scatter.front_line.getData()[0])
    assert len(front_x) == len(front) and front_x == sorted(front_x)
    assert not page.resume_button.isEnabled() and "Every candidate ran" in page.message.text()
    assert page.bar.value() == 1000
    qtbot.waitUntil(lambda: not tasks.busy, timeout=WAIT_MS)


def test_a_folder_holding_a_search_offers_resume(qtbot, tmp_path: Path) -> None:
    from workbench.core.io import load

    wizard = OptimizeWizard(load("zoo:digits_cnn"), TaskRunner())
    qtbot.addWidget(wizard)
    page = wizard.search_page
    assert "workbench-optimize" in page.folder.text()  # unsaved project: a temp folder
    (tmp_path / "pareto.json").write_text(json.dumps({"state": "cancelled",
                                                      "candidates": [{}, {}, {}]}))  # fmt: skip
    page.folder.setText(str(tmp_path))
    assert page.resume.isEnabled() and page.resume.isChecked() and page.isComplete()
    assert "2 finished candidates, cancelled" in page.folder_note.text()
    page.resume.setChecked(False)
    assert not page.isComplete()  # it would overwrite the search: another folder, or resume
    page.folder.setText(str(tmp_path / "new"))
    assert not page.resume.isEnabled() and page.isComplete()
    wizard.set_project_folder(tmp_path / "proj")
    assert Path(page.folder.text()).parent == tmp_path / "proj" / "optimize"


def test_finish_adds_the_front_as_variants_and_compare_lists_them(
    qtbot, main_window, source: Path, tmp_path: Path
) -> None:
    window = main_window
    window.open_source(str(source))
    qtbot.waitUntil(lambda: window.current is not None, timeout=WAIT_MS)
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    root = window.current
    before = set(window.findChildren(OptimizeWizard))
    window.actions.open_wizard("workbench.ui.wizards.optimize_wizard:OptimizeWizard")
    (wizard,) = set(window.findChildren(OptimizeWizard)) - before
    _set_up(wizard, tmp_path / "search")
    page = wizard.run_page
    qtbot.waitUntil(lambda: page.done, timeout=WAIT_MS)
    assert page.isComplete(), page.message.text()
    front = page.front_keys()
    assert front and "Finish adds the front" in page.finish_note.text()
    wizard.button(QWizard.WizardButton.FinishButton).click()
    names = {f"{wizard.source.display_name} ({key})" for key in front}
    qtbot.waitUntil(
        lambda: names <= {v.name for v in window.project.variants.values()}, timeout=WAIT_MS
    )
    qtbot.waitUntil(lambda: not window.tasks.busy, timeout=WAIT_MS)
    added = [v for v in window.project.variants.values() if v.name in names]
    for variant in added:  # under the source, or under the candidate it was made from
        assert root.id in [v.id for v in window.project.lineage(variant.id)[:-1]]
        assert variant.step["pass"] in ("channel-prune", "quantize-static", "distill")
    table = window.compare.comparison.table
    assert names <= set(table.names)
    for variant in added:
        record = next(r for r in page.search.records if variant.name.endswith(f"({r['key']})"))
        # An INT8 candidate is scored on ORT, a float one on torch: each has its own row
        # (the first top-1 row was taken once, which failed when the front held both).
        (runtime,) = record["metrics"]["accuracy"]
        top1 = next(r for r in table.rows if r.spec.key == f"accuracy.{runtime}.top1")
        assert top1.cells[table.names.index(variant.name)].value == pytest.approx(record["top1"])
