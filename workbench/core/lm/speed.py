"""How fast a language model reads a prompt and writes tokens: prefill latency, decode
tokens/s and peak memory, at each batch size.

- prefill: one forward of a ``prompt_tokens``-long prompt (the median of timed runs
  after warm-up, as ``core.measure.latency`` times any model);
- decode: the greedy loop of ``core.lm.generate`` writing ``new_tokens`` after that
  prompt, never stopping early, timed ``rounds`` times; tokens/s = batch x new tokens /
  seconds, the median round reported with the range. There is no KV cache, so every
  step recomputes the whole prefix: these are full-prefix-recomputation figures;
- peak memory: on CUDA with PyTorch, ``torch.cuda.max_memory_allocated`` over the
  decode; on the CPU, growth of the process's peak resident memory over the decode
  (Linux resets the peak first; elsewhere it is the process's lifetime peak). ONNX
  Runtime's CUDA arena is invisible to both, so it is left unmeasured and said so.
"""

from __future__ import annotations

import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.lm.generate import CausalLM, greedy_generate
from workbench.core.measure.generation import GenerationPoint, GenerationReport
from workbench.core.measure.latency import PeakMemory, time_runs
from workbench.core.measure.spread import UNSTEADY_SPREAD

PROMPT_TOKENS = 32
NEW_TOKENS = 32
ROUNDS = 3
NO_CACHE_NOTE = "no KV cache: each new token recomputes the whole prefix"


@dataclass
class LMSpeed:
    """Prefill and decode figures of one model at one batch size."""

    runtime: str
    where: str
    batch: int
    prompt_tokens: int
    new_tokens: int
    prefill_ms: float
    tokens_per_s: float  # the median round's
    rounds: list[float] = field(default_factory=list)  # tokens/s of each round
    peak_memory_bytes: int | None = None
    memory_note: str = ""

    @property
    def spread(self) -> float | None:
        """max/min - 1 over the rounds; above ``UNSTEADY_SPREAD`` the figure is unsteady."""
        return max(self.rounds) / min(self.rounds) - 1 if len(self.rounds) > 1 else None

    @property
    def unsteady(self) -> bool:
        return self.spread is not None and self.spread > UNSTEADY_SPREAD

    def to_json(self) -> dict[str, Any]:
        return {**asdict(self), "spread": self.spread, "unsteady": self.unsteady}


def generation_report(
    lm: CausalLM, speeds: Sequence[LMSpeed], threads: int | None = None
) -> GenerationReport:
    """``speeds`` of ``lm`` as a variant keeps them (``Metrics.generation``)."""
    device = getattr(lm, "device", None)
    notes = {s.memory_note for s in speeds if s.memory_note}
    return GenerationReport(
        runtime=lm.runtime,
        provider=str(lm.where),
        threads=threads,
        device=str(device) if device is not None else None,
        memory_note="; ".join(sorted(notes)),
        note=NO_CACHE_NOTE,
        points=[
            GenerationPoint(
                batch=s.batch,
                prompt_tokens=s.prompt_tokens,
                new_tokens=s.new_tokens,
                prefill_ms=s.prefill_ms,
                tokens_per_s=s.tokens_per_s,
                rounds=list(s.rounds),
                peak_memory_bytes=s.peak_memory_bytes,
            )
            for s in speeds
        ],
    )


def speed_prompt(ids: Sequence[int], length: int = PROMPT_TOKENS) -> np.ndarray:
    """``ids`` repeated or cut to ``length`` tokens, so every model is timed on one length."""
    if not len(ids):
        raise WorkbenchError("the prompt is empty: type some text to continue")
    return np.resize(np.asarray(ids, dtype=np.int64), length)


def measure_lm_speed(
    lm: CausalLM,
    prompt: Sequence[int],
    *,
    batches: Sequence[int] = (1, 8),
    new_tokens: int = NEW_TOKENS,
    rounds: int = ROUNDS,
    ctx: RunContext | None = None,
) -> list[LMSpeed]:
    """Prefill and decode figures at each batch (every row holds ``prompt``)."""
    ctx = ctx or RunContext()
    if rounds < 1:
        raise WorkbenchError("at least one round is needed")
    prompt_ids = np.asarray(prompt, dtype=np.int64)
    results = []
    for index, batch in enumerate(batches):
        ids = np.tile(prompt_ids, (int(batch), 1))
        span = (index / len(batches), (index + 1) / len(batches))
        message = f"batch {batch}: prefill"
        ctx.report(span[0], message)
        prefill = time_runs(
            lm.next_tokens, ids, warmup=2, runs=5, seconds=0.2, ctx=ctx, message=message
        )
        per_round, peak, note = _decode_rounds(lm, ids, new_tokens, rounds, ctx, batch)
        results.append(
            LMSpeed(
                runtime=lm.runtime,
                where=str(lm.where),
                batch=int(batch),
                prompt_tokens=int(ids.shape[1]),
                new_tokens=new_tokens,
                prefill_ms=statistics.median(prefill) * 1000,
                tokens_per_s=statistics.median(per_round),
                rounds=per_round,
                peak_memory_bytes=peak,
                memory_note=note,
            )
        )
    return results


def _decode_rounds(
    lm: CausalLM, ids: np.ndarray, new_tokens: int, rounds: int, ctx: RunContext, batch: int
) -> tuple[list[float], int | None, str]:
    """Tokens/s of each round, and the peak memory over them with what it means."""
    cuda = lm.runtime == "torch" and getattr(getattr(lm, "device", None), "type", "") == "cuda"
    if cuda:
        import torch

        torch.cuda.synchronize(lm.device)
        torch.cuda.reset_peak_memory_stats(lm.device)
        before = torch.cuda.memory_allocated(lm.device)
    elif lm.runtime == "ort" and "CPU" not in str(lm.where):
        before = 0
    else:
        before = _resident_bytes()
    per_round = []
    with PeakMemory() as peak:
        for number in range(rounds):
            ctx.report(None, f"batch {batch}: decoding, round {number + 1} of {rounds}")
            per_round.append(greedy_generate(lm, ids, new_tokens, ctx=ctx).tokens_per_s)
    if cuda:
        growth = torch.cuda.max_memory_allocated(lm.device) - before
        return per_round, int(growth), "CUDA memory allocated by PyTorch above what it held"
    if lm.runtime == "ort" and "CPU" not in str(lm.where):
        return per_round, None, "not measured: ONNX Runtime's GPU memory is not visible here"
    if peak.peak_bytes is None or before is None:
        return per_round, None, "not measured: this system reports no peak memory"
    scope = "over the decode" if peak.scope == "measurement" else "over the process's life"
    return per_round, max(0, peak.peak_bytes - before), f"growth of peak resident memory {scope}"


def _resident_bytes() -> int | None:
    """The process's resident memory now (Linux), to subtract from the peak."""
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError, IndexError):
        return None
    return None
