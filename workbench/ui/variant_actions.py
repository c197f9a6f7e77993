"""Menu actions on the selected variant: benchmark, evaluate, export, Netron, wizards,
new children.

Kept apart from main_window.py so the window stays assembly: each action runs its core
function through the TaskRunner and reports into the status bar. Results are stored
through the project (``Project.changing``, ``Project.add``), whose listeners (inspector,
Compare, the tree, autosave) show them; what only the window shows (an overlay for the
graph, a Netron server) comes out as a signal.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QFileDialog

from workbench.core.errors import WorkbenchError
from workbench.core.inspection import Inspection
from workbench.core.project import atomic_write_text
from workbench.ui.action_context import ActionContext
from workbench.ui.netron_tab import NetronServer, stage_proto


class VariantActions(QObject):
    overlay_ready = Signal(str, object)  # variant id, an Overlay to show on its graph
    netron_ready = Signal(object, str)  # a NetronServer serving the variant, its name

    def __init__(self, ctx: ActionContext) -> None:
        super().__init__(ctx.parent)
        self.ctx = ctx

    def _done(self, message: str) -> None:
        self.ctx.status.set_busy(None)
        self.ctx.status.showMessage(message, 8000)

    def benchmark(self) -> None:
        from workbench.core.measure import MeasureOptions
        from workbench.ui.measure_actions import start_benchmark

        ctx = self.ctx
        variant = ctx.variants.current
        if variant is None:
            return
        ctx.status.set_busy(f"Benchmarking {variant.name}…")

        def done(metrics: Any) -> None:
            self._show_latency_share(variant, metrics)
            self._done(f"Benchmarked {variant.name}")

        # ONNX variants get ORT's per-node profile too: its node names are the graph's,
        # so it becomes the "Latency share" overlay.
        start_benchmark(
            ctx.tasks,
            variant,
            done,
            ctx.failure("Benchmark"),
            on_progress=ctx.status.report,
            on_cancelled=lambda: ctx.status.set_busy(None),
            options=MeasureOptions(runtime="auto", profile=variant.framework == "onnx"),
            project=ctx.project,
        )

    def _show_latency_share(self, variant: Any, metrics: Any) -> None:
        from workbench.core.graph.overlays import value_overlay
        from workbench.core.measure.profile import attribute_to_graph

        report = metrics.latency.get("ort")
        inspection = self.ctx.inspections.get(variant.id)
        if report is None or report.profile is None or inspection is None:
            return
        shares = attribute_to_graph(report.profile, inspection.graph)
        if shares:
            overlay = value_overlay(
                "Latency share", shares, "Share of run time (ORT profile)", kind="percent"
            )
            self.overlay_ready.emit(variant.id, overlay)

    def evaluate(self) -> None:
        from workbench.ui.measure_actions import start_evaluation

        ctx = self.ctx
        variant = ctx.variants.current
        if variant is None:
            return
        parent = ctx.project.variants.get(variant.parent) if variant.parent else None
        ctx.status.set_busy(f"Evaluating {variant.name}…")
        start_evaluation(
            ctx.tasks,
            variant,
            lambda _report: self._done(f"Evaluated {variant.name}"),
            ctx.failure("Evaluate"),
            parent=parent,
            on_progress=ctx.status.report,
            on_cancelled=lambda: ctx.status.set_busy(None),
            project=ctx.project,
        )

    def export(self) -> None:
        from workbench.ui.measure_actions import start_export

        ctx = self.ctx
        variant = ctx.variants.current
        if variant is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            ctx.parent, "Export ONNX", f"{variant.name}.onnx", "ONNX (*.onnx)"
        )
        if not path:
            return
        ctx.status.set_busy(f"Exporting {variant.name}…")
        start_export(
            ctx.tasks,
            variant,
            Path(path),
            lambda report: self._done(f"Exported {variant.name} to {path}"),
            ctx.failure("Export ONNX"),
            on_progress=ctx.status.report,
            on_cancelled=lambda: ctx.status.set_busy(None),
            project=ctx.project,
        )

    def export_recipe(self, path: str | None = None) -> None:
        """Write the steps that made the selected variant as a recipe (YAML)."""
        from workbench.core.recipe import recipe_from_lineage

        ctx = self.ctx
        variant = ctx.variants.current
        if variant is None:
            return
        try:
            recipe = recipe_from_lineage(ctx.project, variant.id)
        except Exception as exc:  # a root variant, or one made before steps were recorded
            ctx.show_error("Export recipe", exc)
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                ctx.parent, "Export Recipe", f"{variant.name}.yaml", "Recipe (*.yaml *.yml)"
            )
            if not path:
                return
        # Small text, written at once: no worker needed for this one.
        atomic_write_text(Path(path), recipe.to_yaml())
        ctx.status.showMessage(
            f"Wrote {len(recipe.steps)} steps to {path}; replay: workbench run {path} --out DIR",
            10000,
        )

    def open_in_netron(self) -> None:
        """Serve the current variant's ONNX for the Netron tab (staged off the GUI thread)."""
        ctx = self.ctx
        variant = ctx.variants.current
        if variant is None:
            return
        inspection = ctx.inspections.get(variant.id)
        loaded = inspection.loaded if inspection else None
        if loaded is None or loaded.onnx_model is None or loaded.path is None:
            ctx.show_error(
                "Open in Netron",
                WorkbenchError(
                    f"{variant.name} is a PyTorch model; Netron shows ONNX files. "
                    "Export it to ONNX first (File ▸ Export ONNX…)."
                ),
            )
            return
        proto, name = loaded.onnx_model, Path(loaded.path).name
        ctx.status.set_busy(f"Starting Netron for {variant.name}…")

        def ready(server: NetronServer) -> None:
            ctx.status.set_busy(None)
            self.netron_ready.emit(server, variant.name)

        ctx.tasks.start(
            lambda: NetronServer(stage_proto(proto, name)),
            ready,
            ctx.failure("Open in Netron"),
        )

    def add_trained(self, run: Any) -> None:
        """A finished training run becomes a child variant of the one it trained."""
        parent = self.ctx.project.variants.get(run.key)
        parent_inspection = self.ctx.inspections.get(run.key)
        if parent is None or parent_inspection is None:
            return
        loaded = dataclasses.replace(
            parent_inspection.loaded, module=run.result.model, exported_program=None, notes=[]
        )
        config = run.result.config
        step: dict[str, Any] = {"pass": run.kind}
        if dataclasses.is_dataclass(config):
            step["config"] = dataclasses.asdict(config)
        if run.spec and run.spec != parent.dataset:  # data the parent does not name
            step["data"] = run.spec
        if run.text:
            step["text"] = run.text
        self.add_child(
            parent,
            loaded,
            name=f"{parent.name} ({run.kind})",
            step=step,
            metrics=dict(run.result.metrics),
            artifacts={k: str(v) for k, v in run.paths.items()},
        )

    def open_wizard(self, reference: str) -> None:
        """Open a compression wizard ("module:Class") on the selected variant."""
        from workbench.core.registry import resolve

        ctx = self.ctx
        variant = ctx.variants.current
        inspection = ctx.inspections.get(variant.id) if variant is not None else None
        if variant is None or inspection is None:
            ctx.status.showMessage("Open a model first", 5000)
            return
        try:
            wizard_class = resolve(reference)
            wizard = wizard_class(inspection.loaded, ctx.tasks, parent=ctx.parent)
        except Exception as exc:  # a wizard that cannot start is a dialog, not a crash
            ctx.show_error("Could not start the wizard", exc)
            return
        if hasattr(wizard, "show_measurements"):  # what earlier runs measured, per device
            quantized = [
                (v.name, v.step, v.metrics)
                for v in ctx.project.variants.values()
                if v.parent == variant.id and str(v.step.get("pass", "")).startswith("quantize")
            ]
            wizard.show_measurements(variant.metrics, quantized)
        wizard.outcome_ready.connect(lambda outcome: self.add_outcome(variant, outcome))
        if hasattr(wizard, "front_ready"):  # Optimize: several variants, some chained
            wizard.set_project_folder(ctx.project.folder)
            wizard.front_ready.connect(lambda items: self.add_front(variant, items))
        if hasattr(wizard, "delete_when_closed"):  # a plugin's own QWizard may lack it
            wizard.delete_when_closed()
        wizard.setModal(False)
        wizard.show()

    def add_outcome(self, parent: Any, outcome: Any) -> None:
        """A finished wizard's model becomes a child variant of the one it started from."""
        self.add_child(
            parent,
            outcome.model,
            name=outcome.name,
            step=outcome.step,
            metrics=dict(outcome.metrics),
            artifacts=dict(outcome.artifacts),
        )

    def add_front(self, parent: Any, items: list[Any]) -> None:
        """An Optimize search's front: each candidate's folder is opened and described in
        a worker, then added under ``parent`` or under the candidate it was made from
        (``FrontItem.parent_key``), parents first."""
        from workbench.core import graph as graph_model
        from workbench.core.io import load

        project, inspections = self.ctx.project, self.ctx.inspections

        def describe() -> list[tuple[Any, Inspection]]:
            described = []
            for item in items:
                loaded = load(item.folder)
                built = graph_model.from_model(loaded)
                described.append(
                    (item, Inspection(loaded, built, graph_model.summarize(built, loaded)))
                )
            return described

        def added(described: list[tuple[Any, Inspection]]) -> None:
            made: dict[str | None, Any] = {None: parent}
            for item, inspection in described:
                if made[None].id not in project.variants:
                    return  # the source variant went while the candidates were read
                variant = project.new_child(
                    made.get(item.parent_key, parent),
                    item.name,
                    item.step,
                    framework=inspection.loaded.framework,
                    metrics=item.metrics,
                    artifacts={"folder": str(item.folder)},
                    loaded=inspection.loaded,
                )
                inspections[variant.id] = inspection  # before the views hear of it
                made[item.key] = project.add(variant)
            on_front = sum(item.on_front for item in items)
            self._done(f"Added {on_front} candidates of the front")

        self.ctx.status.set_busy(f"Adding {len(items)} candidates…")
        self.ctx.tasks.start(describe, added, self.ctx.failure("Add the front"))

    def add_child(
        self,
        parent: Any,
        loaded: Any,
        *,
        name: str,
        step: dict[str, Any],
        metrics: dict[str, Any],
        artifacts: dict[str, str],
    ) -> None:
        """Describe ``loaded`` in a worker, then add it to the project as a child of
        ``parent`` (the tree selects it)."""
        from workbench.core import graph as graph_model

        project, inspections = self.ctx.project, self.ctx.inspections

        def describe() -> Inspection:
            built = graph_model.from_model(loaded)
            return Inspection(loaded, built, graph_model.summarize(built, loaded))

        def added(inspection: Inspection) -> None:
            variant = project.new_child(
                parent,
                name,
                step,
                framework=loaded.framework,
                metrics=metrics,
                artifacts=artifacts,
                loaded=loaded,
            )
            inspections[variant.id] = inspection  # before the views hear of the variant
            project.add(variant)

        self.ctx.tasks.start(describe, added, self.ctx.failure(f"Add {name}"))
