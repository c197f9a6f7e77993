"""Students: a smaller zoo architecture, a pruned copy of the teacher, or a user factory,
started from scratch or from the teacher's weights where the shapes allow; and the
figures (parameters, MACs, latency) shown before anything is trained."""

from __future__ import annotations

import copy
import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from workbench.core.catalogue import get_registry
from workbench.core.compress.pruning.layers import kept_at_least_a_multiple
from workbench.core.errors import WorkbenchError
from workbench.core.io.arch import build_arch
from workbench.core.io.arch_ref import parse_arch
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.measure.before_after import measure_before_after
from workbench.core.measure.options import MeasureOptions
from workbench.core.zoo import parse_zoo_ref


@dataclass
class Student:
    module: Any  # a fresh nn.Module (never one of the teacher's)
    kind: str  # "zoo", "pruned", "factory" or "variant"
    arch: str | None  # how to rebuild it (a pruned copy: the teacher's, with its own shapes)
    description: str  # "resnet_shapes:width=0.5", "teacher with 50% of channels pruned"
    notes: list[str] = field(default_factory=list)


def build_student(
    teacher: LoadedModel,
    spec: str,
    *,
    init: str = "teacher",
    seed: int = 0,
    example: Any = None,
    num_classes: int | None = None,
    trusted: bool = False,
    round_to: int = 1,
    stacked: bool = False,
    drop_blocks: int = 0,
    dataset: Any = None,
    ctx: Any = None,
) -> Student:
    """The student ``spec`` names (see ``DistillConfig.student``); ``teacher`` is unchanged.

    ``trusted``: the spec was typed by the user (or comes from a file they trusted), so a
    ``module:factory`` in it may be imported; a zoo student needs no trust. ``round_to``:
    a pruned copy's channel counts are multiples of it. ``stacked``: ``example`` holds a
    text model's inputs on axis 1 (ids, mask, ...). ``drop_blocks``: a pruned copy also
    loses that many blocks, ranked on ``dataset`` before its channels are pruned.
    """
    spec = spec.strip()
    if stacked and not is_variant_spec(spec):
        raise WorkbenchError(
            f"student {spec!r}: a text model's student is a model folder (a smaller "
            "Hugging Face model, or a variant made from the teacher, e.g. by workbench "
            "prune), not a pruned: copy or a zoo architecture"
        )
    if spec.startswith("pruned:"):
        ratio = _ratio(spec)
        module = copy.deepcopy(teacher.module).cpu().eval()
        notes = []
        if drop_blocks:
            from workbench.core.compress.pruning.blocks import drop_least_important

            notes += drop_least_important(module, drop_blocks, dataset, example, ctx)
        notes += _prune_channels(module, ratio, example, round_to)
        # arch: the teacher's; its layers' pruned shapes are saved beside the weights.
        description = (
            f"teacher with {ratio * 100:.4g}% of channels pruned"
            + (f", counts multiples of {round_to}" if round_to > 1 else "")
            + (f", {drop_blocks} block(s) dropped" if drop_blocks else "")
        )
        student = Student(module, "pruned", teacher.arch, description)
        student.notes += notes
        if init == "scratch":
            _reset(module, seed)
            student.notes.append("the pruned copy's weights were re-initialised (scratch)")
        return student

    if is_variant_spec(spec):
        return _existing_student(spec, init, seed, example, num_classes, stacked)
    ref = parse_arch(spec, trusted=trusted, origin="the student")
    is_zoo = not ref.is_code
    if is_zoo and num_classes and "num_classes" not in parse_zoo_ref(spec)[1]:
        name, kwargs = parse_zoo_ref(spec)  # the student answers the data's classes
        entry_classes = get_registry().model(name).num_classes
        if num_classes != entry_classes:
            kwargs["num_classes"] = num_classes
            spec = f"zoo:{name}:" + ",".join(f"{k}={v}" for k, v in kwargs.items())
            ref = parse_arch(spec, trusted=trusted, origin="the student")
    built = build_arch(ref, seed=seed)
    kind = "zoo" if is_zoo else "factory"
    student = Student(built.module, kind, built.arch, built.arch)
    if init == "teacher":
        student.notes.append(copy_matching_weights(teacher.module, built.module))
    return student


def is_variant_spec(spec: str) -> bool:
    """A path to a model file or variant folder, rather than a zoo:, pruned: or
    module:factory name (which never name an existing file)."""
    return not spec.startswith(("zoo:", "pruned:")) and Path(spec).exists()


def _existing_student(
    spec: str, init: str, seed: int, example: Any, num_classes: int | None, stacked: bool = False
) -> Student:
    """An existing PyTorch variant (a pruned one, with its architecture) as the student:
    chaining prune -> distill. Opened weights-only, as any file is without --trust; its
    own weights are where it starts (they came from the teacher already)."""
    import torch

    from workbench.core.io import load
    from workbench.core.train.setup import forward

    loaded = load(spec)
    if loaded.module is None:
        raise WorkbenchError(
            f"{spec}: a student must be a PyTorch model to be trained, not {loaded.format.value}"
        )
    module = copy.deepcopy(loaded.module).cpu().eval()
    if example is not None and num_classes:
        with torch.no_grad():
            answers = forward(module, example, stacked).shape[-1]
        if answers != num_classes:
            raise WorkbenchError(
                f"{spec}: the student answers {answers} classes, the data has {num_classes}"
            )
    student = Student(module, "variant", loaded.arch, f"the variant {loaded.display_name}")
    if init == "scratch":
        _reset(module, seed)
        student.notes.append("the variant's weights were re-initialised (scratch)")
    else:
        student.notes.append(f"the student starts from {loaded.display_name}'s own weights")
    return student


def _reset(module: Any, seed: int) -> None:
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for layer in module.modules():
            if hasattr(layer, "reset_parameters"):
                layer.reset_parameters()


def _ratio(spec: str) -> float:
    text = spec.removeprefix("pruned:")
    try:
        ratio = float(text)
    except ValueError:
        raise WorkbenchError(f"{spec!r}: pruned:RATIO needs a number, e.g. pruned:0.5") from None
    if not 0.0 < ratio < 1.0:
        raise WorkbenchError(f"{spec!r}: the pruning ratio must be between 0 and 1")
    return ratio


def _prune_channels(module: Any, ratio: float, example: Any, round_to: int = 1) -> list[str]:
    """Remove ``ratio`` of every prunable layer's channels (Torch-Pruning, L1 magnitude),
    keeping counts multiples of ``round_to``.

    The last Linear (the classifier) keeps its outputs: the student answers the same
    classes. Dependencies (residual adds, BatchNorms) are followed by DepGraph.
    """
    import torch
    import torch_pruning as tp

    if example is None:
        raise WorkbenchError("pruning the teacher needs an example input (the data's shape)")
    linears = [m for m in module.modules() if isinstance(m, torch.nn.Linear)]
    ignored = linears[-1:]
    floors = kept_at_least_a_multiple(module, ratio, round_to, ignored=ignored)
    try:
        pruner = tp.pruner.MetaPruner(
            module,
            example,
            importance=tp.importance.GroupMagnitudeImportance(p=1),
            pruning_ratio=ratio,
            pruning_ratio_dict=floors or None,
            ignored_layers=ignored,
            round_to=round_to if round_to > 1 else None,
        )
        pruner.step()
    except Exception as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise WorkbenchError(
            f"the teacher cannot be pruned structurally ({first}); choose a zoo: student"
        ) from None
    return [f"student: {ratio * 100:.4g}% of the teacher's channels removed (Torch-Pruning, L1)"]


def copy_matching_weights(source: Any, target: Any) -> str:
    """Copy every tensor whose name and shape match; say how much of ``target`` that was."""
    import torch

    theirs = source.state_dict()
    ours = target.state_dict()
    matched = {k: v for k, v in theirs.items() if k in ours and ours[k].shape == v.shape}
    with torch.no_grad():
        target.load_state_dict({**ours, **{k: v.clone() for k, v in matched.items()}})
    total = sum(v.numel() for v in ours.values() if v.is_floating_point())
    copied = sum(v.numel() for k, v in matched.items() if v.is_floating_point())
    share = copied / total if total else 0.0
    if not matched:
        return "no layer of the student has the teacher's shape: started from scratch"
    return f"{len(matched)} tensors ({share:.0%} of the student's weights) copied from the teacher"


def student_model(teacher: LoadedModel, student: Student) -> LoadedModel:
    """The student as a ``LoadedModel`` beside its teacher (same inputs and dataset)."""
    fmt = teacher.format if student.kind == "pruned" else ModelFormat.STATE_DICT
    return dataclasses.replace(
        teacher,
        format=fmt,
        path=None,
        module=student.module,
        onnx_model=None,
        exported_program=None,
        arch=student.arch,
        file_size=0,
        inputs=list(teacher.inputs),
        notes=list(student.notes),
    )


def example_input(teacher: LoadedModel, dataset: Any) -> Any:
    """One sample batch (of 1) the models take: from the data, else the declared input."""
    import torch

    if dataset is not None and len(dataset.x_val):
        return torch.as_tensor(dataset.x_val[:1].copy())
    if teacher.inputs:
        spec: InputSpec = teacher.inputs[0]
        return torch.zeros(spec.shape, dtype=getattr(torch, spec.dtype))
    raise WorkbenchError(f"{teacher.display_name} declares no input shape and no data is given")


# Both models timed alike: PyTorch eager on one CPU thread, at the input's own batch, in
# interleaved rounds (their median ratio is the speed-up). PyTorch, not ONNX Runtime:
# every student runs in it (a factory module may not export), the wizard re-times the
# preview on each change without an export, and every figure says which runtime it is.
ROUNDS = 5
MEASURE = MeasureOptions(
    runtime="torch", device="cpu", threads=1, runs=5, seconds=0.3 / ROUNDS, warmup=3
)


def measure_pair(
    student: LoadedModel,
    teacher: LoadedModel,
    *,
    latency: bool = True,
    ctx: Any = None,
    rounds: int = ROUNDS,
) -> dict[str, dict[str, Any]]:
    """``{"student": ..., "teacher": ...}``: parameters, MACs (batch 1), weight bytes and,
    optionally, p50 latency (ms) with "latency_label" ("PyTorch eager CPU, 1 thread");
    the student's "speedup" is its ``SpeedRatio`` over the teacher, round by round;
    "measured" holds the same as ``Metrics`` (the latency with its conditions)."""
    sides = measure_before_after(
        {"student": student, "teacher": teacher},
        MEASURE,
        rounds=max(1, rounds) if latency else 0,
        ctx=ctx,
    )
    out: dict[str, dict[str, Any]] = {}
    for name, side in sides.items():
        facts, report = side.metrics.facts, side.latency
        out[name] = {
            "parameters": facts.parameters,
            "macs": facts.macs,
            "size_bytes": facts.weights_bytes,
            "measured": side.metrics,
        }
        if report is None:
            side.metrics.environment = None  # nothing was timed: no conditions to record
        else:
            out[name]["latency_ms"] = report.latency.p50_ms
            out[name]["latency_label"] = side.label()
    speedup = sides["teacher"].speedup(sides["student"])
    if speedup:
        out["student"]["speedup"] = next(iter(speedup.values()))  # the one batch timed
    return out


def describe_student(
    teacher: LoadedModel,
    spec: str,
    *,
    dataset: Any = None,
    latency: bool = True,
    ctx: Any = None,
    round_to: int = 1,
    drop_blocks: int = 0,
) -> dict[str, Any]:
    """The figures of the student ``spec`` names and of the teacher, before training.

    The wizard calls this on what the user typed in its form: their own choice, trusted.
    Blocks to drop are ranked on ``dataset`` (default: the teacher's own data).
    """
    if drop_blocks and dataset is None and teacher.dataset:
        from workbench.core.measure.inputs import data_for

        dataset = data_for(teacher, teacher.dataset)
    example = example_input(teacher, dataset)
    classes = getattr(dataset, "num_classes", None) or teacher.num_classes
    student = build_student(
        teacher, spec, init="scratch", example=example, num_classes=classes, trusted=True,
        round_to=round_to, drop_blocks=drop_blocks, dataset=dataset, ctx=ctx,
    )  # fmt: skip
    model = student_model(teacher, student)
    return {
        **measure_pair(model, teacher, latency=latency, ctx=ctx),
        "description": student.description,
    }
