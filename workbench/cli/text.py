"""Plain-text renderings of the CLI's results (the JSON forms are the dicts themselves)."""

from __future__ import annotations

from typing import Any

from workbench.core.units import format_shape, human_bytes, human_count


def _tensor_lines(tensors: list[dict[str, Any]]) -> list[str]:
    return [
        f"  {t['name']}: {t.get('dtype') or '?'}[{format_shape(t.get('shape'))}]" for t in tensors
    ]


def format_summary(summary: dict[str, Any]) -> str:
    """The text `workbench inspect` prints."""
    header = f"{summary['name']}  ({summary['format']}"
    if summary.get("opset"):
        header += f", opset {summary['opset']}"
    if summary.get("file_size"):
        header += f", {human_bytes(summary['file_size'])}"
    header += ")"
    lines = [header, "inputs:", *_tensor_lines(summary["inputs"])]
    lines += ["outputs:", *_tensor_lines(summary["outputs"])]
    params = f"{summary['parameters']:,}"
    if summary.get("buffers"):
        params += f" (+{summary['buffers']:,} in buffers)"
    lines += [
        f"nodes:      {summary['node_count']:,}",
        f"parameters: {params}",
        f"MACs:       {human_count(summary['macs'])} (batch 1)",
        "op types:   "
        + ", ".join(f"{op} {count}" for op, count in summary["op_histogram"].items()),
    ]
    top = summary.get("top_layers") or []
    if top:
        width = max(len(layer["name"]) for layer in top)
        lines.append("top layers by parameters:")
        for layer in top:
            lines.append(
                f"  {layer['name']:<{width}}  {layer['op_type']:<14} "
                f"{layer['params']:>12,} params  {human_count(layer['macs'])} MACs"
            )
    lines += [f"note: {note}" for note in summary.get("notes", [])]
    return "\n".join(lines)


def format_zoo(rows: list[dict[str, Any]]) -> str:
    """The table `workbench zoo` prints."""
    header = f"{'name':<18} {'dataset':<10} {'input':<16} {'parameters':>12} {'MACs':>10}  about"
    lines = [header]
    for row in rows:
        lines.append(
            f"{row['name']:<18} {row['dataset']:<10} {row['input']:<16} "
            f"{row['parameters']:>12,} {human_count(row['macs']):>10}  {row['description']}"
        )
    return "\n".join(lines)
