"""`workbench generate MODEL --prompt TEXT`: a language model's greedy continuation, then
its prefill latency, decode tokens/s and peak memory at each batch size."""

from __future__ import annotations

import argparse
import json
from typing import Any

from workbench.cli.arguments import add_model_arguments
from workbench.cli.bench import batch_list, stderr_progress

ORDER = 46


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "generate",
        help="a language model's greedy continuation of a prompt, prefill latency and tokens/s",
        description="Continue a prompt greedily (no KV cache: every new token recomputes "
        "the whole prefix), then time a prefill of --prompt-tokens tokens and a decode of "
        "--new-tokens tokens at each --batch. The tokenizer is the model's dataset's "
        "(stdlib-text for tiny_lm) or its Hugging Face folder's own.",
    )
    add_model_arguments(parser)
    parser.add_argument("--prompt", required=True, help="the text to continue")
    parser.add_argument("--max-new-tokens", type=int, default=32, metavar="N")
    parser.add_argument(
        "--runtime",
        choices=("auto", "torch", "ort"),
        default="auto",
        help="auto: ort for ONNX files, torch otherwise",
    )
    parser.add_argument(
        "--batch",
        type=batch_list,
        metavar="B[,B...]",
        help="batch sizes to time (default 1,8; a model that fixes its batch: that one)",
    )
    parser.add_argument(
        "--data",
        metavar="NAME",
        help="the text dataset whose tokenizer reads the prompt, for a file that does not "
        "say (an exported .onnx of tiny_lm: stdlib-text)",
    )
    parser.add_argument(
        "--context",
        type=int,
        metavar="N",
        help="the model's context window: longer prefixes keep their last N tokens "
        "(default: the model's own; an ONNX file with a fixed sequence length: that length)",
    )
    parser.add_argument("--prompt-tokens", type=int, default=32, metavar="N")
    parser.add_argument("--new-tokens", type=int, default=32, metavar="N")
    parser.add_argument("--rounds", type=int, default=3, metavar="N", help="decode rounds")
    parser.add_argument("--no-speed", action="store_true", help="only the continuation")
    parser.add_argument("--device", default="cpu", help="cpu, cuda:N or auto (default cpu)")
    parser.add_argument("--threads", type=int, metavar="N", help="intra-op threads")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from dataclasses import asdict

    from workbench.core.context import RunContext
    from workbench.core.errors import WorkbenchError
    from workbench.core.io import load
    from workbench.core.lm.codec import codec_for
    from workbench.core.lm.continuation import continue_text
    from workbench.core.lm.generate import lm_for
    from workbench.core.lm.speed import NO_CACHE_NOTE, measure_lm_speed, speed_prompt

    for flag in ("max_new_tokens", "prompt_tokens", "new_tokens", "rounds", "context"):
        value = getattr(args, flag)
        if value is not None and value < 1:
            raise WorkbenchError(f"--{flag.replace('_', '-')} must be at least 1, not {value}")
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=dict(args.shape))
    label = loaded.display_name
    codec = codec_for(args.data or loaded.dataset, loaded.tokenizer, label=label)
    ids = codec.encode(args.prompt)
    if not ids:
        raise WorkbenchError("the prompt is empty: give --prompt some text")
    lm = lm_for(
        loaded,
        args.runtime,
        device=args.device,
        window=args.context,
        threads=args.threads,
        label=label,
    )
    ctx = RunContext(device=args.device, progress=stderr_progress(not args.json))
    text = continue_text(loaded, args.prompt, args.max_new_tokens, ctx=ctx, lm=lm, codec=codec)
    batches = args.batch or ([lm.batch] if lm.batch else [1, 8])
    speeds = []
    if not args.no_speed:
        prompt = speed_prompt(ids, args.prompt_tokens)
        speeds = measure_lm_speed(
            lm, prompt, batches=batches, new_tokens=args.new_tokens, rounds=args.rounds, ctx=ctx
        )
    if args.json:
        payload = {
            "model": label,
            "prompt": args.prompt,
            "continuation": asdict(text),
            "speed": [s.to_json() for s in speeds],
            "note": NO_CACHE_NOTE,
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(f"{label} ({text.runtime} on {text.where}), greedy:")
    end = "  [end of text]" if text.ended else ""
    print(f"{args.prompt}\033[1m{text.text}\033[0m{end}" if _tty() else args.prompt + text.text)
    if speeds:
        print(f"\nspeed ({NO_CACHE_NOTE}):")
        for speed in speeds:
            print("  " + format_speed(speed))
    return 0


def format_speed(speed: Any) -> str:
    from workbench.core.units import human_bytes

    line = (
        f"batch {speed.batch}: prefill {speed.prompt_tokens} tokens {speed.prefill_ms:.2f} ms; "
        f"decode {speed.tokens_per_s:,.0f} tokens/s ({speed.new_tokens} new tokens, median of "
        f"{len(speed.rounds)} rounds, {min(speed.rounds):,.0f}-{max(speed.rounds):,.0f})"
    )
    if speed.unsteady:
        line += " unsteady: measure again"
    if speed.peak_memory_bytes is not None:
        line += f"; peak memory +{human_bytes(speed.peak_memory_bytes)}"
    else:
        line += f"; peak memory {speed.memory_note}"
    return line


def _tty() -> bool:
    import sys

    return sys.stdout.isatty()
