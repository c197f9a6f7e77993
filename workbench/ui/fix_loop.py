"""The fix loop in the graph: right-click a node of a compressed variant, change what
its pass did to that node, and the pass runs again from the same parent.

With the quantization-error overlay on, the worst nodes are in plain sight; the menu
offers the changes ``core.compress.refine`` lists for the node (keep it in float,
per-channel weights, another calibration; for channel pruning, leave the layer alone or
give it its own amount). The re-run is the same pass with that one setting changed,
measured as the wizard measures (before and after on ONNX Runtime), and its result is
added beside the previous one: Compare sets them side by side, the tree selects it and
its graph shows its own overlay (quantization error; channels kept after pruning).
Pruning names layers, not graph nodes: a node maps to its layer through
``core.compress.refine.node_changes``, and only a layer the pass prunes gets changes.
"""

from __future__ import annotations

from typing import Any

from PySide6.QtCore import QObject, QPoint
from PySide6.QtWidgets import QMenu

from workbench.core.compress.refine import Refinement, node_changes, refined_step
from workbench.core.compress.rerun import Rerun, run_again
from workbench.core.context import RunContext
from workbench.core.graph.model import Node
from workbench.core.project import Variant
from workbench.ui.action_context import ActionContext
from workbench.ui.variant_actions import VariantActions
from workbench.ui.workers import JobHandle


class FixLoop(QObject):
    def __init__(self, ctx: ActionContext, actions: VariantActions) -> None:
        super().__init__(ctx.parent)
        self.ctx, self.actions = ctx, actions
        self.menu: QMenu | None = None

    def show_menu(self, node: Node, where: QPoint) -> None:
        """The graph's right-click on ``node`` of the selected variant."""
        variant = self.ctx.variants.current
        menu = self.menu_for(variant, node) if variant is not None else None
        if menu is not None:
            menu.popup(where)

    def menu_for(self, variant: Variant, node: Node) -> QMenu | None:
        """The changes for ``node``, each re-running the step from the parent; None when
        the variant was made by no step that has any (a root, a training run)."""
        if variant.parent is None:
            return None
        found = node_changes(variant.step, node, self._module(variant))
        if not found.changes and not found.why_none:
            return None
        self.menu = QMenu(self.ctx.parent)
        self.menu.setObjectName("fix-loop-menu")
        if found.why_none:  # a layer the pass leaves alone: say why, offer nothing
            self.menu.addAction(f"{found.target}: {found.why_none}").setEnabled(False)
            return self.menu
        title = self.menu.addAction(f"{found.target}: run {variant.step['pass']} again with…")
        title.setEnabled(False)
        for change in found.changes:
            action = self.menu.addAction(change.label)
            action.triggered.connect(lambda _=False, c=change: self.rerun(variant, c))
        return self.menu

    def rerun(self, variant: Variant, change: Refinement) -> JobHandle | None:
        """Run ``variant``'s pass again from its parent with ``change``; the result is added
        as the parent's next child."""
        parent = self.ctx.project.variants[variant.parent]  # type: ignore[index]
        source = self._loaded(parent)
        if source is None:
            self.ctx.status.showMessage(f"Open {parent.name} first: its model is not loaded", 5000)
            return None
        step = refined_step(variant.step, change)
        name = f"{variant.name.split(' · ')[0]} · {change.label.lower()}"

        def job(ctx: RunContext) -> Rerun:
            return run_again(source, step, ctx)

        def done(made: Rerun) -> None:
            self.ctx.status.set_busy(None)
            self.actions.add_child(parent, made.model, name=name, step=made.step,
                                   metrics=made.metrics, artifacts={})  # fmt: skip

        def failed(error: BaseException) -> None:
            self.ctx.status.set_busy(None)
            self.ctx.show_error(f"Could not {change.label.lower()}", error)

        self.ctx.status.set_busy(f"{change.label}: running {step['pass']} again…")
        idle = lambda: self.ctx.status.set_busy(None)  # noqa: E731
        return self.ctx.tasks.start_job(job, done, failed, on_cancelled=idle)

    def _loaded(self, variant: Variant) -> Any:
        inspection = self.ctx.inspections.get(variant.id)
        return variant.loaded or (inspection.loaded if inspection is not None else None)

    def _module(self, variant: Variant) -> Any:
        """The ``nn.Module`` whose layer names a pruning step uses: the variant's own (the
        graph shown), else its parent's; None for a model that is no PyTorch module."""
        for candidate in (variant, self.ctx.project.variants.get(variant.parent or "")):
            loaded = self._loaded(candidate) if candidate is not None else None
            if loaded is not None and loaded.module is not None:
                return loaded.module
        return None
