"""A language model's figures before and after quantization: perplexity on validation
windows (``core.lm.perplexity``, ORT or torch as the model is), for models whose
dataset task is language modeling, where top-1 means little."""

from __future__ import annotations

from typing import Any

from workbench.core.io.loaded import LoadedModel

LM_TASK = "language-modeling"
PERPLEXITY_WINDOWS = 256  # validation windows scored per model (all when fewer)


def is_language_model_data(dataset: Any) -> bool:
    return getattr(dataset, "task", None) == LM_TASK


def validation_windows(dataset: Any, count: int = PERPLEXITY_WINDOWS) -> tuple[Any, Any]:
    """The first ``count`` validation windows and their next-token labels (training
    windows when the split has no validation part)."""
    x, y = (
        (dataset.x_val, dataset.y_val) if len(dataset.x_val) else (dataset.x_train, dataset.y_train)
    )
    return x[:count], y[:count]


def ort_session(proto: Any, device: str = "cpu") -> Any:
    import onnxruntime as ort

    from workbench.core.measure.providers import providers_for, quiet_session_options

    options = quiet_session_options(spin=False)
    return ort.InferenceSession(
        proto.SerializeToString(), options, providers=providers_for(device or "cpu")
    )


def perplexity(model: LoadedModel, dataset: Any, *, device: str = "cpu",
               count: int = PERPLEXITY_WINDOWS) -> float:  # fmt: skip
    """``model``'s perplexity on ``count`` validation windows of ``dataset``."""
    from workbench.core.lm.perplexity import ort_perplexity, torch_perplexity

    x, y = validation_windows(dataset, count)
    if model.onnx_model is not None:
        return ort_perplexity(ort_session(model.onnx_model, device), x, y)
    return torch_perplexity(model.module, x, y)
