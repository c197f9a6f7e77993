"""The views follow the project's events: a variant added to, changed in or removed from
the project shows in the Variants tree, Compare and the inspector without the window
being told."""

from __future__ import annotations

from fixtures.loaded_stub import digits_loaded
from PySide6.QtCore import Qt

from workbench.core.project import Project
from workbench.ui.variants_view import VARIANT_ROLE, VariantsView


def _compare_names(window) -> list[str]:
    listing = window.compare.variant_list
    return [listing.item(i).text() for i in range(listing.count())]


def _inspector_rows(window) -> dict[str, str]:
    section = window.inspector.topLevelItem(0)
    return {section.child(i).text(0): section.child(i).text(1) for i in range(section.childCount())}


def test_the_tree_and_compare_follow_the_project(qtbot, main_window) -> None:
    window = main_window
    project = window.project
    root = project.add_root(digits_loaded(), name="root")
    assert window.variants.topLevelItemCount() == 1
    assert window.variants.topLevelItem(0).text(0) == "root"
    assert window.current is root  # a new variant is selected
    assert _compare_names(window) == ["root"]
    assert _inspector_rows(window)["name"] == "root"

    child = project.add_child(root, "pruned", {"pass": "random-prune", "config": {}})
    top = window.variants.topLevelItem(0)
    assert top.childCount() == 1 and top.child(0).text(0) == "pruned"
    assert window.current is child
    assert _compare_names(window) == ["root", "pruned"]

    project.update_variant(child, name="pruned 50%")
    assert top.child(0).text(0) == "pruned 50%"
    assert _compare_names(window) == ["root", "pruned 50%"]
    assert _inspector_rows(window)["name"] == "pruned 50%"  # the variant shown, again

    project.set_state(child, "running")
    assert top.child(0).text(1) == "running"
    assert _inspector_rows(window)["state"] == "running"

    with project.changing(child):
        child.metrics["size_bytes"] = 1234
    assert window.compare.comparison is not None  # recomputed with the new figure

    project.remove(child)
    assert top.childCount() == 0
    assert _compare_names(window) == ["root"]
    assert window.current is root


def test_replacing_the_variants_rebuilds_the_views(qtbot, main_window) -> None:
    window = main_window
    window.project.add_root(digits_loaded(), name="before")
    opened = Project(name="opened")
    root = opened.add_root(digits_loaded(), name="a")
    opened.add_child(root, "b", {"pass": "random-prune"})
    window.project.replace_with(opened)
    top = window.variants.topLevelItem(0)
    assert window.variants.topLevelItemCount() == 1 and top.text(0) == "a"
    assert top.childCount() == 1 and top.child(0).text(0) == "b"
    assert _compare_names(window) == ["a", "b"]
    assert window.windowTitle() == "Workbench — opened"
    # The selected variant of the opened project is shown, not cleared after the tree chose it.
    assert window.current is not None and window.current.name == "b"
    assert _inspector_rows(window)["name"] == "b"
    assert "random-prune" in window.recipe_view.toPlainText()


def test_a_variants_view_needs_only_the_project(qtbot) -> None:
    project = Project()
    view = VariantsView(project)
    qtbot.addWidget(view)
    chosen = []
    view.current_changed.connect(chosen.append)
    root = project.add_root(digits_loaded(), name="root")
    child = project.add_child(root, "child", {})
    assert view.current is child and chosen == [root, child]
    view.select(root.id)
    assert view.current is root
    project.remove(root)
    assert view.topLevelItemCount() == 0 and view.current is None and chosen[-1] is None


def test_a_narrow_tree_keeps_siblings_apart_and_tells_the_whole_name(qtbot) -> None:
    project = Project()
    view = VariantsView(project)
    qtbot.addWidget(view)
    view.resize(170, 300)
    view.show()
    qtbot.waitExposed(view)
    root = project.add_root(digits_loaded(), name="digits_cnn")
    names = ("digits_cnn · keep Conv_3 in float", "digits_cnn · quantize weights per channel")
    for name in names:
        project.add_child(root, name, {"pass": "quantize-static", "config": {}})
    items = [view.topLevelItem(0).child(i) for i in range(2)]
    assert [item.toolTip(0) for item in items] == [
        f"{name}\nmade by quantize-static from digits_cnn" for name in names
    ]
    assert view.topLevelItem(0).toolTip(0).startswith("digits_cnn\n")

    # The column is too narrow for either name: what shows is cut in the middle, so each
    # row keeps its own ending ("…in float", "…per channel") beside the shared prefix.
    assert view.textElideMode() == Qt.TextElideMode.ElideMiddle
    width = view.visualItemRect(items[0]).width()
    shown = [
        view.fontMetrics().elidedText(item.text(0), view.textElideMode(), width) for item in items
    ]
    assert all("…" in text for text in shown) and shown[0] != shown[1]
    assert [text[-5:] for text in shown] == [name[-5:] for name in names]

    project.update_variant(project.variants[items[0].data(0, VARIANT_ROLE)], name="renamed")
    assert items[0].toolTip(0).startswith("renamed\n")


def test_the_name_column_takes_what_the_state_leaves(qtbot) -> None:
    """In a 260-px dock "digits_cnn (pruned)" shows whole beside "ready"."""
    project = Project()
    view = VariantsView(project)
    qtbot.addWidget(view)
    view.resize(260, 300)
    view.show()
    qtbot.waitExposed(view)
    root = project.add_root(digits_loaded(), name="digits_cnn")
    project.add_child(root, "digits_cnn (pruned)", {"pass": "random-prune", "config": {}})
    item = view.topLevelItem(0).child(0)
    needed = view.fontMetrics().horizontalAdvance(item.text(0)) + view.indentation() * 2
    assert view.columnWidth(0) >= needed
    assert view.columnWidth(1) >= view.fontMetrics().horizontalAdvance("ready")
    assert view.columnWidth(0) + view.columnWidth(1) <= view.viewport().width()
