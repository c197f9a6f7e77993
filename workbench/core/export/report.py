"""The export report: JSON for tools, Markdown for people, written beside the model."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.export.parity import ParityResult
from workbench.core.measure.metrics import Metrics, store_metrics
from workbench.core.project import atomic_write_text
from workbench.core.units import human_bytes


@dataclass
class ExportReport:
    """What was exported, how, and how closely it matches its source."""

    path: str
    source: str
    written: bool
    exporter: str
    opset: int
    ir_version: int
    dynamic_batch: bool
    simplified: bool
    fp16: bool
    nodes_before: int
    nodes_after: int
    file_size: int
    checker: str  # "passed", or the checker's message
    parity: ParityResult
    inputs: list[dict[str, Any]] = field(default_factory=list)
    outputs: list[dict[str, Any]] = field(default_factory=list)
    libraries: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        data = {k: v for k, v in vars(self).items() if k != "parity"}
        data["parity"] = self.parity.to_json()
        return _finite(data)

    def to_markdown(self) -> str:
        parity = self.parity
        verdict = "passed" if parity.passed else "**FAILED**"
        lines = [
            f"# ONNX export: {Path(self.path).name}",
            "",
            f"- source: `{self.source}`",
            f"- exporter: {self.exporter}, opset {self.opset}, IR version {self.ir_version}",
            f"- dynamic batch: {'yes' if self.dynamic_batch else 'no'}; "
            f"simplified: {'yes' if self.simplified else 'no'}; "
            f"fp16: {'yes' if self.fp16 else 'no'}",
            f"- nodes: {self.nodes_before} exported, {self.nodes_after} in the file",
            f"- file size: {human_bytes(self.file_size)}",
            f"- onnx.checker: {self.checker}",
            f"- parity: {verdict} on {parity.data}",
            "",
            "| output | max abs diff | mean abs diff | tolerance | top-1 agreement | verdict |",
            "| --- | ---: | ---: | ---: | ---: | --- |",
        ]
        for o in parity.outputs:
            top1 = "—" if o.top1_agreement is None else f"{o.top1_agreement:.2%}"
            lines.append(
                f"| {o.name} | {o.max_abs_diff:.3g} | {o.mean_abs_diff:.3g} | "
                f"{o.tolerance:.3g} | {top1} | {'pass' if o.passed else 'FAIL'} |"
            )
        lines += ["", "## Inputs and outputs", ""]
        for kind, tensors in (("input", self.inputs), ("output", self.outputs)):
            for t in tensors:
                shape = ", ".join(str(d) for d in t["shape"])
                lines.append(f"- {kind} `{t['name']}`: {t['dtype']} [{shape}]")
        if self.notes:
            lines += ["", "## Notes", "", *[f"- {note}" for note in self.notes]]
        versions = ", ".join(f"{k} {v}" for k, v in self.libraries.items())
        lines += ["", f"Made in {self.seconds:.1f} s with {versions}.", ""]
        return "\n".join(lines)

    def write_beside(self, model_path: Path) -> tuple[Path, Path]:
        """``F.onnx`` -> ``F.report.json`` and ``F.report.md``, written atomically."""

        base = Path(model_path)
        json_path = base.with_name(base.stem + ".report.json")
        md_path = base.with_name(base.stem + ".report.md")
        atomic_write_text(json_path, json.dumps(self.to_json(), indent=2))
        atomic_write_text(md_path, self.to_markdown())
        return json_path, md_path


def _finite(value: Any) -> Any:
    """JSON has no inf/NaN (a non-finite difference): they become strings."""
    if isinstance(value, float) and value != value:
        return "nan"
    if isinstance(value, float) and value in (float("inf"), float("-inf")):
        return "inf" if value > 0 else "-inf"
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def store_export(variant: Any, report: ExportReport) -> None:
    """Record the export on the variant: the report in metrics, the file as an artifact."""

    store_metrics(variant, Metrics(export=report.to_json()))
    if report.written:
        variant.artifacts["onnx_export"] = report.path
