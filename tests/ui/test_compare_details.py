"""Compare's folded section of what each run recorded about how it made its variant."""

from __future__ import annotations

from workbench.core.compare.table import Entry
from workbench.core.io import load
from workbench.core.project import Project
from workbench.ui.compare import CompareTab
from workbench.ui.compare.details_view import DetailsSection


def test_a_runs_own_fields_fold_apart_with_their_units(qtbot) -> None:
    section = DetailsSection()
    qtbot.addWidget(section)
    section.show()
    distilled = Entry("b", "student (distilled)", {"teacher_macs": 1_821_952,
                                                   "teacher_size_bytes": 361_700})  # fmt: skip
    section.show_entries([Entry("a", "float", {"latency": {}}), distilled])
    assert section.isVisible() and not section.tree.isVisible()  # folded until asked
    section.toggle.click()
    assert section.tree.isVisible()
    (branch,) = [section.tree.topLevelItem(i) for i in range(section.tree.topLevelItemCount())]
    rows = [(branch.child(i).text(0), branch.child(i).text(1)) for i in range(branch.childCount())]
    assert branch.text(0) == "student (distilled)"
    assert rows == [("teacher macs", "1.82 M"), ("teacher size bytes", "353.2 KiB")]
    section.show_entries([Entry("a", "float", {})])
    assert not section.isVisible()  # nothing recorded: no empty section


def test_the_compare_tab_folds_each_runs_record_under_the_table(qtbot, tmp_path) -> None:
    project = Project(name="p", folder=tmp_path)
    root = project.add_root(load("zoo:digits_mlp"))
    project.add_child(root, "student", {"pass": "distill"},
                      metrics={"teacher_macs": 1_821_952, "latency": {}})  # fmt: skip
    tab = CompareTab()
    qtbot.addWidget(tab)
    tab.show()
    tab.set_project(project)
    branch = tab.details.tree.topLevelItem(0)
    assert tab.details.isVisible() and branch.text(0) == "student"
    assert (branch.child(0).text(0), branch.child(0).text(1)) == ("teacher macs", "1.82 M")
