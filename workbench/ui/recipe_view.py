"""The recipe of the selected variant: the steps from its root, as `workbench run` reads them."""

from __future__ import annotations

from typing import Any

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import QPlainTextEdit, QWidget


class RecipeView(QPlainTextEdit):
    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("recipe-view")
        self.setReadOnly(True)
        self.setFont(QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont))
        self.setPlaceholderText("Select a variant to see the steps that made it.")

    def show_variant(self, project: Any, variant: Any) -> None:
        """The lineage as YAML (cheap: a few dicts), or why there is none."""
        from workbench.core.recipe import RecipeError, recipe_from_lineage

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
