"""A quantized variant as a folder: its model file and ``variant.json``, written through
the one record writer (``core.io.variant_folder``).

The record's metrics hold the run's own figures (before, after, ratios, advice, the
auto-exclusion) and, beside them, the quantized model's figures in the form every
benchmark stores (``Metrics``: latency filed by its conditions, accuracy, facts, the
machine), so `workbench compare` reads a quantized folder like any measured variant.
"""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

from workbench.core.compress.quantization.outcome import QuantizationOutcome
from workbench.core.data.text import copy_tokenizer
from workbench.core.errors import WorkbenchError
from workbench.core.io.atomic import atomic_write_bytes
from workbench.core.io.loaded import LoadedModel
from workbench.core.io.variant_folder import TORCH_FILE, VariantRecord, write_variant


def record_metrics(outcome: QuantizationOutcome) -> dict[str, Any]:
    """``variant.json``'s "metrics": the run's figures plus the comparable ones."""
    return {**outcome.metrics(), **outcome.measured_metrics().to_json()}


def write_quantized_variant(
    outcome: QuantizationOutcome,
    folder: Path,
    *,
    source: str | None = None,
    tokenizer: Path | None = None,
) -> dict[str, Path]:
    """``folder``/model.onnx (or model.pt for a PyTorch result) and ``variant.json``;
    a text model's ``tokenizer`` files beside them, so the variant reads texts too."""
    folder = Path(folder)
    model = outcome.model
    files = copy_tokenizer(tokenizer, folder)
    record = VariantRecord(
        name=outcome.name(),
        kind="quantized",
        source=source or outcome.source_name,
        arch=model.arch,
        dataset=model.dataset,
        framework=model.framework,
        step=outcome.step,
        metrics=record_metrics(outcome),
        notes=list(outcome.notes),
        extra={"node_error": outcome.pass_metrics.get("node_error")},
    )
    if model.onnx_model is not None:
        return write_variant(folder, record, model, files=files)
    # A dynamically quantized module is kept as TorchScript, not as a state_dict.
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / TORCH_FILE
    atomic_write_bytes(path, torchscript_bytes(model))
    return write_variant(folder, record, None, files={"torch": path, **files})


def torchscript_bytes(model: LoadedModel) -> bytes:
    """A dynamically quantized module as TorchScript (traced): its state_dict alone
    would need the quantization replayed to reopen. Reopen with ``--trust``."""
    import torch

    from workbench.core.measure.inputs import concrete_shapes, feed_for

    shapes = concrete_shapes(model, label=model.display_name, batch=1)
    feed = feed_for(shapes)
    args = tuple(torch.from_numpy(feed[spec.name]) for spec in model.inputs)
    try:
        with torch.inference_mode():
            traced = torch.jit.trace(model.module, args, check_trace=False)
    except Exception as exc:
        raise WorkbenchError(
            f"{model.display_name}: the quantized model cannot be saved as TorchScript ({exc})"
        ) from exc
    buffer = io.BytesIO()
    torch.jit.save(traced, buffer)
    return buffer.getvalue()
