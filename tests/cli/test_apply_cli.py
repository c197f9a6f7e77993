"""`workbench apply PASS` as a user runs it: a plugin's pass with its own flags, real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import torch
from fixtures.cli import run_workbench

from workbench.core.io import load


def apply(*args: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    # The repository's example plugins, and no user folder that could shadow them.
    (tmp_path / "user-plugins").mkdir(exist_ok=True)
    env = {"WORKBENCH_PLUGIN_DIR": str(tmp_path / "user-plugins"), "WORKBENCH_NO_PLUGINS": ""}
    return run_workbench("apply", *args, env=env, timeout=120)


def test_a_plugin_pass_runs_with_its_own_flags_and_writes_a_variant(tmp_path: Path) -> None:
    out = tmp_path / "control"
    settings = ("--amount", "0.3", "--scope", "global", "--layers", "Conv", "--seed", "7")
    done = apply("random-prune", "zoo:digits_cnn", *settings, "--out", str(out), tmp_path=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "random-prune: amount 0.3" in done.stdout and f"wrote {out}" in done.stdout
    record = json.loads((out / "variant.json").read_text())
    assert record["step"] == {
        "pass": "random-prune",
        "config": {"amount": 0.3, "scope": "global", "layers": ["Conv"],
                   "keep_classifier": False, "seed": 7},
    }  # fmt: skip
    assert record["artifacts"] == {"torch": "model.pt"} and record["arch"] == "digits_cnn"
    pruned, source = load(out).module, load("zoo:digits_cnn").module
    convs = [m for m in pruned.modules() if isinstance(m, torch.nn.Conv2d)]
    zeros = sum(int((m.weight == 0).sum()) for m in convs)
    assert abs(zeros / sum(m.weight.numel() for m in convs) - 0.3) < 0.01
    assert torch.equal(pruned.fc.weight, source.fc.weight)  # --layers Conv: Linear untouched
    again = apply("random-prune", "zoo:digits_cnn", *settings, "--out", str(tmp_path / "b"),
                  tmp_path=tmp_path)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert torch.equal(load(tmp_path / "b").module.features[0][0].weight, convs[0].weight)


def test_apply_help_lists_the_pass_settings_and_bad_input_exits_2(tmp_path: Path) -> None:
    shown = apply("random-prune", "--help", tmp_path=tmp_path)
    assert shown.returncode == 0
    assert "--layers {Conv,Linear}[,...]" in shown.stdout and "--seed N" in shown.stdout
    unknown = apply("no-such-pass", "zoo:digits_cnn", "--out", str(tmp_path / "x"),
                    tmp_path=tmp_path)  # fmt: skip
    assert unknown.returncode == 2 and unknown.stderr.count("\n") == 1
    assert "no pass named 'no-such-pass'" in unknown.stderr and "random-prune" in unknown.stderr
    bad = apply("random-prune", "zoo:digits_cnn", "--amount", "1.5", "--out",
                str(tmp_path / "x"), tmp_path=tmp_path)  # fmt: skip
    assert bad.returncode == 2 and "amount must be between 0 and 1, got '1.5'" in bad.stderr
    onnx_only = apply("random-prune", str(tmp_path / "missing.onnx"), "--out",
                      str(tmp_path / "x"), tmp_path=tmp_path)  # fmt: skip
    assert onnx_only.returncode == 2 and onnx_only.stderr.count("\n") == 1
    assert not (tmp_path / "x").exists()
