"""Weight-only INT4 through ONNX Runtime's ``MatMulNBitsQuantizer``.

Every MatMul whose second input is a float weight becomes a ``MatMulNBits`` node
(com.microsoft): the weight in 4-bit blocks of ``block_size`` along its input axis, one
scale (and, asymmetric, one zero point) per block; activations stay float. The
algorithms are ORT's: ``rtn`` its own C++ round-to-nearest (``DefaultWeightOnlyQuantConfig``;
``RTNWeightOnlyQuantConfig`` runs the same rounding through a Python copy of Intel's
neural-compressor, slower), ``hqq`` half-quadratic optimisation of scales and zero
points, ``gptq`` error-correcting rounding on calibration windows. Nodes in ``exclude``
(e.g. the ``lm_head`` MatMul) stay float, as static INT8's exclusions do.

No ORT pre-processing: the quantizer needs none, and node names stay the export's
("/lm_head/MatMul"), which is what ``exclude`` and the error tables name.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from workbench.core.compress.quantization.calibration import (
    DatasetReader,
    calibration_dataset,
    data_of,
    draw_samples,
    single_input,
)
from workbench.core.compress.quantization.common import save
from workbench.core.compress.quantization.configs import Int4Config
from workbench.core.compress.quantization.ort_passes import _OrtPass
from workbench.core.context import RunContext
from workbench.core.errors import WorkbenchError
from workbench.core.io.loaded import LoadedModel

GPTQ_BATCH = 8  # calibration windows per run: GPTQ accumulates each MatMul's Hessian


def matmul_weights(proto: Any) -> dict[str, Any]:
    """MatMul node name -> its float weight initializer (a 2-D constant second input)."""
    import onnx

    weights = {t.name: t for t in proto.graph.initializer}
    found = {}
    for node in proto.graph.node:
        if node.op_type != "MatMul" or len(node.input) < 2:
            continue
        tensor = weights.get(node.input[1])
        if (
            tensor is not None
            and len(tensor.dims) == 2
            and tensor.data_type == onnx.TensorProto.FLOAT
        ):
            found[node.name] = tensor
    return found


def _check_block_size(size: int) -> None:
    if size < 16 or size & (size - 1):
        raise WorkbenchError(
            f"block size {size}: MatMulNBits takes a power of two from 16 (16, 32, 64, 128, 256)"
        )


def _algo_config(model: LoadedModel, prepared: Any, config: Int4Config, ctx: RunContext) -> Any:
    from onnxruntime.quantization.matmul_nbits_quantizer import (
        DefaultWeightOnlyQuantConfig,
        GPTQWeightOnlyQuantConfig,
        HQQWeightOnlyQuantConfig,
    )

    if config.algorithm == "rtn":
        return DefaultWeightOnlyQuantConfig(
            block_size=config.block_size, is_symmetric=config.symmetric
        )
    if config.algorithm == "hqq":
        return HQQWeightOnlyQuantConfig(block_size=config.block_size)
    dataset = calibration_dataset(model, data_of(ctx), ctx.text)
    name, dtype, fixed = single_input(prepared, dataset)
    samples = draw_samples(dataset, config.samples, ctx.seed)
    # GPTQ deep-copies the reader and iterates it: a plain list of feeds (the run's
    # context holds locks, which do not copy).
    reader = list(DatasetReader(name, samples, dtype=dtype, batch=fixed or GPTQ_BATCH))
    # GPTQ's own block is its Hessian sweep; the 4-bit block size is the quantizer's.
    return GPTQWeightOnlyQuantConfig(calibration_data_reader=reader)


class OrtInt4WeightOnly(_OrtPass):
    name = "quantize-int4"
    title = "INT4 weight-only (ONNX Runtime, MatMulNBits)"
    description = (
        "Stores the weights of matrix multiplications in 4 bits, in blocks (32 weights by "
        "default) that each keep their own scale; activations stay float. Made for language "
        "models, whose size is their MatMul weights: about 6x smaller weights, and faster "
        "token generation where memory bandwidth is the limit. RTN and HQQ need no data; "
        "GPTQ uses a few calibration windows of text."
    )
    config_class = Int4Config
    pre_process = False  # module doc
    done_note = "quantize-int4: ONNX Runtime weight-only INT4 (MatMulNBits)"
    quantizes = "INT4 weight-only converts MatMul nodes whose second input is a float weight."

    def _has_weighted_ops(self, prepared: Any, config: Any) -> bool:
        return any(name not in config.exclude for name in matmul_weights(prepared))

    def _quantize(
        self, model: LoadedModel, prepared: Any, source: Path, out: Path, config: Any,
        ctx: RunContext,
    ) -> list[str]:  # fmt: skip
        import onnx
        from onnxruntime.quantization.matmul_nbits_quantizer import MatMulNBitsQuantizer

        _check_block_size(config.block_size)
        notes: list[str] = []
        if config.algorithm == "hqq" and config.symmetric:
            notes.append("hqq keeps a zero point per block (asymmetric) whatever symmetric says")
        ctx.report(0.2, f"quantizing MatMul weights to 4 bits ({config.algorithm})")
        quantizer = MatMulNBitsQuantizer(
            onnx.load_model(str(source)),
            block_size=config.block_size,
            is_symmetric=config.symmetric,
            nodes_to_exclude=list(config.exclude),
            algo_config=_algo_config(model, prepared, config, ctx),
        )
        quantizer.process()
        save(_typed(quantizer.model.model, prepared), out)
        return notes


def _typed(quantized: Any, prepared: Any) -> Any:
    """``quantized`` with what ONNX tools need to read it: the com.microsoft opset import
    (GPTQ's path leaves it out) and the float model's type of each MatMulNBits output
    (ONNX shape inference cannot infer contrib ops, and the per-node error table saves
    only typed tensors)."""
    import onnx

    if not any(o.domain == "com.microsoft" for o in quantized.opset_import):
        quantized.opset_import.append(onnx.helper.make_opsetid("com.microsoft", 1))
    inferred = onnx.shape_inference.infer_shapes(prepared)
    types = {v.name: v for v in [*inferred.graph.value_info, *inferred.graph.output]}
    known = {v.name for v in [*quantized.graph.value_info, *quantized.graph.output]}
    for node in quantized.graph.node:
        if node.op_type == "MatMulNBits":
            for name in node.output:
                if name in types and name not in known:
                    quantized.graph.value_info.append(types[name])
    return quantized
