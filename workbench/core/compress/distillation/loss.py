"""The distillation loss, plugged into the Trainer as its ``batch_loss``.

loss = α·CE(student, labels) + (1 − α)·T²·KL(p_teacher^T ‖ p_student^T) + w·Σ MSE(hints)

where p^T = softmax(logits / T) (Hinton et al. 2015; the T² keeps the soft part's
gradients the same size whatever T is). Hints (FitNets) compare a student layer's
output, through a learned projection, with a teacher layer's output.

The student is trained inside ``HintedStudent``: it owns the projections (so the
Trainer's optimizer and checkpoints include them) and leaves the projected features in
a ``FeatureTap`` that survives the Trainer's deep copy, which is where the loss reads
them. The teacher stays in eval mode, with no gradients, on the loss's side.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

# nn.Module subclasses need torch when defined; this module is imported only when a
# distillation runs (the pass's apply), never to read its config.
import torch  # noqa: TID253
from torch import Tensor, nn  # noqa: TID253


def distillation_loss(
    student_logits: Tensor, teacher_logits: Tensor, labels: Tensor, alpha: float, temperature: float
) -> tuple[Tensor, Tensor, Tensor]:
    """(total, hard, soft): hard is the label cross-entropy, soft the T²-scaled KL term.

    A language model's logits (B, T, V) with labels (B, T) count every token as a sample
    (token-level KL): both terms are means over the B·T tokens.
    """
    import torch.nn.functional as F

    if student_logits.dim() == 3:
        student_logits = student_logits.flatten(0, 1)
        teacher_logits = teacher_logits.flatten(0, 1)
        labels = labels.flatten()

    hard = F.cross_entropy(student_logits, labels)
    t = temperature
    # The soft part in at least float32: half-precision softmax at T > 1 loses the tails.
    wide = torch.promote_types(student_logits.dtype, torch.float32)
    soft = F.kl_div(
        F.log_softmax(student_logits.to(wide) / t, dim=1),
        F.log_softmax(teacher_logits.to(wide) / t, dim=1),
        reduction="batchmean",
        log_target=True,
    ) * (t * t)
    return alpha * hard + (1.0 - alpha) * soft, hard, soft


class FeatureTap:
    """Where ``HintedStudent`` leaves its projected features for the loss to read.

    Shared, not copied, by ``copy.deepcopy``: the Trainer trains a deep copy of the
    model, and the loss must see that copy's features.
    """

    def __init__(self) -> None:
        self.features: list[Tensor] = []

    def __deepcopy__(self, memo: dict) -> FeatureTap:
        return self


class HintedStudent(nn.Module):
    """The student plus one projection per hint; ``forward`` returns the student's logits."""

    def __init__(
        self,
        student: nn.Module,
        layers: Sequence[str] = (),
        projections: Sequence[nn.Module] = (),
        target_sizes: Sequence[tuple[int, ...] | None] = (),
    ) -> None:
        super().__init__()
        self.student = student
        self.layers = list(layers)
        self.projections = nn.ModuleList(projections)
        self.target_sizes = list(target_sizes)
        self.tap = FeatureTap()

    def forward(self, *inputs: Tensor) -> Tensor:
        """The student's answer to ``inputs``: one image batch, or a text model's named
        inputs one by one (the Trainer unstacks a text dataset's ids and masks)."""
        if not self.layers:
            return self.student(*inputs)
        grabbed: list[Tensor | None] = [None] * len(self.layers)
        modules = dict(self.student.named_modules())
        # Hooks live only for this call, so the unwrapped student is never left hooked.
        handles = [
            modules[name].register_forward_hook(_grab(grabbed, index))
            for index, name in enumerate(self.layers)
        ]
        try:
            out = self.student(*inputs)
        finally:
            for handle in handles:
                handle.remove()
        self.tap.features = [
            _resize(proj(feature), size)
            for proj, feature, size in zip(
                self.projections, grabbed, self.target_sizes, strict=True
            )
        ]
        return out


def _grab(store: list, index: int) -> Callable:
    def hook(_module: nn.Module, _inputs: Any, output: Any) -> None:
        store[index] = output[0] if isinstance(output, (tuple, list)) else output

    return hook


def _resize(feature: Tensor, size: tuple[int, ...] | None) -> Tensor:
    """Pool a student map to the teacher's spatial size when the two differ."""
    import torch.nn.functional as F

    if size is None or feature.dim() < 3 or tuple(feature.shape[2:]) == size:
        return feature
    return F.adaptive_avg_pool2d(feature, size) if feature.dim() == 4 else feature


class StackedInputs(nn.Module):
    """A text model called the way the distillation code calls an image model: with one
    tensor that holds its inputs on axis 1 (a text dataset's ids, mask, ...), answering
    with its logits. The teacher is wrapped in it; the student is trained by the Trainer,
    which unstacks the inputs itself."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: Tensor) -> Tensor:
        from workbench.core.train.setup import forward

        return forward(self.inner, x, stacked=True)


class DistillLoss:
    """``batch_loss(outputs, xb, yb, idx) -> loss`` for the Trainer.

    ``cached`` holds the teacher's logits for every training sample (indexed by
    ``idx``); without it the teacher runs on each batch as the student sees it. The
    per-step parts (hard, soft, hint) are kept detached and read in one go by
    ``take_parts`` when the Trainer reports its steps.
    """

    def __init__(
        self,
        teacher: nn.Module,
        *,
        alpha: float,
        temperature: float,
        alpha_at: Callable[[float], float] | None = None,
        cached: Tensor | None = None,
        tap: FeatureTap | None = None,
        teacher_layers: Sequence[str] = (),
        hint_weight: float = 1.0,
    ) -> None:
        self.teacher = teacher.eval()
        self.alpha = alpha
        self.temperature = temperature
        self.alpha_at = alpha_at
        self.cached = cached
        self.tap = tap
        self.hint_weight = hint_weight
        self.step = 0
        self.total_steps = 1
        self._pending: list[Tensor] = []
        self._teacher_features: list[Tensor | None] = [None] * len(teacher_layers)
        modules = dict(teacher.named_modules())
        for index, name in enumerate(teacher_layers):
            modules[name].register_forward_hook(_grab(self._teacher_features, index))

    def start(self, first_step: int, total_steps: int) -> None:
        """Called on the Trainer's ``Started`` event (a resumed run starts later)."""
        self.step, self.total_steps = first_step, max(1, total_steps)
        self._pending.clear()

    def __call__(self, outputs: Tensor, xb: Tensor, yb: Tensor, idx: Tensor) -> Tensor:
        alpha = self.alpha_at(self.step / self.total_steps) if self.alpha_at else self.alpha
        self.step += 1
        if self.cached is not None:
            teacher_logits = self.cached[idx.to(self.cached.device)]
        else:
            with torch.no_grad():
                teacher_logits = self.teacher(xb)
        loss, hard, soft = distillation_loss(outputs, teacher_logits, yb, alpha, self.temperature)
        hint = torch.zeros((), device=outputs.device)
        if self.tap is not None and self._teacher_features:
            for student_feature, teacher_feature in zip(
                self.tap.features, self._teacher_features, strict=True
            ):
                hint = hint + nn.functional.mse_loss(student_feature, teacher_feature.detach())
            loss = loss + self.hint_weight * hint
        self._pending.append(torch.stack([hard.detach(), soft.detach(), hint.detach()]).float())
        return loss

    def take_parts(self) -> list[tuple[float, float, float]]:
        """(hard, soft, hint) of the steps since the last call, oldest first."""
        if not self._pending:
            return []
        values = torch.stack(self._pending).tolist()
        self._pending.clear()
        return [tuple(v) for v in values]  # type: ignore[misc]


def teacher_logits(teacher: nn.Module, x: Tensor, batch_size: int = 512) -> Tensor:
    """The teacher's logits for every sample of ``x`` (eval mode), on ``x``'s device."""
    teacher.eval()
    parts = []
    with torch.inference_mode():
        for start in range(0, len(x), batch_size):
            parts.append(teacher(x[start : start + batch_size]).float())
    return torch.cat(parts).clone()  # a normal tensor, usable outside inference mode
