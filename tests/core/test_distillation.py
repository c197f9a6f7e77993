"""Distillation on real models and data: the loss by hand, the cache, students, the pass."""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from fixtures.trained import trained_digits_mlp

from workbench.core.compress import run_pass
from workbench.core.compress.distillation.config import DistillConfig
from workbench.core.compress.distillation.distill_pass import Distill
from workbench.core.compress.distillation.loss import DistillLoss, distillation_loss
from workbench.core.compress.distillation.run import LossParts, TeacherScore, distill
from workbench.core.compress.distillation.students import build_student
from workbench.core.config_schema import config_from_dict
from workbench.core.context import Cancelled, RunContext
from workbench.core.data.digits import load_digits
from workbench.core.errors import WorkbenchError
from workbench.core.io import load
from workbench.core.measure.runners import torch_threads
from workbench.core.train import TrainConfig, Trainer

FAST = {"epochs": 1, "batch_size": 64, "train_samples": 400, "measure": False}


@pytest.fixture(scope="module", autouse=True)
def one_torch_thread():
    """One intra-op thread: on a shared 2-core machine two spinning OpenMP threads make
    these tiny models several times slower, not faster."""
    with torch_threads(1):
        yield


@pytest.fixture(scope="module")
def teacher():
    return trained_digits_mlp()


def test_loss_equals_a_hand_computation_on_a_fixed_batch() -> None:
    student = np.array([[2.0, 0.5, -1.0], [0.1, 0.2, 0.3]])
    teacher = np.array([[1.5, 1.0, -0.5], [-1.0, 2.0, 0.0]])
    labels = np.array([0, 2])
    alpha, t = 0.3, 2.5

    def softmax(z):
        e = np.exp(z - z.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    hard = -np.mean(np.log(softmax(student)[np.arange(2), labels]))
    p_s, p_t = softmax(student / t), softmax(teacher / t)
    soft = t * t * np.mean(np.sum(p_t * (np.log(p_t) - np.log(p_s)), axis=1))
    total, got_hard, got_soft = distillation_loss(
        torch.tensor(student), torch.tensor(teacher), torch.tensor(labels), alpha, t
    )
    assert float(got_hard) == pytest.approx(hard, rel=1e-6)
    assert float(got_soft) == pytest.approx(soft, rel=1e-6)
    assert float(total) == pytest.approx(alpha * hard + (1 - alpha) * soft, rel=1e-6)
    assert soft > 0  # the two answers differ, so the KL part is not trivially zero


def test_the_loss_follows_the_alpha_schedule_and_records_its_parts() -> None:
    teacher = torch.nn.Linear(4, 3)
    config = DistillConfig(alpha=1.0, alpha_end=0.0, temperature=1.0)
    loss = DistillLoss(teacher, alpha=1.0, temperature=1.0, alpha_at=config.alpha_at)
    loss.start(first_step=0, total_steps=2)
    x, y = torch.randn(5, 4), torch.tensor([0, 1, 2, 0, 1])
    out = torch.randn(5, 3)
    first = loss(out, x, y, torch.arange(5))  # alpha 1: the label loss alone
    second = loss(out, x, y, torch.arange(5))  # alpha 0.5
    parts = loss.take_parts()
    hard, soft = parts[0][0], parts[0][1]
    assert float(first) == pytest.approx(hard, rel=1e-5)
    assert float(second) == pytest.approx(0.5 * hard + 0.5 * soft, rel=1e-5)
    assert len(parts) == 2 and loss.take_parts() == []


def test_the_trainer_hook_gets_each_batchs_training_set_indices() -> None:
    full = load_digits()
    data = dataclasses.replace(full, x_train=full.x_train[:450], y_train=full.y_train[:450])
    x = torch.as_tensor(data.x_train.copy())
    seen: list[int] = []

    def batch_loss(out, xb, yb, idx):
        assert torch.equal(x[idx], xb)  # the indices name exactly the batch trained
        seen.extend(idx.tolist())
        return torch.nn.functional.cross_entropy(out, yb)

    config = TrainConfig(epochs=2, batch_size=100, device="cpu")
    Trainer(load("zoo:digits_mlp").module, data, config, batch_loss=batch_loss).fit()
    n = data.num_train
    assert n % 100 > 1  # no 1-sample tail to drop: every sample is trained each epoch
    assert sorted(seen[:n]) == list(range(n)) and sorted(seen[n:]) == list(range(n))
    assert seen[:n] != seen[n:]  # a new order each epoch


def test_caching_teacher_answers_gives_the_same_run_as_not_caching(teacher) -> None:
    runs = {}
    for cache in ("on", "off"):
        config = DistillConfig(student="zoo:digits_mlp:hidden=32", cache_teacher=cache, **FAST)
        runs[cache] = distill(teacher, config, RunContext(device="cpu"))
    on, off = runs["on"], runs["off"]
    assert on.metrics["teacher_cached"] and not off.metrics["teacher_cached"]
    assert np.allclose(on.result.history.losses, off.result.history.losses, rtol=1e-5, atol=1e-6)
    for (name, a), (_, b) in zip(
        on.student.module.state_dict().items(), off.student.module.state_dict().items(), strict=True
    ):
        assert torch.allclose(a, b, atol=1e-5), name


def test_caching_is_refused_with_augmentation_and_skipped_in_auto(teacher) -> None:
    with pytest.raises(WorkbenchError, match="augmentation"):
        config_from_dict(DistillConfig, {"cache_teacher": "on", "augment": True})
    config = DistillConfig(student="zoo:digits_mlp:hidden=16", augment=True, **FAST)
    made = distill(teacher, config, RunContext(device="cpu"))
    assert not made.metrics["teacher_cached"]
    assert any("not cached" in note and "augmentation" in note for note in made.notes)


def test_the_pass_makes_a_student_with_its_baseline_and_leaves_the_teacher(teacher) -> None:
    before = {k: v.clone() for k, v in teacher.module.state_dict().items()}
    events: list = []
    ctx = RunContext(device="cpu", listener=lambda phase, e: events.append((phase, e)))
    config = DistillConfig(
        student="zoo:digits_mlp:hidden=32", baseline=True, **{**FAST, "measure": True}
    )
    result = run_pass(Distill, teacher, config, ctx)
    assert all(torch.equal(before[k], v) for k, v in teacher.module.state_dict().items())
    m = result.metrics
    assert m["student_parameters"] < m["teacher_parameters"]
    assert m["parameter_ratio"] == pytest.approx(m["student_parameters"] / m["teacher_parameters"])
    assert 0.0 <= m["baseline_accuracy"] <= 1.0
    assert m["gain_over_baseline_points"] == pytest.approx(
        100 * (m["student_accuracy"] - m["baseline_accuracy"])
    )
    assert m["student_latency_ms"] > 0 and m["teacher_latency_ms"] > 0
    phases = {phase for phase, _ in events}
    assert phases == {"distill", "baseline"}
    kinds = [type(e).__name__ for phase, e in events if phase == "distill"]
    assert kinds.count("LossParts") == kinds.count("Step") > 0
    (score,) = [e for _, e in events if isinstance(e, TeacherScore)]
    assert score.num_classes == 10 and score.warning is None  # a trained teacher
    assert not any("near chance" in note for note in result.notes)
    parts = [e for _, e in events if isinstance(e, LossParts)]
    assert all(math.isfinite(p.hard) and p.soft >= 0 for p in parts)
    assert result.model.arch.startswith("digits_mlp")


def test_a_pruned_student_is_smaller_and_keeps_the_teachers_weights(teacher) -> None:
    example = torch.zeros(1, 1, 8, 8)
    student = build_student(teacher, "pruned:0.5", example=example)
    params = sum(p.numel() for p in student.module.parameters())
    assert params < 0.5 * sum(p.numel() for p in teacher.module.parameters())
    assert student.module(example).shape == (1, 10)
    assert student.module is not teacher.module and student.kind == "pruned"
    zoo = build_student(teacher, "zoo:digits_mlp", init="teacher")
    theirs = teacher.module.state_dict()
    assert all(torch.equal(v, theirs[k]) for k, v in zoo.module.state_dict().items())
    with pytest.raises(WorkbenchError, match="between 0 and 1"):
        build_student(teacher, "pruned:1.5", example=example)


def test_feature_hints_train_a_projection_and_leave_a_plain_student(teacher) -> None:
    config = DistillConfig(
        student="zoo:digits_mlp:hidden=32", hint_layers=["layers.2=layers.2"], **FAST
    )
    made = distill(teacher, config, RunContext(device="cpu"))
    student = made.student.module
    assert not any(m._forward_hooks for m in student.modules())
    assert type(student).__name__ == "DigitsMLP"
    assert any("features" in note for note in made.notes)  # no cache: the teacher ran
    with pytest.raises(WorkbenchError, match="not a layer of the student"):
        distill(teacher, dataclasses.replace(config, hint_layers=["nope=layers.2"]))


def test_a_cancelled_run_raises_cancelled_and_makes_nothing(teacher) -> None:
    ctx = RunContext(device="cpu")
    ctx.cancel.cancel()
    with pytest.raises(Cancelled):
        distill(teacher, DistillConfig(student="zoo:digits_mlp:hidden=16", **FAST), ctx)


@pytest.mark.parametrize("phase", ["distill", "baseline"])
def test_an_interrupted_run_resumes_to_the_uninterrupted_result(
    teacher, tmp_path: Path, phase: str
) -> None:
    # Long enough (2 x 90 steps of 16) for a stop to land inside a training: Step events
    # arrive in batches every 50 ms, so where it lands is read from the Cancelled event.
    config = DistillConfig(student="zoo:digits_mlp:hidden=16", baseline=True, epochs=2,
                           batch_size=16, measure=False)  # fmt: skip
    whole = distill(teacher, config, RunContext(device="cpu", run_dir=tmp_path / "a"))

    folder = tmp_path / "b"
    ctx = RunContext(device="cpu", run_dir=folder)
    stopped: dict[str, int] = {}

    def stop_in_phase(event_phase: str, event) -> None:
        kind = type(event).__name__
        if event_phase == phase and kind == "Step" and event.step >= 3:
            ctx.cancel.cancel()
        elif kind == "Cancelled":
            stopped[event_phase] = event.step

    ctx.listener = stop_in_phase
    with pytest.raises(Cancelled):
        distill(teacher, config, ctx)
    (where, step), total = next(iter(stopped.items())), whole.result.metrics["steps"]
    assert 0 < step < total

    first_steps: dict[str, int] = {}

    def starts(event_phase: str, event) -> None:
        if type(event).__name__ == "Started":
            first_steps[event_phase] = event.first_step

    ctx = RunContext(device="cpu", run_dir=folder, resume=True, listener=starts)
    resumed = distill(teacher, config, ctx)
    # Each training went on from where it stopped (a finished one from its end).
    assert first_steps == (
        {"distill": step, "baseline": 0} if where == "distill" else {"distill": total, where: step}
    )
    assert resumed.result.history.losses == whole.result.history.losses
    assert resumed.baseline.history.losses == whole.baseline.history.losses
    for (name, a), (_, b) in zip(
        resumed.student.module.state_dict().items(),
        whole.student.module.state_dict().items(),
        strict=True,
    ):
        assert torch.equal(a, b), name
    assert resumed.metrics["baseline_accuracy"] == whole.metrics["baseline_accuracy"]


def test_resuming_needs_a_checkpoint_and_the_same_settings(teacher, tmp_path: Path) -> None:
    config = DistillConfig(student="zoo:digits_mlp:hidden=16", **FAST)
    resume = {"run_dir": tmp_path, "resume": True}  # RunContext fields
    with pytest.raises(WorkbenchError, match="nothing to resume"):
        distill(teacher, config, RunContext(device="cpu", **resume))
    distill(teacher, config, RunContext(device="cpu", run_dir=tmp_path))
    other = dataclasses.replace(config, alpha=0.9, epochs=2)  # epochs may change
    with pytest.raises(WorkbenchError, match=r"changed: alpha 0\.5 -> 0\.9$"):
        distill(teacher, other, RunContext(device="cpu", **resume))
    longer = distill(teacher, dataclasses.replace(config, epochs=2),
                     RunContext(device="cpu", **resume))  # fmt: skip
    assert longer.result.metrics["epochs"] == 2


def test_a_recipe_replays_a_distill_step_after_training() -> None:
    from workbench.core.recipe import parse_recipe, run_recipe

    recipe = parse_recipe(
        "recipe: 1\ndata: digits\nsteps:\n"
        "  - pass: train\n    config: {epochs: 2, batch_size: 128}\n"
        "  - pass: distill\n    config: {student: 'zoo:digits_mlp:hidden=16', epochs: 1,"
        " train_samples: 300, baseline: true, measure: false}\n"
    )
    outcomes = run_recipe(recipe, load("zoo:digits_mlp"), ctx=RunContext(device="cpu"))
    assert [o.pass_name for o in outcomes] == ["train", "distill"]
    distilled = outcomes[1]
    assert distilled.model.arch == "digits_mlp:hidden=16"
    assert distilled.step["config"]["student"] == "zoo:digits_mlp:hidden=16"
    assert distilled.metrics["teacher_accuracy"] == pytest.approx(
        outcomes[0].metrics["val_accuracy"]
    )  # the trained model of step 1 is the teacher of step 2
    assert "baseline_accuracy" in distilled.metrics


def test_a_teacher_near_chance_is_warned_about() -> None:
    from workbench.core.compress.distillation.run import chance_warning

    warning = chance_warning(0.10, 10)
    assert warning and "near chance (10.0% for 10 classes)" in warning
    assert chance_warning(0.14, 10) is not None  # within 5 points of chance
    assert chance_warning(0.16, 10) is None
    assert chance_warning(0.54, 2) is not None and chance_warning(0.60, 2) is None
    assert chance_warning(0.0, 0) is None and chance_warning(0.0, 1) is None  # unknown
    assert TeacherScore(0.1, 2.3, 10).warning == warning


def test_a_pruned_student_rounds_its_channel_counts() -> None:
    """Multiples of 8 run faster than odd counts (issue #22): round_to keeps them so."""
    teacher = load("zoo:digits_cnn")
    example = torch.zeros(1, 1, 8, 8)

    def widths(student) -> list[int]:
        return [m.out_channels for m in student.module.modules() if isinstance(m, torch.nn.Conv2d)]

    plain = widths(build_student(teacher, "pruned:0.85", example=example))
    rounded = build_student(teacher, "pruned:0.85", example=example, round_to=8)
    assert any(w % 8 for w in plain)  # 85% of 32/64/64 channels leaves odd counts
    assert all(w % 8 == 0 and w > 0 for w in widths(rounded)), widths(rounded)
    assert "multiples of 8" in rounded.description
    assert rounded.module(example).shape == (1, 10)
    config = config_from_dict(DistillConfig, {"student": "pruned:0.85", "round_to": 8})
    assert config.round_to == 8
    with pytest.raises(WorkbenchError):
        config_from_dict(DistillConfig, {"round_to": 0})


def test_a_pruned_student_keeps_one_multiple_where_the_ratio_leaves_less() -> None:
    """pruned:0.9375 with multiples of 8 is smaller than pruned:0.875 everywhere; it
    kept a width-2 ResNet's 64-channel stage whole (8/16/64 against 8/16/32)."""
    teacher = load("zoo:resnet_shapes:width=2")
    example = torch.zeros(1, 3, 32, 32)

    def widths(spec: str) -> list[int]:
        student = build_student(teacher, spec, example=example, round_to=8)
        return [m.out_channels for m in student.module.modules() if isinstance(m, torch.nn.Conv2d)]

    less, more = widths("pruned:0.875"), widths("pruned:0.9375")
    assert sorted(set(less)) == [8, 16, 32] and sorted(set(more)) == [8, 16], (less, more)
    assert all(m <= n for m, n in zip(more, less, strict=True))


def test_language_model_logits_are_distilled_token_by_token() -> None:
    """(B, T, V) logits: every token is a sample of the KL and of the label loss."""
    generator = torch.Generator().manual_seed(0)
    student = torch.randn(3, 5, 11, generator=generator, requires_grad=True)
    teacher = torch.randn(3, 5, 11, generator=generator)
    labels = torch.randint(0, 11, (3, 5), generator=generator)
    total, hard, soft = distillation_loss(student, teacher, labels, alpha=0.3, temperature=2.0)
    flat = distillation_loss(
        student.flatten(0, 1), teacher.flatten(0, 1), labels.flatten(), 0.3, 2.0
    )
    torch.testing.assert_close(torch.stack([total, hard, soft]), torch.stack(flat))
    expected_soft = sum(
        torch.nn.functional.kl_div(
            torch.log_softmax(student[b, t] / 2, 0), torch.softmax(teacher[b, t] / 2, 0),
            reduction="sum",
        )
        for b in range(3) for t in range(5)
    ) / 15 * 4  # fmt: skip
    torch.testing.assert_close(soft, expected_soft)
    total.backward()
    assert student.grad is not None and student.grad.abs().sum() > 0
    _, _, same = distillation_loss(teacher, teacher, labels, alpha=0.0, temperature=2.0)
    assert float(same) == pytest.approx(0.0, abs=1e-6)
