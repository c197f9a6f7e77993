"""A prompt's continuation by one model, as text, with its tokens/s: what the CLI's
``generate`` prints and the Compare tab's generation preview shows per variant."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from workbench.core.context import RunContext
from workbench.core.io.loaded import LoadedModel
from workbench.core.lm.codec import TextCodec, codec_for
from workbench.core.lm.generate import CausalLM, greedy_generate, lm_for


@dataclass
class Continuation:
    text: str  # the new text only (the prompt is not repeated)
    tokens: list[int]
    tokens_per_s: float  # batch 1, full-prefix recomputation (no KV cache)
    runtime: str
    where: str
    ended: bool  # stopped at the end-of-text token rather than at max new tokens


def continue_text(
    loaded: LoadedModel,
    prompt: str,
    max_new_tokens: int,
    *,
    dataset: str | None = None,
    runtime: str = "auto",
    device: str = "cpu",
    window: int | None = None,
    threads: int | None = None,
    ctx: RunContext | None = None,
    lm: CausalLM | None = None,
    codec: TextCodec | None = None,
) -> Continuation:
    """Greedy continuation of ``prompt``; ``dataset`` (else the model's own) or the
    model's tokenizer folder reads the text. One untimed forward first, so tokens/s
    leaves out the runtime's first-call setup."""
    label = loaded.display_name
    codec = codec or codec_for(dataset or loaded.dataset, loaded.tokenizer, label=label)
    lm = lm or lm_for(loaded, runtime, device=device, window=window, threads=threads, label=label)
    ids = codec.encode(prompt)
    if ids:
        lm.next_tokens(np.asarray([ids[-lm.window :] if lm.window else ids]))  # warm-up
    result = greedy_generate(lm, ids, max_new_tokens, end_id=codec.end_id, ctx=ctx)
    tokens = result.row(0)
    return Continuation(
        text=codec.decode(tokens),
        tokens=tokens,
        tokens_per_s=result.tokens_per_s,
        runtime=lm.runtime,
        where=str(lm.where),
        ended=codec.end_id is not None and codec.end_id in result.tokens[0],
    )
