"""The ONNX Runtime passes: static INT8 (QDQ), dynamic INT8 and float16 conversion.

Each is a thin, checked call of the library (``onnxruntime.quantization.quantize_static``
/ ``quantize_dynamic``, ``onnxruntime.transformers.float16``) on the variant's float
ONNX; a PyTorch variant is exported first. The work happens in a temporary folder the
pass owns and removes, so a cancel or an error leaves nothing behind.
"""

from __future__ import annotations

import tempfile
from abc import abstractmethod
from pathlib import Path
from typing import Any, ClassVar

from workbench.core.compress.base import Pass, PassResult
from workbench.core.compress.quantization.calibration import (
    DatasetReader,
    calibration_dataset,
    data_of,
    draw_samples,
    single_input,
)
from workbench.core.compress.quantization.common import (
    check_node_names,
    first_line,
    float_onnx,
    float_weight_bytes,
    load_proto,
    matmul_weight_bytes,
    onnx_result,
    pre_process,
    quiet_ort,
    save,
)
from workbench.core.compress.quantization.configs import (
    DynamicInt8Config,
    Fp16Config,
    StaticInt8Config,
)
from workbench.core.context import Cancelled, RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

QUANTIZED_OPS = ("QuantizeLinear", "DequantizeLinear", "DynamicQuantizeLinear", "MatMulInteger",
                 "ConvInteger", "MatMulNBits")  # fmt: skip
PREPARED = "prepared.onnx"  # the pre-processed float model, what node names refer to


def _quant_type(name: str) -> Any:
    from onnxruntime.quantization import QuantType

    return {"int8": QuantType.QInt8, "uint8": QuantType.QUInt8}[name]


def _calibration_method(name: str) -> Any:
    from onnxruntime.quantization import CalibrationMethod

    return {
        "minmax": CalibrationMethod.MinMax,
        "entropy": CalibrationMethod.Entropy,
        "percentile": CalibrationMethod.Percentile,
    }[name]


def _even_batch(count: int, batch: int) -> int:
    """A batch size that splits ``count`` samples evenly, near ``batch``: ORT's histogram
    calibrators (entropy, percentile) stack every batch's activations into one array and
    fail on a shorter last batch. Whole batches of ``batch`` (the rest dropped) when no
    divisor is at least half of it."""
    if count <= batch:
        return max(1, count)
    divisor = max(k for k in range(1, batch + 1) if count % k == 0)
    return divisor if 2 * divisor >= batch else batch


def _fit_batches(samples: Any, fixed: int | None) -> Any:
    """Samples in whole batches for a model whose batch size is fixed."""
    import numpy as np

    if not fixed or len(samples) % fixed == 0:
        return samples
    if len(samples) < fixed:
        return np.concatenate([samples] * (-(-fixed // len(samples))))[:fixed]
    return samples[: len(samples) - len(samples) % fixed]


class _OrtPass(Pass):
    """Shared steps: float ONNX -> temp folder -> ORT pre-processing -> ``_quantize``."""

    frameworks: ClassVar[tuple[str, ...]] = ("onnx", "pytorch")
    pre_process: ClassVar[bool] = True
    done_note: ClassVar[str] = ""
    quantizes: ClassVar[str] = ""  # what the method converts, for "nothing to quantize"
    registry: ClassVar[str] = ""  # onnxruntime.quantization.registry's table of its ops

    def apply(self, model: LoadedModel, config: Any, ctx: RunContext) -> PassResult:
        notes: list[str] = []
        if config.auto_exclude:  # a setting of quantize_variant, which runs the pass twice
            notes.append(
                f"auto_exclude {config.auto_exclude} was not applied: only workbench quantize "
                "and the wizard quantize twice to find the nodes; name them in exclude here"
            )
        ctx.report(0.0, "preparing the float ONNX model")
        proto = float_onnx(model, notes=notes)
        ctx.check()
        with tempfile.TemporaryDirectory(prefix="workbench-quant-") as folder, quiet_ort():
            work = Path(folder)
            source = save(proto, work / "float.onnx")
            if self.pre_process:
                ctx.report(0.05, "ONNX Runtime pre-processing (shape inference, optimisation)")
                source = pre_process(source, work / PREPARED, notes)
            prepared = load_proto(source)
            check_node_names(prepared, config.exclude)
            if not self._has_weighted_ops(prepared, config):
                raise self._nothing_to_quantize(model, prepared, config)
            ctx.check()
            out = work / "quantized.onnx"
            try:
                notes += self._quantize(model, prepared, source, out, config, ctx) or []
            except (WorkbenchError, Cancelled):
                raise
            except Exception as exc:
                raise WorkbenchError(
                    f"{self.name}: ONNX Runtime could not quantize "
                    f"{model.display_name} ({first_line(exc)})"
                ) from exc
            quantized = load_proto(out)
            self._check_converted(model, prepared, quantized, config)
            table = self._error_table(model, prepared, source, out, work, config, ctx, notes)
        from workbench.core.measure.torch_to_onnx import fit_ir_version

        fit_ir_version(quantized, notes)
        metrics: dict[str, Any] = {
            "nodes_kept_float": list(config.exclude),
            "float_bytes": proto.ByteSize(),
            "quantized_bytes": quantized.ByteSize(),
            "matmul_weight_bytes": {
                "float": matmul_weight_bytes(prepared),
                "quantized": matmul_weight_bytes(quantized),
            },
        }
        if table is not None:
            metrics["node_error"] = table.to_json()
        ctx.report(1.0, "quantized")
        result = onnx_result(model, quantized, [*notes, self.done_note])
        return PassResult(model=result, metrics=metrics, notes=[*notes, *self.advice(config)])

    @abstractmethod
    def _quantize(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, config: Any,
        ctx: RunContext,
    ) -> list[str] | None:  # fmt: skip
        """Write the quantized model to ``out``: each ORT method's own call; returns notes."""

    def _check_converted(
        self, model: LoadedModel, prepared: Any, quantized: Any, config: Any
    ) -> None:
        """Refuse a result with no weight converted (ORT then returns the float model
        with Q/DQ pairs on activations, or unchanged): nothing would be gained."""
        if float_weight_bytes(quantized) >= float_weight_bytes(prepared):
            raise self._nothing_to_quantize(model, prepared, config)

    def _has_weighted_ops(self, prepared: Any, config: Any) -> bool:
        """Whether a node ORT's quantizer handles (its own registry of op types), within
        ``op_types`` and outside ``exclude``, reads a float weight: checked before
        calibrating, which on a model without one can fail deep inside ORT."""
        if not self.registry:
            return True
        from onnxruntime.quantization import registry

        handled = set(getattr(registry, self.registry))
        if getattr(config, "op_types", None):
            handled &= set(config.op_types)
        weights = {t.name for t in prepared.graph.initializer if len(t.dims)}
        weights |= {n.output[0] for n in prepared.graph.node if n.op_type == "Constant"}
        return any(
            node.op_type in handled
            and node.name not in config.exclude
            and any(name in weights for name in node.input)
            for node in prepared.graph.node
        )

    def _nothing_to_quantize(self, model: LoadedModel, prepared: Any, config: Any) -> Exception:
        ops = sorted({node.op_type for node in prepared.graph.node})
        done = [op for op in ops if op in QUANTIZED_OPS or op.startswith("QLinear")]
        if done:
            return WorkbenchError(
                f"{model.display_name} is already quantized (it holds {', '.join(done)} "
                "nodes): quantize the float model it was made from"
            )
        shown = ", ".join(ops[:8]) + (", ..." if len(ops) > 8 else "")
        limits = []
        if getattr(config, "op_types", None):
            limits.append(f"quantizing op types {', '.join(config.op_types)}")
        if config.exclude:
            limits.append(f"{len(config.exclude)} nodes excluded")
        return WorkbenchError(
            f"{model.display_name}: nothing for {self.name} to quantize: no weight to "
            f"convert (its operators: {shown}"
            + (f"; {'; '.join(limits)}" if limits else "")
            + f"). {self.quantizes}"
        )

    def _error_table(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, work: Path,
        config: Any, ctx: RunContext, notes: list[str],
    ) -> Any:  # fmt: skip
        """The per-node error table on ``error_samples`` samples, or None (with a note)."""
        from workbench.core.compress.quantization.node_error import node_error_table
        from workbench.core.errors import DataError

        if not config.error_samples:
            return None
        try:
            dataset = calibration_dataset(model, data_of(ctx), ctx.text)
        except DataError:
            notes.append("no per-node error table: the model is tied to no dataset (--data)")
            return None
        name, dtype, fixed = single_input(prepared, dataset)
        samples = _fit_batches(draw_samples(dataset, config.error_samples, ctx.seed), fixed)
        reader = DatasetReader(name, samples, dtype=dtype, batch=fixed or 16)
        sub = RunContext(
            device=ctx.device,
            cancel=ctx.cancel,
            seed=ctx.seed,
            progress=lambda f, m: ctx.report(0.9 + 0.09 * (f or 0.0), m),
        )
        try:
            blocks = _blocks(model, prepared, notes)
            table = node_error_table(source, out, reader, work=work, ctx=sub, blocks=blocks)
            notes.extend(table.notes)
            return table
        except (WorkbenchError, Cancelled):
            raise
        except Exception as exc:  # the model is made; the table is a diagnosis on top
            notes.append(f"no per-node error table: {first_line(exc)}")
            return None

    def advice(self, config: Any) -> list[str]:
        return []


def _blocks(model: LoadedModel, prepared: Any, notes: list[str]) -> list[Any]:
    """The prepared model's repeated blocks for the per-block error (none, with a note,
    when its graph cannot be built)."""
    from workbench.core.compress.quantization.block_error import decoder_blocks

    try:
        return decoder_blocks(onnx_result(model, prepared, []))
    except WorkbenchError as exc:
        notes.append(f"no per-block error: {first_line(exc)}")
        return []


class OrtStaticInt8(_OrtPass):
    name = "quantize-static"
    title = "Static INT8 (ONNX Runtime, QDQ)"
    description = (
        "Stores weights and computes activations in 8-bit integers, with activation ranges "
        "measured beforehand on a few hundred samples of your data (calibration). About 4x "
        "smaller, and 2-4x faster on CPUs with VNNI (Intel Cascade Lake and newer, AMD Zen 4) "
        "or AMX (Sapphire Rapids); best for convolutional networks. Accuracy usually drops "
        "by under a point; nodes that lose the most can be kept in float."
    )
    config_class = StaticInt8Config
    done_note = "quantize-static: ONNX Runtime static INT8, QDQ format"
    quantizes = "Static INT8 quantizes the weights of Conv, MatMul, Gemm and similar."
    registry = "QDQRegistry"

    def _quantize(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, config: Any,
        ctx: RunContext,
    ) -> list[str]:  # fmt: skip
        from onnxruntime.quantization import QuantFormat, quantize_static

        from workbench.core.measure.providers import providers_for

        notes: list[str] = []
        dataset = calibration_dataset(model, data_of(ctx), ctx.text)
        name, dtype, fixed = single_input(prepared, dataset)
        drawn = draw_samples(dataset, config.samples, ctx.seed)
        batch = fixed or config.calibration_batch
        if not fixed and config.calibration != "minmax":
            batch = _even_batch(len(drawn), batch)
        samples = _fit_batches(drawn, batch)
        if len(samples) < len(drawn):
            notes.append(
                f"calibrated on {len(samples)} samples, whole batches of {batch} (the "
                f"{config.calibration} calibrator takes no smaller last batch)"
            )

        def calibrate_and_quantize(method: str, exclude: list[str]) -> None:
            reader = DatasetReader(
                name,
                samples,
                dtype=dtype,
                batch=batch,
                ctx=ctx,
                span=(0.1, 0.9),
                message=f"calibrating ({method})",
            )
            quantize_static(
                str(source),
                str(out),
                reader,
                quant_format=QuantFormat.QDQ,
                op_types_to_quantize=config.op_types or None,
                per_channel=config.per_channel,
                reduce_range=config.reduce_range,
                activation_type=_quant_type(config.activation_type),
                weight_type=_quant_type(config.weight_type),
                nodes_to_exclude=exclude or None,
                calibrate_method=_calibration_method(method),
                # Calibration runs the float model on the run's device (CUDA when asked
                # for and working): faster on a GPU machine; ranges may differ in the
                # last bits.
                calibration_providers=providers_for(ctx.device or "auto"),
                extra_options={
                    "ActivationSymmetric": config.activation_symmetric,
                    "WeightSymmetric": config.weight_symmetric,
                    "CalibPercentile": config.percentile,
                },
            )

        method, exclude = config.calibration, list(config.exclude)
        for _attempt in range(3):  # at most: minmax instead, then infinite tensors kept float
            try:
                calibrate_and_quantize(method, exclude)
                return notes
            except ValueError as exc:
                # ORT's histogram calibrators (percentile, entropy) hand numpy 2048 bins;
                # an activation nearly constant at a large value (a saturated gate, as in
                # MobileNetV3's squeeze-excite with untrained weights) has no room for them.
                if "finite-sized bins" in str(exc) and method != "minmax":
                    notes.append(
                        f"{method} calibration failed on a nearly constant activation (too "
                        "narrow a range for its histogram); calibrated with minmax instead"
                    )
                    method = "minmax"
                    continue
                # a tensor that reaches +-inf (a transformer's attention mask filled with
                # -inf) has no INT8 scale: keep the nodes around it float. The histogram
                # calibrators bin every tensor, excluded or not, so minmax takes over.
                if "is not finite" not in str(exc):
                    raise
                reader = DatasetReader(name, samples[:batch], dtype=dtype, batch=batch)
                found = [n for n in _non_finite_nodes(prepared, source, reader) if n not in exclude]
                if not found:
                    raise
                shown = ", ".join(found[:4]) + (
                    f" and {len(found) - 4} more" if len(found) > 4 else ""
                )
                notes.append(
                    f"kept {len(found)} node(s) in float: their tensors reach infinity in "
                    f"calibration, which INT8 cannot scale ({shown})"
                    + ("" if method == "minmax" else f"; calibrated with minmax, not {method}")
                )
                exclude += found
                method = "minmax"
        raise WorkbenchError("static INT8: calibration kept failing; see the notes")

    def advice(self, config: Any) -> list[str]:
        from workbench.core.measure.environment import describe_environment

        env = describe_environment()
        if env["vnni"] or env["amx"]:
            return []
        return [
            "This CPU has no VNNI or AMX: INT8 gains less here than on newer CPUs "
            "(reduce_range avoids overflow on such CPUs)"
        ]


def _non_finite_nodes(prepared: Any, source: Path, reader: Any) -> list[str]:
    """Names of the nodes of ``prepared`` (saved at ``source``) that make or read a tensor
    holding +-inf or NaN on ``reader``'s batches (one is enough: a mask's -inf shows on
    any)."""
    import numpy as np

    from workbench.core.compress.quantization.node_error import intermediate_activations

    with tempfile.TemporaryDirectory(prefix="workbench-inf-") as folder:
        activations = intermediate_activations(source, Path(folder) / "all.onnx", reader)
    bad = {
        tensor for tensor, values in activations.items()
        if any(not np.isfinite(np.asarray(v, dtype=np.float64)).all() for v in values
               if np.issubdtype(np.asarray(v).dtype, np.floating))
    }  # fmt: skip
    return [
        node.name for node in prepared.graph.node
        if node.name and bad & (set(node.output) | set(node.input))
    ]  # fmt: skip


class OrtDynamicInt8(_OrtPass):
    name = "quantize-dynamic"
    title = "Dynamic INT8 (ONNX Runtime)"
    description = (
        "Stores the weights of matrix multiplications in 8 bits and quantizes activations on "
        "the fly, so no calibration data is needed. Suits Linear/MatMul-heavy models and "
        "transformers; about 4x smaller weights and up to 2x faster on CPUs, most on "
        "VNNI/AMX CPUs and on larger matrices."
    )
    config_class = DynamicInt8Config
    done_note = "quantize-dynamic: ONNX Runtime dynamic INT8"
    quantizes = (
        "Dynamic INT8 quantizes MatMul, Attention, LSTM, Gather and Conv weights, not Gemm (a "
        "Linear on 2-D input): use static INT8, or torch-dynamic on the PyTorch model."
    )
    registry = "IntegerOpsRegistry"

    def _quantize(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, config: Any,
        ctx: RunContext,
    ) -> None:  # fmt: skip
        from onnxruntime.quantization import quantize_dynamic

        ctx.report(0.3, "quantizing weights")
        quantize_dynamic(
            str(source),
            str(out),
            op_types_to_quantize=config.op_types or None,
            per_channel=config.per_channel,
            reduce_range=config.reduce_range,
            weight_type=_quant_type(config.weight_type),
            nodes_to_exclude=config.exclude or None,
        )


def _drop_twin_casts(proto: Any) -> None:
    """Remove repeated identical Cast nodes: the converter casts a tensor back to float32
    once per blocked input reading it, so a tensor an attention block reads twice (tiny_lm's
    head reshape) gets two Casts with one name and one output, which ORT refuses."""
    seen: set[tuple[str, tuple[str, ...], tuple[str, ...]]] = set()
    kept = []
    for node in proto.graph.node:
        key = (node.name, tuple(node.input), tuple(node.output))
        if node.op_type == "Cast" and key in seen:
            continue
        seen.add(key)
        kept.append(node)
    if len(kept) < len(proto.graph.node):
        proto.graph.ClearField("node")
        proto.graph.node.extend(kept)


class Fp16Conversion(_OrtPass):
    name = "quantize-fp16"
    title = "Float16 (for GPUs)"
    description = (
        "Stores weights and computes in 16-bit floats: half the size, and up to 2x faster "
        "on GPUs with tensor cores (NVIDIA Volta and newer) through the CUDA or TensorRT "
        "provider. CPUs gain nothing (most compute float16 by converting back). Accuracy "
        "is nearly always unchanged."
    )
    config_class = Fp16Config
    pre_process = False  # ORT's optimiser would bake CPU-specific fusions into a GPU model
    done_note = "quantize-fp16: float16 weights and compute (onnxruntime.transformers.float16)"
    quantizes = "Float16 converts float32 weights outside the ops kept in float32."

    def _quantize(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, config: Any,
        ctx: RunContext,
    ) -> None:  # fmt: skip
        from onnxruntime.transformers.float16 import (
            DEFAULT_OP_BLOCK_LIST,
            convert_float_to_float16,
        )
        from onnxruntime.transformers.onnx_model import OnnxModel

        from workbench.core.export.onnx_export import FP32_OPS

        ctx.report(0.3, "converting to float16")
        converted = convert_float_to_float16(
            prepared,
            keep_io_types=config.keep_io_types,
            op_block_list=[*DEFAULT_OP_BLOCK_LIST, *FP32_OPS, *config.op_block_list],
            node_block_list=config.exclude or None,
        )
        _drop_twin_casts(converted)
        # The converter appends its input Casts after their users; ORT wants them in order.
        OnnxModel(converted).topological_sort()
        save(converted, out)

    def advice(self, config: Any) -> list[str]:
        from workbench.core.measure.providers import CUDA, working_providers

        if CUDA in working_providers():
            return []
        return [
            "No working CUDA provider here: float16 runs on the CPU (measured there, no "
            "faster); measure it on a GPU machine with --device cuda"
        ]
