"""A language model's generation speed measured the way a variant keeps it: what
``compare --measure`` and the Compare tab's Generation page store beside latency.

Every model is timed on one prompt length, on one runtime (ONNX Runtime unless asked:
a PyTorch FP32 variant is exported, so it and its INT4 child compare on equal terms).
"""

from __future__ import annotations

from collections.abc import Sequence

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.lm.codec import codec_for
from workbench.core.lm.generate import lm_for
from workbench.core.lm.speed import (
    NEW_TOKENS,
    PROMPT_TOKENS,
    generation_report,
    measure_lm_speed,
    speed_prompt,
)
from workbench.core.measure.generation import GenerationReport

LM_TASK = "language-modeling"
# What every model reads before it is timed (cut or repeated to PROMPT_TOKENS tokens).
SPEED_TEXT = "Return the number of items in the list, or raise an error if it is empty."
SPEED_BATCHES = (1, 8)
CAUSAL_ARCHITECTURES = ("ForCausalLM", "LMHeadModel")


def is_causal_lm(loaded: LoadedModel) -> bool:
    """A model that writes text: one meant for a language-modelling dataset (tiny_lm on
    stdlib-text), or a Hugging Face decoder with a language-model head."""
    from workbench.core.catalogue import get_registry

    entry = get_registry().datasets.get(loaded.dataset or "")
    if entry is not None:
        return entry.task == LM_TASK
    if loaded.tokenizer is None:
        return False
    return any(str(name).endswith(CAUSAL_ARCHITECTURES) for name in _architectures(loaded))


def _architectures(loaded: LoadedModel) -> list[str]:
    """``config.architectures`` of a Hugging Face model (its wrapper's inner model), or
    of the config.json beside the tokenizer a derived ONNX variant keeps."""
    import json

    module = loaded.module
    config = getattr(module, "config", None) or getattr(getattr(module, "model", None),
                                                          "config", None)  # fmt: skip
    if config is not None:
        return list(getattr(config, "architectures", None) or [])
    path = loaded.tokenizer / "config.json" if loaded.tokenizer else None
    try:
        data = json.loads(path.read_text(encoding="utf-8")) if path else {}
    except (OSError, ValueError):
        return []
    names = data.get("architectures") if isinstance(data, dict) else None
    return [str(n) for n in names] if isinstance(names, list) else []


def measure_generation(
    loaded: LoadedModel,
    *,
    dataset: str | None = None,
    runtime: str = "ort",
    device: str = "cpu",
    threads: int | None = None,
    batches: Sequence[int] = SPEED_BATCHES,
    new_tokens: int = NEW_TOKENS,
    rounds: int = 3,
    ctx: RunContext | None = None,
) -> GenerationReport:
    """Prefill and decode tokens/s of ``loaded`` at each batch (those it can take);
    ``dataset`` (else the model's own) or its tokenizer folder reads the prompt."""
    label = loaded.display_name
    codec = codec_for(dataset or loaded.dataset, loaded.tokenizer, label=label)
    lm = lm_for(loaded, runtime, device=device, threads=threads, label=label)
    if lm.batch is not None:  # an export that fixes its batch runs at that batch only
        batches = [lm.batch]
    length = min(PROMPT_TOKENS, lm.window - 1) if lm.window else PROMPT_TOKENS
    if length < 1:
        raise WorkbenchError(f"{label}: its context window is too short to generate")
    prompt = speed_prompt(codec.encode(SPEED_TEXT), length)
    speeds = measure_lm_speed(
        lm, prompt, batches=batches, new_tokens=new_tokens, rounds=rounds, ctx=ctx
    )
    return generation_report(lm, speeds, threads)
