"""`workbench compare` through the real entry point: variant folders with measured
metrics, models measured on the spot, reports, and bad input as one line and exit 2."""

from __future__ import annotations

import html.parser
import json
from pathlib import Path

import pytest
from fixtures.compare_variants import cached_project
from PIL import Image

from workbench.cli import main
from workbench.cli.compare import format_comparison
from workbench.core.compare import Entry, compare

FAST = ["--runs", "3", "--seconds", "0"]


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    return cached_project(tmp_path_factory.getbasetemp() / "compare_project", profile=True)


@pytest.fixture
def folders(project, tmp_path) -> list[Path]:
    """Each variant as `workbench train --out` lays one out: variant.json with metrics."""
    paths = []
    for variant in project.variants.values():
        folder = tmp_path / variant.name.replace(" ", "_").strip("()")
        folder.mkdir()
        record = {
            "schema": 1,
            "name": variant.name,
            "metrics": variant.metrics,
            "step": variant.step,
            "source": variant.source,
        }
        (folder / "variant.json").write_text(json.dumps(record), encoding="utf-8")
        paths.append(folder)
    return paths


def run(capsys, *args: str) -> tuple[int, str, str]:
    code = main(list(args))
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_same_table_as_the_core_builds(project, folders, capsys):
    variants = list(project.variants.values())
    code, out, err = run(capsys, "compare", *map(str, folders), "--baseline", variants[1].name)
    assert code == 0, err
    expected = compare([Entry.from_variant(v) for v in variants], 1)
    assert expected.table.to_text() in out
    assert format_comparison(expected).splitlines()[0] == out.splitlines()[0]
    assert f"{variants[1].name} (baseline)" in out.splitlines()[0]
    stored = variants[2].metrics["latency"]["ort"]["batches"][0]["latency"]["p50_ms"]
    assert f"{stored:.3f} ms" in out
    assert "Pareto front" in out and "why (not) faster:" in out


def test_json_and_csv_to_stdout(folders, capsys):
    code, out, err = run(capsys, "compare", *map(str, folders), "--json")
    assert code == 0, err
    payload = json.loads(out)
    assert len(payload["variants"]) == 3 and payload["baseline"] == payload["variants"][0]["name"]
    row = next(r for r in payload["rows"] if r["key"] == "facts.macs")
    assert row[payload["variants"][1]["name"]] < row[payload["variants"][0]["name"]]
    code, out, _ = run(capsys, "compare", *map(str, folders[:2]), "--csv")
    assert code == 0 and out.splitlines()[0].startswith("metric,key,better,")


def test_models_are_measured_on_the_spot_and_the_html_report_has_its_charts(
    project, tmp_path, capsys
):
    files = [v.artifacts["onnx"] for v in project.variants.values()]
    out_file = tmp_path / "report" / "compare.html"
    code, out, err = run(
        capsys,
        "compare",
        *files,
        *FAST,
        "--data",
        "digits",
        "--layers",
        "--budget-size",
        "200KiB",
        "--html",
        str(out_file),
    )
    assert code == 0, err
    assert err.count("on the spot (ort)") == 3
    assert "latency p50 ort/CPU b1" in out and "top-1 ort (digits)" in out
    assert "best under size ≤ 200.0 KiB:" in out
    assert "layers of digits_cnn_int8.onnx vs digits_cnn.onnx" in out

    class Images(html.parser.HTMLParser):
        def __init__(self) -> None:
            super().__init__()
            self.sources: list[str] = []

        def handle_starttag(self, tag, attrs):
            if tag == "img":
                self.sources.append(dict(attrs)["src"])

    parser = Images()
    parser.feed(out_file.read_text(encoding="utf-8"))
    assert len(parser.sources) >= 3
    for src in parser.sources:
        path = out_file.parent / src
        assert path.stat().st_size > 0
        with Image.open(path) as image:
            image.verify()
            assert image.format == "PNG"


def test_bad_input_is_one_line_and_exit_2(folders, tmp_path, capsys):
    cases = [
        ([str(folders[0])], "at least two variants"),
        ([str(folders[0]), str(tmp_path / "missing.onnx")], "missing.onnx"),
        ([str(folders[0]), str(folders[1]), "--baseline", "nope"], "--baseline 'nope'"),
        ([str(folders[0]), str(tmp_path)], "neither variant.json nor project.json"),
    ]
    (tmp_path / "broken").mkdir()
    (tmp_path / "broken" / "variant.json").write_text("{not json", encoding="utf-8")
    cases.append(([str(folders[0]), str(tmp_path / "broken")], "not a readable variant file"))
    for args, fragment in cases:
        code, _, err = run(capsys, "compare", *args)
        lines = err.strip().splitlines()
        assert code == 2, err
        assert lines[-1].startswith("workbench: error: ") and fragment in lines[-1], err
        assert "Traceback" not in err
    with pytest.raises(SystemExit) as exit_info:  # argparse's own usage error
        main(["compare", str(folders[0]), str(folders[1]), "--budget-size", "lots"])
    err = capsys.readouterr().err
    assert exit_info.value.code == 2 and "not a size" in err and "Traceback" not in err


def test_folders_written_by_train_compare_and_measure_their_models(tmp_path, capsys):
    outs = [tmp_path / "wide", tmp_path / "narrow"]
    for model, out in zip(("zoo:digits_mlp", "zoo:digits_mlp:hidden=16"), outs, strict=True):
        code, _, err = run(
            capsys, "train", model, "--data", "digits", "--epochs", "1", "--out", str(out)
        )
        assert code == 0, err
    stored = [json.loads((o / "variant.json").read_text())["metrics"] for o in outs]
    code, out, err = run(capsys, "compare", *map(str, outs))
    assert code == 0, err
    accuracy = next(line for line in out.splitlines() if line.startswith("val accuracy"))
    assert f"{stored[0]['val_accuracy']:.2%}" in accuracy
    assert f"{stored[1]['val_accuracy']:.2%}" in accuracy
    assert "no latency measured on a common runtime" in out
    code, out, err = run(capsys, "compare", *map(str, outs), "--measure", *FAST)
    assert code == 0, err
    assert err.count("model on the spot (ort)") == 2
    lines = out.splitlines()
    assert any(line.startswith("latency p50 ort/") for line in lines)
    assert any(line.startswith("MACs (batch 1)") for line in lines)
    assert any(line.startswith("val accuracy (training)") for line in lines)  # kept
    headline = next(line for line in lines if line.startswith("digits_mlp:hidden=16 ("))
    assert " than digits_mlp (" in headline and "(p50 ort b1: " in headline


def test_gpu_and_cpu_measured_variants_compare_only_like_with_like(tmp_path, capsys):
    """Issue #20's case: an INT8 and an FP16 variant measured on ONNX Runtime's CUDA
    provider (real runs here, re-labelled as the H200 recorded them), a pruned model and
    a distilled student measured on the CPU by their own commands."""
    from fixtures.cuda_records import cuda_outcome, quantized_digits

    from workbench.core.compress.quantization.variant_record import write_quantized_variant

    folders = {name: tmp_path / name for name in ("int8", "fp16", "pruned", "distilled")}
    for method, name in (("static", "int8"), ("fp16", "fp16")):
        outcome = cuda_outcome(quantized_digits(method), method)
        write_quantized_variant(outcome, folders[name], source="zoo:digits_cnn")
    code, _, err = run(capsys, "prune", "zoo:digits_cnn", "--structured", "--amount", "0.5",
                       "--seconds", "0", "--out", str(folders["pruned"]))  # fmt: skip
    assert code == 0, err
    code, _, err = run(capsys, "distill", "--teacher", "zoo:digits_cnn", "--epochs", "1",
                       "--train-samples", "64", "--out", str(folders["distilled"]))  # fmt: skip
    assert code == 0, err
    code, out, err = run(capsys, "compare", *map(str, folders.values()))
    assert code == 0, err
    table = out.split("* best of the row")[0]
    labels = [line.split("  ")[0] for line in table.splitlines()[1:]]
    assert not [x for x in labels if x.startswith(("teacher", "student", "macs ", "params "))]
    assert "latency p50 ort/CUDA cuda:0 b1" in labels
    assert "latency p50 ort/CPU b1" in labels
    recorded = out.split("recorded by each variant's own run (not compared):")[1]
    assert "teacher macs 1.82 M" in recorded and "macs before 1.85 M" in recorded
    why = out.split("why (not) faster:")[1]
    assert "no latency measured on a common runtime" not in why
    assert (
        "digits_cnn (FP16) is 1.32× faster than digits_cnn (INT8 static) (p50 "
        "ort/CUDA cuda:0 b1: 0.930 → 0.707 ms)" in why
    )
    assert (
        "no latency measured under the same conditions: digits_cnn (pruned: l1 50% channels) "
        "was measured with ort on CPUExecutionProvider (cpu), default threads, batch 1, 32; "
        "digits_cnn (INT8 static) with ort on CUDAExecutionProvider (cuda:0)" in why
    )
    assert "was measured with torch on cpu, 1 thread, batch 1;" in why  # the student

    # --measure: only what lacks a CPU figure taken here is measured; GPU figures stay.
    code, out, err = run(capsys, "compare", *map(str, folders.values()), "--measure", *FAST)
    assert code == 0, err
    assert "keeping digits_cnn (pruned: l1 50% channels)'s stored latency" in err
    assert err.count("model on the spot (ort)") == 3
    why = out.split("why (not) faster:")[1]
    headlines = [line for line in why.splitlines() if line and not line.startswith("  ")]
    assert len(headlines) == 3 and all("(p50 ort b1: " in line for line in headlines)
    assert "latency p50 ort/CUDA cuda:0 b1" in out  # the GPU rows remain


def test_measure_gives_each_project_variant_the_conditions_asked_for(project, capsys):
    folder = str(project.folder)
    code, out, err = run(capsys, "compare", folder, "--measure", *FAST)
    assert code == 0, err
    assert err.count("stored latency") == 3 and "on the spot" not in err  # all measured here
    code, out, err = run(capsys, "compare", folder, "--measure", "--threads", "1", *FAST)
    assert code == 0, err
    assert err.count("model on the spot (ort)") == 3  # none had a 1-thread figure
    lines = out.splitlines()
    pinned = next(x for x in lines if x.startswith("latency p50 ort/CPU 1t b1"))
    assert "—" not in pinned
    assert any(x.startswith("latency p50 ort/CPU b1 ") for x in lines)  # kept
