"""Menu actions on the selected variant: benchmark, evaluate, export, wizards, new children.

Kept apart from main_window.py so the window stays assembly; each action runs its core
function through the window's TaskRunner and reports into the status bar and inspector.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtWidgets import QFileDialog

from workbench.core.inspection import Inspection

if TYPE_CHECKING:
    from workbench.ui.main_window import MainWindow


class VariantActions:
    def __init__(self, window: MainWindow) -> None:
        self.window = window

    def _progress(self, _fraction: float | None, message: str) -> None:
        self.window.task_label.setText(message)

    def _failed(self, title: str):
        def show(error: BaseException) -> None:
            self.window.set_busy(None)
            self.window.show_error(title, error)

        return show

    def _refresh(self, message: str) -> None:
        window = self.window
        window.set_busy(None)
        if window.current is not None:
            inspection = window.inspections.get(window.current.id)
            window.inspector.show_variant(
                window.project, window.current, inspection.summary if inspection else None
            )
        window.compare.refresh()  # new figures for the Compare tab
        window.statusBar().showMessage(message, 8000)

    def benchmark(self) -> None:
        from workbench.core.measure import MeasureOptions
        from workbench.ui.measure_actions import start_benchmark

        variant = self.window.current
        if variant is None:
            return
        self.window.set_busy(f"Benchmarking {variant.name}…")

        def done(metrics: Any) -> None:
            self._show_latency_share(variant, metrics)
            self._refresh(f"Benchmarked {variant.name}")

        # ONNX variants get ORT's per-node profile too: its node names are the graph's,
        # so it becomes the "Latency share" overlay.
        start_benchmark(
            self.window.tasks,
            variant,
            done,
            self._failed("Benchmark"),
            on_progress=self._progress,
            on_cancelled=lambda: self.window.set_busy(None),
            options=MeasureOptions(runtime="auto", profile=variant.framework == "onnx"),
        )

    def _show_latency_share(self, variant: Any, metrics: Any) -> None:
        from workbench.core.graph.overlays import value_overlay
        from workbench.core.measure.profile import attribute_to_graph

        report = metrics.latency.get("ort")
        inspection = self.window.inspections.get(variant.id)
        if report is None or report.profile is None or inspection is None:
            return
        shares = attribute_to_graph(report.profile, inspection.graph)
        if not shares or self.window.current is not variant:
            return
        overlay = value_overlay(
            "Latency share", shares, "Share of run time (ORT profile)", kind="percent"
        )
        self.window.graph_view.add_overlay(overlay)
        self.window.graph_view.show_overlay(overlay.name)

    def evaluate(self) -> None:
        from workbench.ui.measure_actions import start_evaluation

        variant = self.window.current
        if variant is None:
            return
        parent = self.window.project.variants.get(variant.parent) if variant.parent else None
        self.window.set_busy(f"Evaluating {variant.name}…")
        start_evaluation(
            self.window.tasks,
            variant,
            lambda _report: self._refresh(f"Evaluated {variant.name}"),
            self._failed("Evaluate"),
            parent=parent,
            on_progress=self._progress,
            on_cancelled=lambda: self.window.set_busy(None),
        )

    def export(self) -> None:
        from workbench.ui.measure_actions import start_export

        variant = self.window.current
        if variant is None:
            return
        path, _ = QFileDialog.getSaveFileName(
            self.window, "Export ONNX", f"{variant.name}.onnx", "ONNX (*.onnx)"
        )
        if not path:
            return
        self.window.set_busy(f"Exporting {variant.name}…")
        start_export(
            self.window.tasks,
            variant,
            Path(path),
            lambda report: self._refresh(f"Exported {variant.name} to {path}"),
            self._failed("Export ONNX"),
            on_progress=self._progress,
            on_cancelled=lambda: self.window.set_busy(None),
        )

    def export_recipe(self, path: str | None = None) -> None:
        """Write the steps that made the selected variant as a recipe (YAML)."""
        from workbench.core.project import atomic_write_text
        from workbench.core.recipe import recipe_from_lineage

        window = self.window
        variant = window.current
        if variant is None:
            return
        try:
            recipe = recipe_from_lineage(window.project, variant.id)
        except Exception as exc:  # a root variant, or one made before steps were recorded
            window.show_error("Export recipe", exc)
            return
        if path is None:
            path, _ = QFileDialog.getSaveFileName(
                window, "Export Recipe", f"{variant.name}.yaml", "Recipe (*.yaml *.yml)"
            )
            if not path:
                return
        # Small text, written at once: no worker needed for this one.
        atomic_write_text(Path(path), recipe.to_yaml())
        window.statusBar().showMessage(
            f"Wrote {len(recipe.steps)} steps to {path}; replay: workbench run {path} --out DIR",
            10000,
        )

    def add_trained(self, run: Any) -> None:
        """A finished training run becomes a child variant of the one it trained."""
        window = self.window
        parent = window.project.variants.get(run.key)
        parent_inspection = window.inspections.get(run.key)
        if parent is None or parent_inspection is None:
            return
        loaded = dataclasses.replace(
            parent_inspection.loaded, module=run.result.model, exported_program=None, notes=[]
        )
        config = run.result.config
        self.add_child(
            parent,
            loaded,
            name=f"{parent.name} ({run.kind})",
            step={"pass": run.kind, "config": dataclasses.asdict(config)}
            if dataclasses.is_dataclass(config)
            else {"pass": run.kind},
            metrics=dict(run.result.metrics),
            artifacts={k: str(v) for k, v in run.paths.items()},
        )

    def open_wizard(self, reference: str) -> None:
        """Open a compression wizard ("module:Class") on the selected variant."""
        from workbench.core.registry import resolve

        window = self.window
        variant = window.current
        inspection = window.inspections.get(variant.id) if variant is not None else None
        if variant is None or inspection is None:
            window.statusBar().showMessage("Open a model first", 5000)
            return
        try:
            wizard_class = resolve(reference)
            wizard = wizard_class(inspection.loaded, window.tasks, parent=window)
        except Exception as exc:  # a wizard that cannot start is a dialog, not a crash
            window.show_error("Could not start the wizard", exc)
            return
        if hasattr(wizard, "show_measurements"):  # what earlier runs measured, per device
            quantized = [
                (v.name, v.step, v.metrics)
                for v in window.project.variants.values()
                if v.parent == variant.id and str(v.step.get("pass", "")).startswith("quantize")
            ]
            wizard.show_measurements(variant.metrics, quantized)
        wizard.outcome_ready.connect(lambda outcome: self.add_outcome(variant, outcome))
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
        """Describe ``loaded`` in a worker, then record it as a child of ``parent``."""
        from workbench.core import graph as graph_model

        window = self.window

        def describe() -> Inspection:
            built = graph_model.from_model(loaded)
            return Inspection(loaded, built, graph_model.summarize(built, loaded))

        def added(inspection: Inspection) -> None:
            variant = window.project.add_child(
                parent,
                name,
                step,
                framework=loaded.framework,
                metrics=metrics,
                artifacts=artifacts,
            )
            variant.loaded = loaded
            window.add_variant_item(variant, inspection)

        window.tasks.start(describe, added, self._failed(f"Add {name}"))
