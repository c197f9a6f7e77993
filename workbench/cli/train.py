"""`workbench train MODEL --data D --out DIR`: train or fine-tune, with a progress line;
`workbench train --arch nets.py:build --data D --out DIR` starts from fresh weights."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import time
from typing import Any

from workbench.cli.arguments import add_model_arguments, add_text_arguments, text_options
from workbench.cli.config_flags import add_config_flags, config_from_args
from workbench.core.train.config import TrainConfig, suggest_config

ORDER = 20
REDRAW_S = 0.1  # the progress line is redrawn at most ten times a second


def register(commands: Any) -> None:
    parser = commands.add_parser(
        "train",
        help="train or fine-tune a model; writes the trained variant and its history",
        description="Train MODEL on a dataset, or with no MODEL, the --arch architecture "
        "from fresh weights (its factory's own initialisation), and write the result to "
        "--out: model.pt "
        "(a state_dict: reopen with --arch), variant.json (settings, metrics), "
        "history.json/.csv, steps.csv and checkpoint.pt (resume with --resume). Settings "
        "not given default to ones suited to the model and dataset. Ctrl+C stops after "
        "the current step and keeps a checkpoint.",
    )
    add_model_arguments(parser, fresh=True)
    parser.add_argument(
        "--data",
        metavar="NAME|PATH",
        help="digits, shapes, sequences, a folder of class subfolders of images, a .csv "
        "(with --target), a .npz (x, y), or for a text model a .csv/.jsonl of labelled "
        "texts; default: the model's own dataset",
    )
    parser.add_argument("--out", required=True, metavar="DIR", help="folder for the variant")
    parser.add_argument("--resume", action="store_true", help="continue from DIR/checkpoint.pt")
    parser.add_argument(
        "--target", metavar="COLUMN", help="the class column of a .csv (texts: default label)"
    )
    parser.add_argument(
        "--image-size",
        type=int,
        default=None,
        help="side of image-folder images (default: the model's input size, else 32)",
    )
    parser.add_argument("--val-fraction", type=float, default=0.2, help="held out (files only)")
    add_text_arguments(parser)
    add_config_flags(parser, TrainConfig, title="training settings", defaults=False)
    parser.add_argument(
        "--nproc",
        type=int,
        metavar="N",
        help="train in N processes with DDP (through torchrun; gloo on CPU, NCCL on GPUs); "
        "a batch size divisible by N gives one process's result",
    )
    parser.add_argument("--json", action="store_true", help="print the metrics as JSON")
    parser.set_defaults(handler=run)


def build_config(
    args: argparse.Namespace, arch: str | None, dataset: str, *, texts: bool = False
) -> TrainConfig:
    """The flags given, over the settings suited to the model and dataset."""
    base = suggest_config(arch, dataset, texts=texts)
    return config_from_args(TrainConfig, args, base=base).validate()


def run(args: argparse.Namespace) -> int:
    from workbench.core.train import distributed

    if args.nproc is not None and not distributed.launched_by_torchrun():
        argv = distributed.without_nproc(args.argv)
        return distributed.relaunch(argv, args.nproc, [_device(args)])
    group = distributed.join_group(_device(args))
    finished = False
    try:
        code = _train(args, group)
        finished = code == 0  # a stop (Ctrl-C) may leave peers mid-step
        return code
    finally:
        distributed.leave_group(finished=finished)


def _device(args: argparse.Namespace) -> str:
    return getattr(args, "device", None) or "auto"  # absent when --device is not given


def _train(args: argparse.Namespace, group: Any) -> int:
    from pathlib import Path

    from workbench.core.data.resolve import resolve_dataset
    from workbench.core.errors import WorkbenchError
    from workbench.core.io import load
    from workbench.core.measure.inputs import text_tokenization
    from workbench.core.train import TrainControl, Trainer
    from workbench.core.train.distributed import process_device
    from workbench.core.train.outputs import write_trained_variant

    if args.model is None and args.arch is None:
        raise WorkbenchError(
            "name the model to train (a file, a variant folder or zoo:NAME), or an "
            "architecture to train from fresh weights with --arch"
        )
    loaded = load(args.model, arch=args.arch, trust=args.trust, shapes=dict(args.shape))
    if loaded.framework != "pytorch" or loaded.module is None:
        raise WorkbenchError(
            f"{loaded.display_name} is an ONNX model; training needs a PyTorch model "
            "(a zoo: name, a checkpoint with --arch, TorchScript or .pt2)"
        )
    data = args.data or loaded.dataset
    if not data:
        raise WorkbenchError("name the training data with --data (a dataset name or a path)")
    config = build_config(args, loaded.arch, data, texts=text_tokenization(loaded) is not None)
    config.device = process_device(config.device, group)
    main_process = group is None or group.is_main
    dataset = resolve_dataset(
        data,
        target=args.target,
        image_size=args.image_size or loaded.image_size,
        val_fraction=args.val_fraction,
        seed=config.seed,
        workers=config.loader_workers,
        text=text_tokenization(loaded),
        text_options=text_options(args),
    )
    out = Path(args.out)
    control = TrainControl()
    printer = ProgressPrinter(sys.stderr)
    trainer = Trainer(
        loaded.module, dataset, config, run_dir=out, resume=args.resume, control=control
    )
    if main_process:  # one progress line, not one per process
        trainer.subscribe(printer)
    previous = _stop_on_interrupt(control)
    try:
        result = trainer.fit()
    finally:
        signal.signal(signal.SIGINT, previous)
        printer.end_line()
    if not main_process:
        return 0
    if result.status == "cancelled":
        print(
            f"workbench: stopped at step {result.metrics['steps']}; checkpoint kept in "
            f"{result.checkpoint}; continue with --resume",
            file=sys.stderr,
        )
        return 130
    paths = write_trained_variant(
        result,
        out,
        source=args.model or str(loaded.arch),
        arch=loaded.arch,
        dataset=dataset.name,
        kind=None if args.model else "trained",
        tokenizer=loaded.tokenizer,
    )
    if args.json:
        print(json.dumps({"status": result.status, "metrics": result.metrics}, indent=2))
    else:
        metrics = result.metrics
        accuracy = metrics.get("val_accuracy")
        shown = f"accuracy {accuracy:.2%}" if isinstance(accuracy, float) else "accuracy n/a"
        if isinstance(metrics.get("val_perplexity"), float):
            shown = f"perplexity {metrics['val_perplexity']:.1f} (next-token {shown})"
        print(
            f"{result.status}: {metrics['epochs']} epochs, {metrics['steps']} steps in "
            f"{metrics['seconds']:.1f} s; validation {shown}"
        )
        model_file = paths.get("torch") or paths["variant"].parent
        print(f"wrote {model_file}, {paths['variant'].name}, history.json/.csv, steps.csv")
        if loaded.arch:
            print(f"reopen: workbench inspect {paths['torch']} --arch {loaded.arch}")
    return 0


def _stop_on_interrupt(control: Any) -> Any:
    """First Ctrl+C: stop after this step, keeping a checkpoint; a second one: at once."""

    def handler(signum: int, frame: Any) -> None:
        if control.stopping.is_set():
            raise KeyboardInterrupt
        print("\nworkbench: stopping after this step (Ctrl+C again to abort)", file=sys.stderr)
        control.stop()

    return signal.signal(signal.SIGINT, handler)


class ProgressPrinter:
    """Training events as a redrawn progress line on a terminal, one line per epoch."""

    def __init__(self, stream: Any) -> None:
        self.stream = stream
        self.tty = bool(getattr(stream, "isatty", lambda: False)())
        self.last_draw = 0.0
        self.loss: float | None = None
        self.open_line = False
        self.epochs = 0

    def __call__(self, event: Any) -> None:
        kind = type(event).__name__
        if kind == "Started":
            self.epochs = event.epochs
            self._line(
                f"training on {event.device}: {event.train_samples:,} samples, "
                f"{event.steps_per_epoch} steps per epoch, {event.epochs} epochs"
            )
            for note in event.notes:
                self._line(f"note: {note}")
        elif kind == "Step":
            self.loss = event.loss
        elif kind == "Progress" and self.tty:
            now = time.monotonic()
            if now - self.last_draw >= REDRAW_S:
                self.last_draw = now
                self._draw(event)
        elif kind == "Epoch":
            val = (
                f", val loss {event.val_loss:.4f}, val accuracy {event.val_accuracy:.2%}"
                if event.val_accuracy is not None
                else ""
            )
            if event.val_perplexity is not None:
                val += f", val perplexity {event.val_perplexity:.1f}"
            self._line(
                f"epoch {event.epoch}/{self.epochs}: train loss {event.train_loss:.4f}, "
                f"accuracy {event.train_accuracy:.2%}{val}"
            )

    def _draw(self, event: Any) -> None:
        width = 24
        done = int(width * event.step / max(1, event.total_steps))
        bar = "#" * done + "-" * (width - done)
        eta = _clock(event.eta_s) if event.eta_s is not None else "?"
        loss = f"loss {self.loss:.4f} " if self.loss is not None else ""
        text = (
            f"\repoch {event.epoch}/{self.epochs} [{bar}] {event.step}/{event.total_steps} "
            f"{loss}{event.samples_per_s:,.0f} samples/s ETA {eta}"
        )
        self.stream.write(text.ljust(100))
        self.stream.flush()
        self.open_line = True

    def _line(self, text: str) -> None:
        self.end_line()
        print(text, file=self.stream, flush=True)

    def end_line(self) -> None:
        if self.open_line:
            self.stream.write("\r" + " " * 100 + "\r")
            self.open_line = False


def _clock(seconds: float) -> str:
    seconds = round(seconds)
    return f"{seconds // 60}:{seconds % 60:02d}"
