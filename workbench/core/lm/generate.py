"""Greedy generation for a language model in PyTorch or ONNX Runtime.

There is no KV cache (the exported graphs have none): every step runs the whole
prefix, cut to the model's context window, and appends the argmax of the last
position's logits. So a step's cost grows with the prefix, and tokens/s measured here
is for full-prefix recomputation, not cached decoding.

An ONNX file whose sequence axis is fixed (length L) is fed windows of exactly L: the
ids go first and the rest is padding on the right, and the next token is read at the
last real position. For a causal model that is exact: position i attends only to
positions <= i, so padding after the real tokens cannot change their logits, and the
real tokens keep their positions 0..n-1 (padding on the left would shift them and be
attended to, with no mask to hide it).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

# Inputs besides the ids that generation knows how to fill (Hugging Face exports).
MASK, POSITIONS = "attention_mask", "position_ids"


class CausalLM(Protocol):
    """A model that maps ids (B, T) to the argmax next token of each row."""

    runtime: str
    where: str  # device or provider, for the record
    window: int | None  # the most tokens one forward takes; None: no known limit
    batch: int | None  # a batch size the model fixes; None: any

    def next_tokens(self, ids: np.ndarray) -> np.ndarray: ...


class TorchLM:
    """A torch module (ids -> logits, a tuple or a ``.logits`` output) on one device."""

    runtime = "torch"
    batch = None

    def __init__(
        self,
        module: Any,
        device: str = "cpu",
        window: int | None = None,
        threads: int | None = None,
    ) -> None:
        from workbench.core.device import resolve_device
        from workbench.core.measure.runners import TorchRunner

        runner = TorchRunner(module, ["input_ids"], resolve_device(device))  # copies if moved
        self.module, self.device, self.where = runner.module, runner.device, runner.where
        self.module.eval()
        self.window = window or model_context(self.module)
        self.threads = threads  # intra-op threads while it runs; None: torch's setting

    def next_tokens(self, ids: np.ndarray) -> np.ndarray:
        import torch

        from workbench.core.measure.runners import torch_threads
        from workbench.core.torch_tracing import TRACING

        ids = np.array(ids, dtype=np.int64)  # a writable copy: torch refuses read-only arrays
        # Not while another thread traces (a graph being built): its fake-tensor mode
        # would catch this forward.
        with TRACING, torch_threads(self.threads), torch.inference_mode():
            out = self.module(input_ids=torch.from_numpy(ids).to(self.device))
            logits = _logits_of(out)
            return logits[:, -1].argmax(-1).cpu().numpy()


class OrtLM:
    """An ONNX Runtime session whose first output is the logits (B, T, V)."""

    runtime = "ort"

    def __init__(self, session: Any, window: int | None = None, pad_id: int = 0) -> None:
        self.session = session
        self.where = session.get_providers()[0]
        inputs = {i.name: i for i in session.get_inputs()}
        self.ids_name = "input_ids" if "input_ids" in inputs else next(iter(inputs))
        unknown = sorted(set(inputs) - {self.ids_name, MASK, POSITIONS})
        if unknown:
            raise WorkbenchError(
                f"the model takes inputs generation does not fill: {', '.join(unknown)} "
                "(export it without a KV cache)"
            )
        self.extra = [name for name in (MASK, POSITIONS) if name in inputs]
        shape = list(inputs[self.ids_name].shape)
        if len(shape) != 2:
            raise WorkbenchError(
                f"input {self.ids_name!r} has {len(shape)} dimensions; a language model "
                "takes ids of shape (batch, sequence)"
            )
        self.batch = shape[0] if isinstance(shape[0], int) and shape[0] > 0 else None
        self.fixed = shape[1] if isinstance(shape[1], int) and shape[1] > 0 else None
        self.window = self.fixed or window
        self.pad_id = pad_id

    def next_tokens(self, ids: np.ndarray) -> np.ndarray:
        rows, length = ids.shape
        if self.batch is not None and rows != self.batch:
            raise WorkbenchError(
                f"the model fixes the batch at {self.batch}; batch {rows} needs a model "
                "exported with a dynamic batch"
            )
        real = np.ones((rows, length), dtype=np.int64)
        if self.fixed is not None and length < self.fixed:  # right padding: see the module doc
            pad = np.full((rows, self.fixed - length), self.pad_id, dtype=np.int64)
            ids = np.concatenate([ids, pad], axis=1)
            real = np.concatenate([real, np.zeros_like(pad)], axis=1)
        feed = {self.ids_name: np.ascontiguousarray(ids, dtype=np.int64)}
        if MASK in self.extra:
            feed[MASK] = real
        if POSITIONS in self.extra:
            feed[POSITIONS] = np.broadcast_to(np.arange(ids.shape[1]), ids.shape).copy()
        logits = self.session.run(None, feed)[0]
        if logits.ndim != 3:
            raise WorkbenchError(
                f"the model's first output has shape {logits.shape}; generation needs "
                "next-token logits (batch, sequence, vocabulary)"
            )
        return logits[:, length - 1].argmax(-1)


def lm_for(
    loaded: LoadedModel,
    runtime: str = "auto",
    *,
    device: str = "cpu",
    window: int | None = None,
    threads: int | None = None,
    label: str | None = None,
) -> CausalLM:
    """``loaded`` ready to generate on ``runtime`` (auto: torch for PyTorch models, ort
    for ONNX files; PyTorch models are exported for ort as benchmarks do). ``threads``:
    intra-op threads (None: the runtime's default)."""
    label = label or loaded.display_name
    if runtime == "auto":
        runtime = "torch" if loaded.module is not None else "ort"
    if runtime == "torch":
        if loaded.module is None:
            raise WorkbenchError(f"{label} is an ONNX model; it generates on ONNX Runtime only")
        return TorchLM(loaded.module, device, window, threads)
    if runtime != "ort":
        raise WorkbenchError(f"unknown runtime {runtime!r} (use torch or ort)")
    from workbench.core.measure.runners import make_runner

    runner = make_runner(loaded, "ort", label=label, device=device, threads=threads)
    return OrtLM(runner.session, window or model_context(loaded.module))


def model_context(module: Any) -> int | None:
    """The longest input a torch LM takes: tiny_lm's ``context``, a transformers
    config's ``n_positions`` / ``max_position_embeddings``; None if it does not say."""
    if module is None:
        return None
    context = getattr(module, "context", None)
    config = getattr(module, "config", None)
    for value in (
        context,
        getattr(config, "n_positions", None),
        getattr(config, "max_position_embeddings", None),
    ):
        if isinstance(value, int) and value > 0:
            return value
    return None


@dataclass
class Generation:
    """The new tokens of every row and how long the loop took."""

    tokens: np.ndarray  # (B, steps) int64; a row that ended is filled with the end id
    seconds: float
    end_id: int | None = None

    @property
    def steps(self) -> int:
        return int(self.tokens.shape[1])

    @property
    def tokens_per_s(self) -> float:
        """New tokens over all rows per second (full-prefix recomputation: no KV cache)."""
        count = self.tokens.size
        return count / self.seconds if self.seconds > 0 else float("nan")

    def row(self, index: int = 0) -> list[int]:
        """Row ``index``'s new tokens, up to (not including) its end token."""
        out = [int(t) for t in self.tokens[index]]
        if self.end_id is not None and self.end_id in out:
            out = out[: out.index(self.end_id)]
        return out


def greedy_generate(
    lm: CausalLM,
    prompt: Sequence[int] | np.ndarray,
    max_new_tokens: int,
    *,
    end_id: int | None = None,
    ctx: RunContext | None = None,
) -> Generation:
    """Append the argmax token ``max_new_tokens`` times, or until every row has produced
    ``end_id``. ``prompt``: ids (T,) or (B, T); cancellable between steps."""
    ctx = ctx or RunContext()
    ids = np.asarray(prompt, dtype=np.int64)
    ids = ids[None] if ids.ndim == 1 else ids
    if ids.ndim != 2 or ids.shape[1] == 0:
        raise WorkbenchError("the prompt is empty: type some text to continue")
    if max_new_tokens < 1:
        raise WorkbenchError(f"max new tokens must be at least 1, not {max_new_tokens}")
    done = np.zeros(len(ids), dtype=bool)
    new: list[np.ndarray] = []
    start = time.perf_counter()
    for step in range(max_new_tokens):
        ctx.check()
        window = ids[:, -lm.window :] if lm.window else ids
        token = np.asarray(lm.next_tokens(window), dtype=np.int64)
        if end_id is not None:
            token = np.where(done, end_id, token)
            done |= token == end_id
        new.append(token)
        ids = np.concatenate([ids, token[:, None]], axis=1)
        ctx.report((step + 1) / max_new_tokens, f"token {step + 1} of {max_new_tokens}")
        if done.all():
            break
    seconds = time.perf_counter() - start
    return Generation(np.stack(new, axis=1), seconds, end_id)


def _logits_of(out: Any) -> Any:
    logits = getattr(out, "logits", None)
    if logits is None:
        logits = out[0] if isinstance(out, (tuple, list)) else out
    if getattr(logits, "ndim", 0) != 3:
        raise WorkbenchError(
            f"the model's output has shape {tuple(getattr(logits, 'shape', ()))}; generation "
            "needs next-token logits (batch, sequence, vocabulary)"
        )
    return logits
