"""Export a variant to an ONNX file that is checked before it is trusted.

torch.onnx export (or, for an ONNX variant, its own graph), optional simplification
with onnxslim, optional fp16 weights, ``onnx.checker``, then a parity check against the
source on real validation samples. A file that fails parity is not written unless
``force``; a JSON and a Markdown report go beside it.

Exporter choice: the TorchScript-based exporter (``dynamo=False``) is the default. For
the zoo it exports every model at opset 17 with a dynamic batch in under a second;
the dynamo exporter (``exporter="dynamo"``) also passes parity but needs opset >= 18
(its down-conversion to 17 fails on these graphs), takes 3-6 s per model, and
specialises a batch of 1 unless traced at batch 2. When torch drops the TorchScript
exporter, "auto" falls back to dynamo.
"""

from __future__ import annotations

import contextlib
import io
import time
import warnings
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from workbench.core.child_process import is_frozen, python_command
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.export.parity import (
    ParityError,
    ParityResult,
    check_parity,
    parity_batches,
    tensor_entry,
    tolerances,
)
from workbench.core.export.report import ExportReport
from workbench.core.io.loaded import LoadedModel
from workbench.core.measure.environment import library_versions
from workbench.core.measure.inputs import (
    Shapes,
    as_target,
    declared_inputs,
    per_token_outputs,
    resolve_dataset,
)
from workbench.core.measure.providers import create_session
from workbench.core.measure.runners import OrtRunner, flush_denormals, make_runner
from workbench.core.measure.torch_to_onnx import Converted, fit_ir_version, torch_to_onnx
from workbench.core.project import atomic_write_bytes

# Ops kept in fp32 by --fp16: onnxruntime 1.31's CPU graph optimiser crashes the process
# (SIGSEGV) on the zoo transformer when its Transpose nodes are fp16.
FP32_OPS = ("Transpose",)
# Loads the export in a child process first: a runtime crash then becomes an error
# message instead of taking the app down.
_PROBE = (
    "import sys, onnxruntime as ort\n"
    "o = ort.SessionOptions(); o.log_severity_level = 3\n"
    "ort.InferenceSession(sys.stdin.buffer.read(), o, providers=['CPUExecutionProvider'])\n"
)


@dataclass
class ExportOptions:
    opset: int | None = None  # None: 17 for PyTorch sources, the file's own for ONNX ones
    dynamic_batch: bool = False
    simplify: bool = False
    fp16: bool = False
    force: bool = False  # write the file even when parity fails
    exporter: str = "auto"  # "auto", "torchscript" or "dynamo"
    parity_samples: int = 256
    atol: float | None = None  # parity tolerance; default 1e-4 (fp32) or 1e-3 + 1% (fp16)


def convert(
    loaded: LoadedModel,
    options: ExportOptions,
    *,
    label: str,
    shapes: Shapes | None = None,
    sample_shape: tuple[int, ...] | None = None,
) -> Converted:
    """The ONNX model to write: exported (or copied), simplified, fp16, checked."""
    import onnx

    if loaded.onnx_model is not None:
        converted = _from_onnx(loaded, options, label=label)
    else:
        converted = torch_to_onnx(
            loaded,
            label=label,
            opset=options.opset,
            dynamic_batch=options.dynamic_batch,
            exporter=options.exporter,
            shapes=shapes,
            sample_shape=sample_shape,
        )
    model = converted.model
    if options.simplify:
        import onnxslim

        try:
            with contextlib.redirect_stdout(io.StringIO()):
                model = onnxslim.slim(model)
        except Exception as exc:
            raise WorkbenchError(f"{label}: onnxslim could not simplify the model ({exc})") from exc
    if options.fp16:
        from onnxruntime.transformers.float16 import (
            DEFAULT_OP_BLOCK_LIST,
            convert_float_to_float16,
        )
        from onnxruntime.transformers.onnx_model import OnnxModel

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # "values clipped to fp16 range" per tensor
            model = convert_float_to_float16(
                model, keep_io_types=True, op_block_list=[*DEFAULT_OP_BLOCK_LIST, *FP32_OPS]
            )
        # The converter appends its input Casts after their users; the checker wants order.
        OnnxModel(model).topological_sort()
    fit_ir_version(model, converted.notes)
    try:
        onnx.checker.check_model(model, full_check=True)
    except Exception as exc:
        raise WorkbenchError(f"{label}: the exported model fails onnx.checker ({exc})") from exc
    converted.model = model
    return converted


def _from_onnx(loaded: LoadedModel, options: ExportOptions, *, label: str) -> Converted:
    import onnx

    model = onnx.ModelProto()
    model.CopyFrom(loaded.onnx_model)
    notes = []
    current = next((o.version for o in model.opset_import if o.domain in ("", "ai.onnx")), None)
    if options.opset and current and options.opset != current:
        from onnx import version_converter

        try:
            model = version_converter.convert_version(model, options.opset)
        except Exception as exc:
            raise WorkbenchError(
                f"{label}: cannot convert from opset {current} to {options.opset} ({exc})"
            ) from exc
        notes.append(f"converted from opset {current} to {options.opset}")
    if options.dynamic_batch and any(
        d.dims and isinstance(d.dims[0], int) for d in declared_inputs(loaded)
    ):
        raise WorkbenchError(
            f"{label} fixes its batch size; --dynamic-batch needs the PyTorch source "
            "(a fixed batch may be baked into reshapes)"
        )
    return Converted(model, "ONNX source re-written", len(model.graph.node), notes)


def export_onnx(
    model: Any,
    out: str | Path,
    options: ExportOptions | None = None,
    *,
    data: Any = None,
    shapes: Shapes | None = None,
    ctx: RunContext | None = None,
) -> ExportReport:
    """Export ``model`` (Variant or LoadedModel) to ``out``; parity decides if it is written.

    Raises ParityError (with ``.report``) when parity fails and ``force`` is off; nothing
    is written then. The report is also written as ``F.report.json`` / ``F.report.md``.
    """
    with flush_denormals():  # from before the first torch op: see flush_denormals
        return _export(model, Path(out), options or ExportOptions(), data, shapes, ctx)


def _export(
    model: Any,
    out: Path,
    options: ExportOptions,
    data: Any,
    shapes: Shapes | None,
    ctx: RunContext | None,
) -> ExportReport:

    started = time.perf_counter()
    ctx = ctx or RunContext()
    target = as_target(model)
    if not out.parent.is_dir():
        raise WorkbenchError(f"{out}: the folder {out.parent} does not exist")
    dataset = resolve_dataset(data, target)
    lm_windows = dataset is not None and dataset.task == "language-modeling"
    if not shapes and target.loaded.dynamic_axes and not lm_windows:
        # The model's example sizes fill the axes it declares dynamic (a Hugging Face
        # model's sequence) when the export and its parity check need concrete ones.
        shapes = {spec.name: spec.shape for spec in target.loaded.inputs}
    sample = tuple(dataset.input_shape) if dataset is not None else None
    ctx.report(0.05, f"exporting {target.name}")
    converted = convert(
        target.loaded, options, label=target.name, shapes=shapes, sample_shape=sample
    )
    ctx.check()
    payload = converted.model.SerializeToString()
    ctx.report(0.3, "loading the export in ONNX Runtime")
    probe_load(payload, target.name)
    try:
        candidate = OrtRunner(create_session(payload, device="cpu", spin=False))
    except Exception as exc:
        raise WorkbenchError(f"{target.name}: onnxruntime cannot load the export ({exc})") from exc
    reference = make_runner(
        target.loaded,
        "torch" if target.loaded.module is not None else "ort",
        label=target.name,
        device="cpu",
        spin=False,
    )
    atol, rtol = tolerances(options.fp16, options.atol)
    batches, described, total = parity_batches(
        converted.model,
        dataset,
        options,
        seed=ctx.seed,
        label=target.name,
        shapes=shapes,
        required=data is not None,  # data the user named must fit, not be swapped for noise
    )
    sub = RunContext(
        device=ctx.device,
        cancel=ctx.cancel,
        seed=ctx.seed,
        progress=lambda f, m: ctx.report(0.3 + 0.6 * (f or 0), m),
    )
    parity: ParityResult = check_parity(
        reference, candidate, batches, data=described, atol=atol, rtol=rtol, ctx=sub, total=total
    )
    graph = converted.model.graph
    constant = {t.name for t in graph.initializer}
    report = ExportReport(
        path=str(out),
        source=target.name,
        written=False,
        exporter=converted.exporter,
        opset=next(
            (o.version for o in converted.model.opset_import if o.domain in ("", "ai.onnx")), 0
        ),
        ir_version=converted.model.ir_version,
        dynamic_batch=options.dynamic_batch
        or any(0 in target.loaded.dynamic_axes.get(s.name, {}) for s in target.loaded.inputs),
        simplified=options.simplify,
        fp16=options.fp16,
        nodes_before=converted.nodes_before,
        nodes_after=len(graph.node),
        file_size=len(payload),
        checker="passed",
        parity=parity,
        inputs=[tensor_entry(v) for v in graph.input if v.name not in constant],
        outputs=[tensor_entry(v) for v in graph.output],
        libraries=library_versions(),
        notes=converted.notes,
    )
    if per_token_outputs(target.loaded):
        axes = sorted({a for d in target.loaded.dynamic_axes.values() for a in d.values()})
        report.notes.append(
            f"language model: dynamic {' and '.join(axes)}; KV cache: not exported (each "
            "call recomputes the whole prefix)"
        )
    if not parity.passed and not options.force:
        report.seconds = time.perf_counter() - started
        raise ParityError(
            f"{target.name}: the export fails parity: {parity.failure()}; {out.name} was not "
            "written (use --force to write it anyway)",
            report,
        )
    if not parity.passed:
        report.notes.append("written with --force although parity failed")
    ctx.check()
    atomic_write_bytes(out, payload)
    report.written = True
    report.seconds = time.perf_counter() - started
    report.write_beside(out)
    ctx.report(1.0, f"wrote {out.name}")
    return report


def probe_load(payload: bytes, label: str) -> None:
    """Create an ORT session for ``payload`` in a child process; a crash is an error here."""
    import subprocess

    if is_frozen():  # a bundled app has no interpreter to start
        return
    try:
        done = subprocess.run(
            python_command("-c", _PROBE),
            input=payload,
            capture_output=True,
            timeout=600,
            check=False,
        )
    except (OSError, subprocess.SubprocessError) as exc:
        raise WorkbenchError(f"{label}: could not test-load the export ({exc})") from exc
    if done.returncode < 0:
        raise WorkbenchError(
            f"{label}: onnxruntime crashes (signal {-done.returncode}) loading the export; "
            "try without --fp16 or --simplify"
        )
    if done.returncode:
        lines = done.stderr.decode(errors="replace").strip().splitlines()
        raise WorkbenchError(
            f"{label}: onnxruntime cannot load the export ({lines[-1] if lines else 'failed'})"
        )
