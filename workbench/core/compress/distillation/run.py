"""One distillation: build the student, train it on the Trainer with the teacher's loss,
optionally train the same student without the teacher (the baseline), measure all three.

The ``RunContext`` may carry ``data`` (a dataset or a name), ``listener``, ``run_dir``
(checkpoints of each training, in ``distill/`` and ``baseline/`` below it) and
``resume``: continue an interrupted run from those checkpoints. The student is built
again from the same seed, and each training resumes where its checkpoint stopped (a
baseline that had not started yet starts then), so on the CPU the result equals the
uninterrupted run's.

Listeners get ``(phase, event)``: phase ``"distill"`` or ``"baseline"`` with the
Trainer's own events, ``LossParts`` per distillation step, and one ``TeacherScore``
(whose ``warning`` says when the teacher is near chance; the notes keep it too).
"""

from __future__ import annotations

import copy
import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.compress.distillation.resume import BASELINE_DIR, DISTILL_DIR, check_resume
from workbench.core.compress.distillation.students import (
    build_student,
    example_input,
    measure_pair,
    student_model,
)
from workbench.core.context import Cancelled, RunContext
from workbench.core.device import resolve_device
from workbench.core.errors import DataError, WorkbenchError
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.inputs import data_for
from workbench.core.train import Trainer
from workbench.core.train.checkpoints import CHECKPOINT_NAME
from workbench.core.train.config import AugmentConfig, TrainConfig
from workbench.core.train.setup import evaluate, stacked_inputs

PhaseListener = Callable[[str, Any], None]


@dataclass(frozen=True)
class LossParts:
    """The parts of one distillation step's loss (the Trainer's Step has the total)."""

    step: int
    hard: float  # cross-entropy on the labels
    soft: float  # T²-scaled KL to the teacher
    hint: float  # feature hint MSE (0 without hints)
    alpha: float


CHANCE_MARGIN = 0.05  # a teacher within 5 points of guessing has little to teach


@dataclass(frozen=True)
class TeacherScore:
    accuracy: float  # on the validation split
    loss: float
    num_classes: int = 0  # of the dataset; 0 when unknown

    @property
    def warning(self) -> str | None:
        """Said when the teacher scores near chance (an untrained or wrong-data teacher)."""
        return chance_warning(self.accuracy, self.num_classes)


def chance_warning(accuracy: float, num_classes: int) -> str | None:
    """A warning when ``accuracy`` is within ``CHANCE_MARGIN`` of guessing among
    ``num_classes``; None otherwise."""
    if num_classes < 2:
        return None
    chance = 1.0 / num_classes
    if accuracy > chance + CHANCE_MARGIN:
        return None
    return (
        f"the teacher scores {accuracy:.1%} on the validation split, near chance "
        f"({chance:.1%} for {num_classes} classes): is it trained, and on this data? "
        "A student learns little from it"
    )


@dataclass
class Distilled:
    """What a run made: the student, its training, the baseline's, the figures."""

    student: LoadedModel
    result: Any  # TrainResult of the distillation
    baseline: Any  # TrainResult without the teacher, or None
    metrics: dict[str, Any]
    notes: list[str] = field(default_factory=list)


def resolve_data(model: LoadedModel, config: DistillConfig, ctx: RunContext) -> Any:
    """``config.data``, else ``ctx.data`` (a dataset or a name), else the model's; a
    dataset already read into ``ctx.data`` (texts read with the command's column
    options) is ``config.data`` itself and is used as it is."""

    already_read = hasattr(ctx.data, "x_train")
    spec = ctx.data if already_read else (config.data or ctx.data or model.dataset)
    if spec is None:
        raise DataError(
            f"distillation needs labelled data: {model.display_name} names no dataset; "
            "set data (--data NAME|PATH)"
        )
    dataset = (
        spec
        if hasattr(spec, "x_train")
        else data_for(model, str(spec), seed=config.seed, text_options=ctx.text)
    )
    if stacked_inputs(dataset) and config.hint_pairs:
        raise DataError(
            "hints (hint_layers) are for image models; distil a text model from its logits alone"
        )
    if dataset.task not in ("classification", "language-modeling"):
        raise DataError(
            "distillation needs a classification or language-modeling dataset, not "
            f"{dataset.task!r}"
        )
    if config.train_samples and config.train_samples < dataset.num_train:
        import numpy as np

        rng = np.random.default_rng(config.seed)
        keep = np.sort(rng.choice(dataset.num_train, config.train_samples, replace=False))
        dataset = dataclasses.replace(
            dataset, x_train=dataset.x_train[keep], y_train=dataset.y_train[keep]
        )
    return dataset


def train_config(config: DistillConfig, device: str) -> Any:

    augment = AugmentConfig(crop_padding=2, hflip=True) if config.augment else AugmentConfig()
    return TrainConfig(
        optimizer="adamw",
        lr=config.lr,
        weight_decay=5e-4,
        schedule="one-cycle",
        epochs=config.epochs,
        batch_size=config.batch_size,
        seed=config.seed,
        device=device,
        augment=augment,
    ).validate()


def distill(
    teacher: LoadedModel,
    config: DistillConfig,
    ctx: RunContext | None = None,
    *,
    listener: PhaseListener | None = None,
) -> Distilled:
    """Distil ``teacher`` (unchanged) into the student ``config.student`` names."""
    import torch

    ctx = ctx or RunContext()
    listener = listener or ctx.listener or (lambda phase, event: None)
    check_resume(config, ctx)
    dataset = resolve_data(teacher, config, ctx)
    device = resolve_device(ctx.device)
    notes: list[str] = []
    ctx.report(None, "building the student")
    stacked = stacked_inputs(dataset)  # texts: ids and masks on axis 1
    student = build_student(
        teacher,
        config.student,
        init=config.init,
        seed=config.seed,
        example=example_input(teacher, dataset),
        num_classes=dataset.num_classes,
        trusted=ctx.trust,
        round_to=config.round_to,
        stacked=stacked,
        drop_blocks=config.drop_blocks,
        dataset=dataset,
        ctx=ctx,
    )
    notes += student.notes
    teacher_module = copy.deepcopy(teacher.module).to(device).eval()
    if stacked:
        from workbench.core.compress.distillation.loss import StackedInputs

        teacher_module = StackedInputs(teacher_module)
    for p in teacher_module.parameters():
        p.requires_grad_(False)
    ctx.check()
    ctx.report(None, "scoring the teacher")

    x_val = torch.as_tensor(dataset.x_val.copy()).to(device)
    y_val = torch.as_tensor(dataset.y_val.copy()).to(device)
    teacher_loss, teacher_acc = evaluate(teacher_module, x_val, y_val, 512, _no_autocast)
    score = TeacherScore(teacher_acc, teacher_loss, dataset.num_classes)
    listener("distill", score)
    if score.warning:
        notes.append(score.warning)
    tcfg = train_config(config, str(device))
    share = (0.0, 0.5) if config.baseline else (0.0, 0.9)
    # The Trainer trains copies, so student.module keeps its first weights for the baseline.
    result, cached = _train_distilled(
        student.module, teacher_module, dataset, config, tcfg, ctx, listener, notes, share
    )
    baseline = None
    if config.baseline:
        baseline = _train(student.module, dataset, tcfg, ctx, "baseline", listener, (0.5, 0.9))
    model = _student_model(teacher, student, result.model)
    metrics = _metrics(teacher, model, result, baseline, teacher_acc, config, ctx)
    if getattr(dataset, "task", None) == "language-modeling":
        metrics.update(_perplexities(teacher_loss, result, baseline))
    metrics["teacher_cached"] = cached
    metrics["student_kind"] = student.kind  # "pruned": save with its layer shapes
    notes += [n for n in result.notes if n not in notes]
    model.notes.append(_summary_note(metrics))
    ctx.report(1.0, "done")
    return Distilled(model, result, baseline, metrics, notes)


def _no_autocast() -> Any:
    import contextlib

    return contextlib.nullcontext()


def _train_distilled(
    student: Any,
    teacher: Any,
    dataset: Any,
    config: DistillConfig,
    tcfg: Any,
    ctx: RunContext,
    listener: PhaseListener,
    notes: list[str],
    span: tuple[float, float],
) -> Any:
    import torch

    # Here, not at the top: loss.py imports torch at its top (nn.Module subclasses).
    from workbench.core.compress.distillation.loss import (
        DistillLoss,
        HintedStudent,
        teacher_logits,
    )

    pairs = config.hint_pairs
    wrapped = _with_hints(student, teacher, pairs, dataset) if pairs else HintedStudent(student)
    cached = None
    why_not = _why_not_cache(config) or _too_big_to_cache(dataset)
    if config.cache_teacher != "off" and why_not is None:
        ctx.report(None, "running the teacher once over the training set (cached)")
        x_train = torch.as_tensor(dataset.x_train.copy()).to(next(teacher.parameters()).device)
        cached = teacher_logits(teacher, x_train, tcfg.eval_batch_size)
        notes.append("the teacher's answers were cached once (no augmentation, no hints)")
    elif config.cache_teacher == "auto" and why_not:
        notes.append(f"teacher answers not cached: {why_not}")
    loss = DistillLoss(
        teacher,
        alpha=config.alpha,
        temperature=config.temperature,
        alpha_at=config.alpha_at if config.alpha_end is not None else None,
        cached=cached,
        tap=wrapped.tap if pairs else None,
        teacher_layers=[t for _, t in pairs],
        hint_weight=config.hint_weight,
    )

    def on_event(event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":
            loss.start(event.first_step, event.total_steps)
        elif kind == "Step":
            if not buffer:
                buffer.extend(loss.take_parts())
            if buffer:
                hard, soft, hint = buffer.pop(0)
                fraction = (event.step - 1) / max(1, loss.total_steps)
                alpha = config.alpha_at(fraction)
                listener("distill", LossParts(event.step, hard, soft, hint, alpha))
        listener("distill", event)

    buffer: list[tuple[float, float, float]] = []
    result = _run_trainer(wrapped, dataset, tcfg, ctx, on_event, span, batch_loss=loss)
    result.model = result.model.student  # unwrap: the projections were for training only
    return result, cached is not None


CACHE_LIMIT_BYTES = 256 << 20  # above this the teacher runs on each batch instead


def _too_big_to_cache(dataset: Any) -> str | None:
    """A language model's logits are one vector per token: (N, T, vocab) floats."""
    x = dataset.x_train
    per_sample = int(x[0].size) if getattr(x, "ndim", 1) > 1 else 1
    if getattr(dataset, "task", None) != "language-modeling":
        return None
    size = len(x) * per_sample * int(dataset.num_classes) * 4
    if size > CACHE_LIMIT_BYTES:
        return f"the teacher's logits for every token would take {size / 2**30:.1f} GiB"
    return None


def _why_not_cache(config: DistillConfig) -> str | None:
    if config.augment:
        return "augmentation changes the images every epoch, so the teacher must see each one"
    if config.hint_layers:
        return "feature hints need the teacher's features, so it runs every step"
    return None


def _with_hints(student: Any, teacher: Any, pairs: list, dataset: Any) -> Any:
    """A ``HintedStudent`` whose projections map each student feature to its teacher's."""
    import torch
    from torch import nn

    from workbench.core.compress.distillation.loss import HintedStudent, _grab

    s_modules, t_modules = dict(student.named_modules()), dict(teacher.named_modules())
    for s_name, t_name in pairs:
        if s_name not in s_modules:
            raise WorkbenchError(f"hint layer {s_name!r} is not a layer of the student")
        if t_name not in t_modules:
            raise WorkbenchError(f"hint layer {t_name!r} is not a layer of the teacher")
    sample = torch.as_tensor(dataset.x_val[:2].copy())
    shapes = []
    for model, modules, names in (
        (student, s_modules, [s for s, _ in pairs]),
        (teacher, t_modules, [t for _, t in pairs]),
    ):
        grabbed: list = [None] * len(names)
        handles = [modules[n].register_forward_hook(_grab(grabbed, i)) for i, n in enumerate(names)]
        was_training = model.training
        model.eval()
        with torch.no_grad():
            model(sample.to(next(model.parameters()).device))
        model.train(was_training)
        for handle in handles:
            handle.remove()
        shapes.append([tuple(g.shape) for g in grabbed])
    projections, sizes = [], []
    for (s_name, t_name), s_shape, t_shape in zip(pairs, *shapes, strict=True):
        if len(s_shape) != len(t_shape) or len(s_shape) not in (2, 4):
            raise WorkbenchError(
                f"hint {s_name}={t_name}: outputs {s_shape[1:]} and {t_shape[1:]} cannot be "
                "matched (both must be feature maps or both vectors)"
            )
        if len(s_shape) == 4:
            projections.append(nn.Conv2d(s_shape[1], t_shape[1], 1, bias=False))
            sizes.append(tuple(t_shape[2:]))
        else:
            projections.append(nn.Linear(s_shape[1], t_shape[1], bias=False))
            sizes.append(None)
    return HintedStudent(student, [s for s, _ in pairs], projections, sizes)


def _train(
    module: Any,
    dataset: Any,
    tcfg: Any,
    ctx: RunContext,
    phase: str,
    listener: PhaseListener,
    span: tuple[float, float],
) -> Any:
    return _run_trainer(module, dataset, tcfg, ctx, lambda e: listener(phase, e), span)


def _run_trainer(
    module: Any,
    dataset: Any,
    tcfg: Any,
    ctx: RunContext,
    on_event: Callable[[Any], None],
    span: tuple[float, float],
    batch_loss: Any = None,
) -> Any:

    low, high = span
    phase = "distilling" if batch_loss is not None else "baseline (no teacher)"

    def progress(fraction: float | None, message: str) -> None:
        shown = None if fraction is None else low + (high - low) * fraction
        ctx.report(shown, f"{phase}: {message}")

    sub = RunContext(device=tcfg.device, progress=progress, cancel=ctx.cancel, seed=tcfg.seed)
    # ctx.run_dir: each training keeps its epoch checkpoints in a subfolder.

    run_dir = ctx.run_dir
    if run_dir is not None:
        run_dir = Path(run_dir) / (DISTILL_DIR if batch_loss is not None else BASELINE_DIR)
    # A baseline the interrupted run never reached has no checkpoint: it starts now.
    resume = ctx.resume and run_dir is not None
    resume = resume and (run_dir / CHECKPOINT_NAME).exists()
    # ctx.control: a TrainControl the wizard's Pause/Resume buttons drive.
    trainer = Trainer(
        module, dataset, tcfg, sub, run_dir=run_dir, listeners=[on_event], batch_loss=batch_loss,
        control=ctx.control, resume=resume,
    )  # fmt: skip
    result = trainer.fit()
    if result.status == "cancelled":
        raise Cancelled("cancelled")
    return result


def _student_model(teacher: LoadedModel, student: Any, trained: Any) -> LoadedModel:

    student.module = trained
    return student_model(teacher, student)


def _metrics(
    teacher: LoadedModel,
    model: LoadedModel,
    result: Any,
    baseline: Any,
    teacher_acc: float,
    config: DistillConfig,
    ctx: RunContext,
) -> dict[str, Any]:
    ctx.report(0.92, "measuring student and teacher")
    pair = measure_pair(model, teacher, latency=config.measure, ctx=RunContext(cancel=ctx.cancel))
    ours, theirs = pair["student"], pair["teacher"]
    student_acc = result.metrics.get("val_accuracy")
    metrics: dict[str, Any] = {
        "teacher_accuracy": teacher_acc,
        "student_accuracy": student_acc,
        "teacher_parameters": theirs["parameters"],
        "student_parameters": ours["parameters"],
        "parameter_ratio": ours["parameters"] / max(1, theirs["parameters"]),
        "teacher_macs": theirs["macs"],
        "student_macs": ours["macs"],
        "teacher_size_bytes": theirs["size_bytes"],
        "student_size_bytes": ours["size_bytes"],
        "epochs": result.metrics.get("epochs"),
        "seconds": result.metrics.get("seconds"),
    }
    # The student's own figures as a benchmark stores them (latency with its conditions),
    # apart from the teacher's: compare reads these, the teacher_* ones are details.
    metrics.update(ours["measured"].to_json())
    metrics["val_accuracy"] = student_acc
    if config.measure:
        metrics["teacher_latency_ms"] = theirs["latency_ms"]
        metrics["student_latency_ms"] = ours["latency_ms"]
        metrics["latency_conditions"] = ours.get("latency_label", "")
        ratio = ours.get("speedup")
        if ratio is not None:  # the median of the interleaved rounds, and their spread
            metrics["speedup"] = ratio.median
            metrics["speedup_rounds"] = ratio.to_json()
        else:
            metrics["speedup"] = theirs["latency_ms"] / max(ours["latency_ms"], 1e-9)
    if student_acc is not None:
        metrics["gap_to_teacher_points"] = 100.0 * (teacher_acc - student_acc)
    if baseline is not None:
        base_acc = baseline.metrics.get("val_accuracy")
        metrics["baseline_accuracy"] = base_acc
        metrics["baseline_seconds"] = baseline.metrics.get("seconds")
        if base_acc is not None and student_acc is not None:
            metrics["gain_over_baseline_points"] = 100.0 * (student_acc - base_acc)
    return metrics


def _perplexities(teacher_loss: float, result: Any, baseline: Any) -> dict[str, Any]:
    """A language model is judged by perplexity (lower is better), not next-token accuracy."""
    import math

    figures = {
        "teacher_perplexity": math.exp(teacher_loss),
        "student_perplexity": result.metrics.get("val_perplexity"),
    }
    if baseline is not None:
        figures["baseline_perplexity"] = baseline.metrics.get("val_perplexity")
    return figures


def _summary_note(metrics: dict[str, Any]) -> str:
    if metrics.get("student_perplexity") is not None:
        return (
            f"distilled: perplexity {metrics['student_perplexity']:.2f} (teacher "
            f"{metrics['teacher_perplexity']:.2f}) with {metrics['parameter_ratio']:.0%} of "
            "the teacher's parameters"
        )
    text = (
        f"distilled: {metrics['student_accuracy']:.1%} (teacher {metrics['teacher_accuracy']:.1%}) "
        f"with {metrics['parameter_ratio']:.0%} of the teacher's parameters"
    )
    if "baseline_accuracy" in metrics:
        text += f"; without the teacher {metrics['baseline_accuracy']:.1%}"
    return text
