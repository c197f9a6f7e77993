"""The recipe of the selected variant: the steps from its root, as `workbench run` reads them.

It follows the project's events: a step of the lineage shown that changes is shown again,
a variant removed no more."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget

from workbench.core.project import Project, Variant


class RecipeView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recipe-view")
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("Select a variant to see the steps that made it.")
        self._shown: tuple[Any, Any] | None = None  # (project, variant)

    def follow(self, project: Project) -> None:
        """Keep the recipe shown in step with ``project``'s variants."""
        project.events.variant_changed.connect(self._on_variant_changed)
        project.events.variant_removed.connect(self._on_gone)
        project.events.replaced.connect(self._on_replaced)

    def _on_variant_changed(self, variant: Variant) -> None:
        if self._shown is None:
            return
        project, shown = self._shown
        if shown.id not in project.variants:
            return
        if any(v is variant for v in project.lineage(shown.id)):
            self.show_variant(project, shown)

    def _on_replaced(self, project: Any) -> None:
        # The tree may already have selected a variant of the new project (it heard first).
        if self._shown is not None and self._shown[1] not in project.variants.values():
            self._on_gone(None)

    def _on_gone(self, variant: Variant | None) -> None:
        if self._shown is not None and (variant is None or variant is self._shown[1]):
            self._shown = None
            self.clear()

    def show_variant(self, project: Any, variant: Any) -> None:
        """The lineage as YAML (cheap: a few dicts), or why there is none."""
        from workbench.core.recipe import RecipeError, recipe_from_lineage

        self._shown = (project, variant)
        if variant.parent is None:
            self.setPlainText(
                f"# {variant.name} is where its lineage starts: no steps yet.\n"
                "# Train it or apply a pass (Compress menu); the steps appear here."
            )
            return
        try:
            recipe = recipe_from_lineage(project, variant.id)
        except RecipeError as exc:
            self.setPlainText(f"# {exc.message}")
            return
        header = (
            f"# The steps that made {variant.name}. Model > Export Recipe saves them;\n"
            "# replay: workbench run RECIPE.yaml --out DIR\n"
        )
        self.setPlainText(header + recipe.to_yaml())
