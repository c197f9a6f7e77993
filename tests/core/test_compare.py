"""workbench.core.compare on real variants (an ONNX root, a Torch-Pruning child and a
QDQ int8 child, each measured by the real benchmark/evaluate) and on Metrics values
with known answers for the front, the budget pick and the explanations."""

from __future__ import annotations

import csv
import html.parser

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from fixtures.compare_variants import cached_project, graphs_of
from onnx import TensorProto, helper, numpy_helper
from PIL import Image

from workbench.core.compare import Budget, Entry, build_table, compare, diff_graphs, explain
from workbench.core.compare.explain import FASTER, NOT_FASTER
from workbench.core.compare.graph_match import ADDED, CHANGED, REMOVED, SAME, changed_overlay
from workbench.core.compare.pareto import pareto_front, points
from workbench.core.compare.report import write_report
from workbench.core.graph import from_onnx
from workbench.core.measure.metrics import (
    AccuracyReport,
    BatchLatency,
    LatencyReport,
    LatencyStats,
    Metrics,
    ModelFacts,
    OpTypeTime,
    ProfileTable,
)

P50 = "latency.ort.b1.p50_ms"
TOP1 = "accuracy.ort.top1"


@pytest.fixture(scope="session")
def project(tmp_path_factory):
    return cached_project(tmp_path_factory.getbasetemp() / "compare_project", profile=True)


@pytest.fixture(scope="session")
def graphs(project):
    return graphs_of(project)


def by_name(project, suffix: str):
    return next(v for v in project.variants.values() if v.name.endswith(suffix))


def metrics(
    p50: float | None = None,
    top1: float | None = None,
    *,
    macs: int = 1_000_000,
    weights: int = 400_000,
    params: int = 100_000,
    batches=None,
    profile=None,
    env=None,
) -> dict:
    """A variant's metrics as store_metrics keeps them, with chosen figures."""
    m = Metrics(
        facts=ModelFacts(
            file_size=weights + 1000,
            weights_bytes=weights,
            parameters=params,
            macs=macs,
            sparsity=0.0,
        ),
        environment=env,
    )
    if p50 is not None:
        points_ = [(1, p50), *(batches or [])]
        m.latency["ort"] = LatencyReport(
            runtime="ort",
            provider="CPUExecutionProvider",
            threads=None,
            warmup=1,
            min_runs=3,
            min_seconds=0.0,
            input_shapes={"x": [1, 8]},
            batches=[
                BatchLatency(b, LatencyStats(10, ms, ms, ms, ms, 0.0, ms, ms), b / ms * 1e3)
                for b, ms in points_
            ],
            profile=profile,
        )
    if top1 is not None:
        m.accuracy["ort"] = AccuracyReport(
            "ort", "CPUExecutionProvider", "digits", "classification", 360, top1=top1, loss=0.1
        )
    return m.to_json()


def profile(run_ms: float, kernels_ms: float, **shares: float) -> ProfileTable:
    ops = [OpTypeTime(op, 2, kernels_ms * s, s) for op, s in shares.items()]
    return ProfileTable(
        runs=10, nodes=[], op_types=ops, node_total_ms=kernels_ms, run_ms=run_ms, optimization="all"
    )


# -- the table ------------------------------------------------------------------------------


def test_table_figures_are_the_stored_metrics_with_deltas_against_the_baseline(project):
    variants = list(project.variants.values())
    table = build_table([Entry.from_variant(v) for v in variants], baseline=0)
    row = table.row(P50)
    stored = [v.metrics["latency"]["ort"]["batches"][0]["latency"]["p50_ms"] for v in variants]
    assert row.values() == stored
    base = stored[0]
    for cell, value in zip(row.cells[1:], stored[1:], strict=True):
        assert cell.delta == pytest.approx(value - base)
        assert cell.ratio == pytest.approx(value / base)
    assert [c.best for c in row.cells] == [v == min(stored) for v in stored]
    top1 = [v.metrics["accuracy"]["ort"]["top1"] for v in variants]
    assert table.row(TOP1).values() == top1
    macs = [v.metrics["facts"]["macs"] for v in variants]
    assert table.row("facts.macs").values() == macs
    assert macs[1] < macs[0] == macs[2]  # pruned: fewer MACs; int8: the same MACs


def test_unmeasured_figures_read_as_a_dash_not_zero():
    entries = [Entry("a", "a", metrics(0.5, 0.9)), Entry("b", "b", metrics(None, None))]
    table = build_table(entries, baseline="a")
    for key in (P50, TOP1):
        cell = table.row(key).cells[1]
        assert cell.value is None and cell.text == "—" and cell.delta is None
        assert not cell.best  # one figure alone is not "best"
    assert "—" in table.to_text()
    with pytest.raises(ValueError, match="no variant named"):
        build_table(entries, baseline="c")


def test_training_figures_from_variant_json_are_compared_too():
    a = Entry("a", "a", {"val_accuracy": 0.9, "val_loss": 0.3, "epochs": 3})
    b = Entry("b", "b", {"val_accuracy": 0.8, "val_loss": 0.5})
    table = build_table([a, b])
    assert table.row("train.val_accuracy").values() == [0.9, 0.8]
    assert table.row("train.val_accuracy").cells[0].best
    assert table.row("train.val_loss").cells[0].best
    # How the variant was made is no row of figures: it is listed apart, per variant.
    assert not [r for r in table.rows if "epochs" in r.spec.key]
    assert table.details == [[("epochs", "3")], []]


# -- Pareto front and budget ---------------------------------------------------------------


def test_pareto_front_and_budget_pick_on_known_points():
    entries = [
        Entry("a", "fast", metrics(1.0, 0.90)),
        Entry("b", "accurate", metrics(2.0, 0.95)),
        Entry("c", "dominated", metrics(2.5, 0.93)),
        Entry("d", "fastest", metrics(0.5, 0.50)),
        Entry("e", "unmeasured", metrics(None, 0.99)),
    ]
    result = compare(entries, 0, budget=Budget("latency", 2.0))
    assert (result.axes.x, result.axes.y) == (P50, TOP1)
    assert [p.name for p in result.points] == ["fast", "accurate", "dominated", "fastest"]
    assert [p.name for p in result.front] == ["fastest", "fast", "accurate"]
    assert result.table.names[result.pick] == "accurate"
    assert compare(entries, 0, budget=Budget("latency", 1.2)).pick == 0
    assert compare(entries, 0, budget=Budget("latency", 0.1)).pick is None
    # size: each file is 401,000 bytes, so 1 MB admits all (the most accurate wins)
    sized = compare(entries, 0, budget=Budget("size", 1e6))
    assert sized.table.names[sized.pick] == "unmeasured"
    assert compare(entries, 0, budget=Budget("size", 100)).pick is None


def test_pareto_front_of_the_measured_variants_is_undominated(project):
    table = build_table([Entry.from_variant(v) for v in project.variants.values()])
    pts = points(table, P50, TOP1)
    front = pareto_front(pts)
    assert len(pts) == 3 and front
    for p in pts:
        beaten = any(q.x <= p.x and q.y >= p.y and (q.x, q.y) != (p.x, p.y) for q in pts)
        assert (p in front) == (not beaten)


# -- graph differences ---------------------------------------------------------------------


def test_pruned_child_has_every_layer_changed_and_nothing_added(project, graphs):
    root, pruned = by_name(project, "digits_cnn"), by_name(project, "(pruned)")
    diff = diff_graphs(graphs[root.id], graphs[pruned.id])
    counts = diff.counts()
    assert counts[ADDED] == counts[REMOVED] == 0
    convs = [d for d in diff.nodes if d.parent.op_type == "Conv"]
    assert len(convs) == 3 and all(d.status == CHANGED for d in convs)
    first = convs[0]
    assert first.child.params < first.parent.params and first.child.macs < first.parent.macs
    assert any(c.startswith("output ") and "x32x8x8 → " in c for c in first.changes)
    overlay = changed_overlay(diff)
    assert set(overlay.values) == {n.id for n in graphs[pruned.id].nodes}
    assert overlay.values[first.child.id] == 0.5


def test_qdq_child_has_quantize_pairs_added_and_relus_fused_away(project, graphs):
    root, int8 = by_name(project, "digits_cnn"), by_name(project, "(int8)")
    diff = diff_graphs(graphs[root.id], graphs[int8.id])
    added = [d.child.op_type for d in diff.nodes if d.status == ADDED]
    assert added and set(added) <= {"QuantizeLinear", "DequantizeLinear"}
    assert added.count("QuantizeLinear") >= 2
    removed = {d.parent.op_type for d in diff.nodes if d.status == REMOVED}
    assert removed == {"Relu"}  # ORT's quantizer fuses Relu into the quantized Conv/Gemm
    conv = next(d for d in diff.nodes if d.parent and d.parent.op_type == "Conv")
    assert conv.status == CHANGED and "int8" in conv.child.weight_dtypes
    assert conv.child.params == conv.parent.params  # weights counted through DequantizeLinear
    assert any(d.status == SAME for d in diff.nodes)


def test_dynamic_quantization_matches_conv_to_conv_integer(project, tmp_path):
    from onnxruntime.quantization import quantize_dynamic

    root = by_name(project, "digits_cnn")
    source = root.artifacts["onnx"]
    quantize_dynamic(source, tmp_path / "dyn.onnx")
    parent, child = (from_onnx(onnx.load(p)) for p in (source, tmp_path / "dyn.onnx"))
    diff = diff_graphs(parent, child)
    convs = [d for d in diff.nodes if d.parent and d.parent.op_type == "Conv"]
    assert all(d.status == CHANGED and d.child.op_type == "ConvInteger" for d in convs)
    assert any("op Conv → ConvInteger" in d.changes for d in convs)


def test_folded_batch_norm_is_removed(tmp_path):
    rng = np.random.default_rng(0)
    f32 = "float32"
    inits = [
        numpy_helper.from_array(rng.standard_normal((4, 1, 3, 3)).astype(f32), "w"),
        *(numpy_helper.from_array(rng.random(4).astype(f32) + 0.5, n) for n in "sbmv"),
    ]
    graph = helper.make_graph(
        [
            helper.make_node("Conv", ["x", "w"], ["c"], name="conv", pads=[1, 1, 1, 1]),
            helper.make_node("BatchNormalization", ["c", "s", "b", "m", "v"], ["n"], name="bn"),
            helper.make_node("Relu", ["n"], ["y"], name="relu"),
        ],
        "g",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 1, 8, 8])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 4, 8, 8])],
        initializer=inits,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)], ir_version=10)
    onnx.save(model, tmp_path / "bn.onnx")
    options = ort.SessionOptions()
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_BASIC
    options.optimized_model_filepath = str(tmp_path / "folded.onnx")
    ort.InferenceSession(str(tmp_path / "bn.onnx"), options, providers=["CPUExecutionProvider"])
    diff = diff_graphs(from_onnx(model), from_onnx(onnx.load(tmp_path / "folded.onnx")))
    status = {d.parent.name: d.status for d in diff.nodes if d.parent}
    assert status["bn"] == REMOVED
    assert status["conv"] == CHANGED  # it gained the folded bias
    assert status["relu"] == SAME


# -- explanations ----------------------------------------------------------------------------


def test_int8_not_faster_names_qdq_missing_vnni_and_float_kernels():
    env = {
        "cpu": "Test CPU",
        "cpu_flags": ["avx2"],
        "vnni": False,
        "amx": False,
        "machine": "x86_64",
    }
    table = profile(0.2, 0.19, Conv=0.6, QuantizeLinear=0.2, DequantizeLinear=0.15, Relu=0.05)
    base = Entry("a", "float", metrics(0.20, 0.9, env=env))
    int8 = Entry("b", "int8", metrics(0.21, 0.9, weights=100_000, profile=table, env=env))
    result = explain(int8, base)
    assert result.verdict == NOT_FASTER and "lower-precision weights" in result.headline
    texts = {r.source: r for r in result.reasons}
    assert {"profile", "environment"} <= set(texts)
    qdq = next(r for r in result.reasons if "QuantizeLinear/DequantizeLinear" in r.text)
    assert "35%" in qdq.text and "QuantizeLinear ×2 20%" in qdq.figure
    assert "VNNI or AMX" in texts["environment"].text and "avx2" in texts["environment"].figure
    assert any("float kernels" in r.text and "Conv 60%" in r.figure for r in result.reasons)
    env["vnni"] = True
    int8_vnni = Entry("b", "int8", metrics(0.21, 0.9, weights=100_000, profile=table, env=env))
    assert not any(r.source == "environment" for r in explain(int8_vnni, base).reasons)


def test_small_batch_and_memory_bound_reasons_quote_their_figures():
    base = Entry("a", "base", metrics(1.0, 0.9, macs=1_000_000))
    pruned = Entry("b", "pruned", metrics(1.0, 0.9, macs=250_000, batches=[(32, 4.0)]))
    result = explain(pruned, base)
    assert result.verdict == NOT_FASTER and "75% fewer MACs" in result.headline
    reason = next(r for r in result.reasons if r.source == "latency")
    assert "throughput rises 8.0×" in reason.text and "b32" in reason.figure
    bound = profile(1.0, 0.9, Transpose=0.4, Reshape=0.2, Conv=0.4)
    slim = Entry("c", "slim", metrics(1.1, 0.9, macs=250_000, profile=bound))
    reasons = explain(slim, base).reasons
    memory = next(r for r in reasons if "memory-bound" in r.text)
    assert "60%" in memory.text and "Transpose 40%" in memory.figure
    rate = next(r for r in reasons if "GMAC/s" in r.text)
    assert "250" in rate.figure and "1.100 ms" in rate.figure


def test_faster_variant_says_which_op_types_gained():
    base = Entry("a", "base", metrics(1.0, 0.9, profile=profile(1.0, 0.9, Conv=0.8, Relu=0.2)))
    fast = Entry(
        "b", "fast", metrics(0.5, 0.9, profile=profile(0.5, 0.45, QLinearConv=0.6, Relu=0.4))
    )
    result = explain(fast, base)
    assert result.verdict == FASTER and "2.00× faster" in result.headline
    assert result.reasons[0].text.startswith("Conv kernels gained")
    assert result.reasons[0].figure == "0.720 → 0.270 ms/run"


def test_explanations_of_the_measured_variants_cite_measured_figures(project, graphs):
    entries = [Entry.from_variant(v) for v in project.variants.values()]
    ops = {v.id: [n.op_type for n in graphs[v.id].nodes] for v in project.variants.values()}
    result = compare(entries, 0, op_types=ops)
    assert len(result.explanations) == 2
    for e in result.explanations:
        assert e.verdict in ("faster", "not faster", "slower")
        assert "p50 ort b1" in e.headline
        for r in e.reasons:
            assert r.figure and r.source in ("latency", "profile", "environment", "graph", "facts")


# -- reports ----------------------------------------------------------------------------------


class _Images(html.parser.HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.sources: list[str] = []
        self.cells = 0

    def handle_starttag(self, tag, attrs) -> None:
        if tag == "img":
            self.sources.append(dict(attrs)["src"])
        self.cells += tag == "td"


def test_reports_write_html_markdown_and_csv_with_png_charts(project, graphs, tmp_path):
    variants = list(project.variants.values())
    diffs = {v.id: diff_graphs(graphs[v.parent], graphs[v.id]) for v in variants if v.parent}
    result = compare(
        [Entry.from_variant(v) for v in variants], 0, budget=Budget("latency", 10.0), diffs=diffs
    )
    page = write_report(result, tmp_path / "out" / "report.html")
    parser = _Images()
    parser.feed(page.read_text(encoding="utf-8"))
    assert len(parser.sources) >= 3 and parser.cells >= len(result.table.rows) * 3
    for src in parser.sources:
        with Image.open(page.parent / src) as image:
            assert image.format == "PNG" and image.width > 100 and image.height > 100
            low, high = image.convert("L").getextrema()
            assert high - low > 100  # something drawn, not a blank canvas
    markdown = write_report(result, tmp_path / "report.md").read_text(encoding="utf-8")
    assert "| metric |" in markdown and "](report_charts/pareto.png)" in markdown
    assert "## Layers:" in markdown and "DequantizeLinear" in markdown
    with write_report(result, tmp_path / "r.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    p50 = next(r for r in rows if r["key"] == P50)
    assert float(p50[variants[1].name]) == pytest.approx(result.table.value(P50, 1))


def test_torch_parent_against_its_onnx_export_matches_across_frameworks(project, graphs):
    from fixtures.compare_variants import trained_root

    from workbench.core.graph import from_model

    root = by_name(project, "digits_cnn")
    diff = diff_graphs(from_model(trained_root()), graphs[root.id])
    status = {d.parent.name: (d.status, d.child.name if d.child else None) for d in diff.nodes}
    assert status["features.0.1"] == (REMOVED, None)  # batch norm folded into the conv
    assert status["features.0.0"] == (CHANGED, "/features/features.0/features.0.0/Conv")
    assert status["features.0.2"][0] == SAME  # aten relu is ONNX Relu
    assert status["features.2"][0] == SAME  # max_pool2d is MaxPool, batch 1 is "batch"
    assert diff.counts()[ADDED] == 0
