"""ONNX export: every zoo model passes parity, loads in onnxruntime and netron; broken
exports are caught; options (dynamic batch, onnxslim, fp16, opset) do what they say."""

from __future__ import annotations

import json
import sys
import urllib.request
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest
import torch
from fixtures.cli import run_command
from fixtures.impostors import imported_impostors, plant_impostors, user_environment
from torch import nn

from workbench.core.catalogue import get_registry
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.export import ExportOptions, ParityError, export_onnx, store_export
from workbench.core.export.onnx_export import probe_load
from workbench.core.io import load
from workbench.core.io.loaded import InputSpec, LoadedModel, ModelFormat
from workbench.core.measure.providers import max_ir_version
from workbench.core.project import Project

ZOO = ("digits_cnn", "digits_mlp", "resnet_shapes", "mobilenet_shapes", "transformer_seq")


def _session(path: Path) -> ort.InferenceSession:
    return ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])


def _netron_serves(path: Path) -> int:
    """Serve ``path`` from its (private) folder with netron on 127.0.0.1 and read it back.

    Checks the page names the model, the model bytes come back intact, and netron's own
    Python ONNX reader parses the model (served as JSON); returns netron's node count.
    Skips (after the checks before it passed) where netron is not installed: a headless
    server with only the core dependencies.
    """
    netron = pytest.importorskip("netron", reason="netron is not installed here")

    def get(address: tuple, route: str) -> bytes:
        with urllib.request.urlopen(f"http://127.0.0.1:{address[1]}{route}", timeout=30) as r:
            return r.read()

    address = netron.serve(str(path), address=("127.0.0.1", 0), browse=False)
    try:
        page = get(address, "/").decode()
        assert f'<meta name="file" content="/data/{path.name}">' in page
        assert get(address, f"/data/{path.name}") == path.read_bytes()
    finally:
        netron.stop(address)
    address = netron.serve(str(path), data=onnx.load(path), address=("127.0.0.1", 0), browse=False)
    try:
        described = json.loads(get(address, "/data/model.netron"))
    finally:
        netron.stop(address)
    assert described["format"].startswith("ONNX")
    return len(described["graphs"][0]["nodes"])


@pytest.mark.parametrize("name", ZOO)
def test_every_zoo_model_exports_with_parity_and_loads_in_ort_and_netron(
    name: str, tmp_path: Path
) -> None:
    loaded = load(f"zoo:{name}")
    folder = tmp_path / "private"
    folder.mkdir()
    out = folder / f"{name}.onnx"
    report = export_onnx(loaded, out, ExportOptions(dynamic_batch=True))
    assert report.written and out.is_file() and report.file_size == out.stat().st_size
    parity = report.parity
    assert parity.passed and parity.max_abs_diff <= 1e-4 and parity.top1_agreement == 1.0
    assert parity.data.startswith(get_registry().model(name).dataset + " validation (")
    assert report.ir_version <= max_ir_version() and report.opset == 17
    # Independently of the parity code: onnxruntime on fresh validation samples.
    data = get_registry().dataset(loaded.dataset).load()
    x = np.ascontiguousarray(data.x_val[-5:])
    session = _session(out)
    assert [i.name for i in session.get_inputs()] == [loaded.inputs[0].name]
    got = session.run(None, {loaded.inputs[0].name: x})[0]
    with torch.no_grad():
        expected = loaded.module(torch.from_numpy(x.copy())).numpy()
    np.testing.assert_allclose(got, expected, atol=1e-4)
    assert _netron_serves(out) == len(onnx.load(out).graph.node)
    saved = json.loads(out.with_name(f"{name}.report.json").read_text())
    assert saved["parity"]["passed"] is True and saved["written"] is True
    markdown = out.with_name(f"{name}.report.md").read_text()
    assert "| output |" in markdown and "pass |" in markdown


class CountingNet(nn.Module):
    """Adds how many times forward ran: Python state the exported graph freezes."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)
        self.calls = 0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.calls += 1
        return self.fc(x.flatten(1)) + self.calls


class FlagNet(nn.Module):
    """Branches on a Python attribute that flips after every call, the trace's included:
    the exported graph keeps the one branch the trace took."""

    def __init__(self) -> None:
        super().__init__()
        self.fc = nn.Linear(64, 10)
        self.use_relu = False

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.fc(x.flatten(1))
        result = torch.relu(out) if self.use_relu else out
        self.use_relu = not self.use_relu
        return result


def _digits_model(factory: type[nn.Module]) -> LoadedModel:
    torch.manual_seed(0)
    return LoadedModel(
        ModelFormat.ZOO,
        None,
        [InputSpec("input", (1, 1, 8, 8))],
        module=factory().eval(),
        arch="broken",
        dataset="digits",
    )


def test_an_export_that_depends_on_python_state_is_caught(tmp_path: Path) -> None:
    out = tmp_path / "counting.onnx"
    with pytest.raises(ParityError) as caught:
        export_onnx(_digits_model(CountingNet), out, ExportOptions(dynamic_batch=True))
    message = caught.value.message
    assert "output 'output' differs from the source by up to" in message
    assert "was not written" in message and "--force" in message
    assert not out.exists() and not list(tmp_path.iterdir())
    report = caught.value.report
    assert not report.parity.passed and report.parity.max_abs_diff >= 1.0


def test_a_branch_flipped_after_tracing_is_caught_and_force_writes_it(tmp_path: Path) -> None:
    model = _digits_model(FlagNet)
    out = tmp_path / "flag.onnx"
    with pytest.raises(ParityError, match="top-1 agreement"):
        export_onnx(model, out, ExportOptions(dynamic_batch=True))
    assert not out.exists()
    report = export_onnx(model, out, ExportOptions(dynamic_batch=True, force=True))
    assert report.written and out.is_file() and not report.parity.passed
    saved = json.loads(out.with_name("flag.report.json").read_text())
    assert saved["parity"]["passed"] is False and "parity failed" in saved["notes"][-1]


@pytest.mark.slow
def test_simplify_fp16_and_opset(tmp_path: Path) -> None:
    loaded = load("zoo:mobilenet_shapes")
    few = {"dynamic_batch": True, "parity_samples": 64}
    plain = export_onnx(loaded, tmp_path / "plain.onnx", ExportOptions(**few))
    slim = export_onnx(loaded, tmp_path / "slim.onnx", ExportOptions(simplify=True, **few))
    assert slim.parity.passed and slim.nodes_after < plain.nodes_after
    half = export_onnx(loaded, tmp_path / "half.onnx", ExportOptions(fp16=True, **few))
    assert half.parity.passed and half.parity.top1_agreement == 1.0
    assert half.parity.outputs[0].tolerance > 1e-4  # fp16's own allowance
    assert half.file_size < 0.7 * plain.file_size
    model = onnx.load(tmp_path / "half.onnx")
    assert model.graph.input[0].type.tensor_type.elem_type == onnx.TensorProto.FLOAT
    assert any(t.data_type == onnx.TensorProto.FLOAT16 for t in model.graph.initializer)
    newer = export_onnx(load("zoo:digits_mlp"), tmp_path / "o18.onnx", ExportOptions(opset=18))
    assert newer.opset == 18 and newer.parity.passed


def test_dynamic_batch_is_what_makes_other_batch_sizes_run(tmp_path: Path) -> None:
    loaded = load("zoo:digits_cnn")
    x = np.zeros((3, 1, 8, 8), np.float32)
    export_onnx(loaded, tmp_path / "dyn.onnx", ExportOptions(dynamic_batch=True))
    assert _session(tmp_path / "dyn.onnx").run(None, {"input": x})[0].shape == (3, 10)
    fixed = export_onnx(loaded, tmp_path / "fixed.onnx", ExportOptions(parity_samples=16))
    assert fixed.parity.passed and fixed.inputs[0]["shape"] == [1, 1, 8, 8]
    with pytest.raises(Exception, match="dimensions"):
        _session(tmp_path / "fixed.onnx").run(None, {"input": x})


def test_an_onnx_variant_is_rewritten_and_checked_against_itself(tmp_path: Path) -> None:
    source = tmp_path / "source.onnx"
    export_onnx(load("zoo:resnet_shapes"), source, ExportOptions(dynamic_batch=True))
    loaded = load(source)
    options = ExportOptions(simplify=True, parity_samples=100)
    report = export_onnx(loaded, tmp_path / "again.onnx", options, data="shapes")
    assert report.parity.passed and report.exporter == "ONNX source re-written"
    assert report.parity.data == "shapes validation (100 samples)"
    # Without a dataset the check still runs, on seeded inputs, and says so.
    report = export_onnx(loaded, tmp_path / "random.onnx")
    assert report.parity.passed and report.parity.data.startswith("seeded random inputs")


def test_export_bad_input_is_one_clear_line(tmp_path: Path) -> None:
    loaded = load("zoo:digits_mlp")
    with pytest.raises(WorkbenchError, match="does not exist"):
        export_onnx(loaded, tmp_path / "missing" / "m.onnx")
    with pytest.raises(WorkbenchError, match=r"'shapes' has samples of shape \[3, 32, 32\]"):
        export_onnx(loaded, tmp_path / "m.onnx", data="shapes")  # named data must fit
    assert not (tmp_path / "m.onnx").exists()
    with pytest.raises(WorkbenchError, match="cannot load the export"):
        probe_load(b"not an onnx model", "garbage")
    fixed = tmp_path / "fixed.onnx"
    export_onnx(loaded, fixed, ExportOptions(parity_samples=8))
    with pytest.raises(WorkbenchError, match="fixes its batch size; --dynamic-batch"):
        export_onnx(load(fixed), tmp_path / "dyn.onnx", ExportOptions(dynamic_batch=True))


def test_the_load_probe_skips_the_working_folder(tmp_path: Path) -> None:
    """The probe starts with -P itself, also where no `workbench` command set
    PYTHONSAFEPATH (a script calling the core); the folder holds impostor modules."""
    folder = plant_impostors(tmp_path / "work")
    model = tmp_path / "m.onnx"
    export_onnx(load("zoo:digits_mlp"), model, ExportOptions(parity_samples=8))
    code = (
        "import sys\n"
        "from workbench.core.export.onnx_export import probe_load\n"
        "probe_load(open(sys.argv[1], 'rb').read(), 'm.onnx')\n"
    )
    command = [sys.executable, "-P", "-c", code, str(model)]
    done = run_command(command, cwd=folder, env=user_environment(), timeout=120)
    assert imported_impostors(folder) == []
    assert done.returncode == 0, done.stderr


def test_export_can_be_cancelled_and_writes_nothing(tmp_path: Path) -> None:
    ctx = RunContext()

    def progress(fraction: float | None, message: str) -> None:
        if message == "checking parity":
            ctx.cancel.cancel()

    ctx.progress = progress
    with pytest.raises(Cancelled):
        export_onnx(load("zoo:digits_cnn"), tmp_path / "c.onnx", ExportOptions(), ctx=ctx)
    assert not list(tmp_path.iterdir())


def test_the_export_is_recorded_on_the_variant(tmp_path: Path) -> None:
    project = Project()
    variant = project.add_root(load("zoo:digits_mlp"))
    report = export_onnx(variant, tmp_path / "v.onnx", ExportOptions(dynamic_batch=True))
    store_export(variant, report)
    assert variant.artifacts["onnx_export"] == str(tmp_path / "v.onnx")
    assert variant.metrics["export"]["parity"]["passed"] is True
    json.dumps(variant.to_json())


@pytest.mark.slow
def test_the_dynamo_exporter_also_passes_parity(tmp_path: Path) -> None:
    options = ExportOptions(dynamic_batch=True, exporter="dynamo")
    report = export_onnx(load("zoo:transformer_seq"), tmp_path / "d.onnx", options)
    assert report.parity.passed and report.opset >= 18 and "dynamo" in report.exporter
    x = np.ones((3, 32), np.int64)
    assert _session(tmp_path / "d.onnx").run(None, {"tokens": x})[0].shape == (3, 8)
