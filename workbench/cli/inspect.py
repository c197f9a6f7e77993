"""`workbench inspect MODEL`: what a model is made of."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.arguments import add_model_arguments
from workbench.cli.help import ManPageFormatter

ORDER = 10

EPILOG = """\
The format is read from the file's content, not its extension. A weights-only file
(state_dict, safetensors) needs --arch; TorchScript and pickled modules need --trust.
Errors in the input print one line and exit with status 2.

examples:
  workbench inspect model.onnx
  workbench inspect zoo:resnet_shapes:width=0.5 --top 5
  workbench inspect weights.safetensors --arch digits_cnn
  workbench inspect bert.onnx --shape input_ids=1x128 --shape attention_mask=1x128
  workbench inspect ./my-bert            (a Hugging Face save_pretrained folder)
  workbench inspect model.onnx --json | python -m json.tool
"""


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "inspect",
        help="describe a model: inputs, outputs, nodes, op types, parameters, MACs",
        description="Describe a model: format, inputs and outputs with shapes and dtypes, "
        "node count, op-type histogram, parameter count, file size, MACs (batch 1) and "
        "the largest layers. Nothing from the file runs unless --trust is given.",
        epilog=EPILOG,
        formatter_class=ManPageFormatter,
    )
    add_model_arguments(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--top", type=int, default=10, help="how many top layers to list")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from workbench.core.inspection import inspect_model

    inspection = inspect_model(
        args.model, arch=args.arch, trust=args.trust, shapes=dict(args.shape), top=args.top
    )
    if args.json:
        print(json.dumps(inspection.summary, indent=2))
    else:
        from workbench.cli.text import format_summary

        print(format_summary(inspection.summary))
    return 0
