"""The plainest PyTorch loop that trains as ``workbench train`` does, to time it against.

The same model and seed, the same batches (order and size), optimizer, learning-rate
schedule, precision and per-epoch evaluation as the trainer with ``--augment none``;
none of the trainer's bookkeeping (events, history, checkpoints). Run as its own
process, as the CLI is, so both pay the same start-up; prints one JSON object:

    python tests/gpu/bare_loop.py zoo:resnet_shapes:width=4 --data shapes --device cuda \
        --amp bf16 --epochs 3
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Sequence


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model")
    parser.add_argument("--data", required=True)
    parser.add_argument("--device", required=True)
    parser.add_argument("--amp", choices=("off", "bf16", "fp16"), default="off")
    parser.add_argument("--epochs", type=int, required=True)
    args = parser.parse_args(argv)

    import torch
    import torch.nn.functional as F

    from workbench.core.data.resolve import resolve_dataset
    from workbench.core.io import load
    from workbench.core.train.config import AugmentConfig, suggest_config
    from workbench.core.train.schedules import make_scheduler
    from workbench.core.train.setup import make_optimizer, steps_per_epoch

    loaded = load(args.model)
    config = suggest_config(loaded.arch, args.data)
    config.epochs, config.amp, config.augment = args.epochs, args.amp, AugmentConfig()
    device = torch.device(args.device)
    data = resolve_dataset(args.data, seed=config.seed)
    torch.manual_seed(config.seed)
    model = loaded.module.to(device).train()
    x, y = (t.to(device) for t in data.train_tensors().tensors)
    xv, yv = (t.to(device) for t in data.val_tensors().tensors)
    optimizer = make_optimizer(model, config)
    spe = steps_per_epoch(len(x), config.batch_size)
    scheduler = make_scheduler(optimizer, config, spe)
    criterion = torch.nn.CrossEntropyLoss()
    # As the trainer: mixed precision on CUDA only (elsewhere float32, with a note).
    dtype = {"bf16": torch.bfloat16, "fp16": torch.float16}.get(config.amp)
    dtype = dtype if device.type == "cuda" else None
    scaler = torch.amp.GradScaler("cuda") if dtype == torch.float16 else None

    def autocast() -> contextlib.AbstractContextManager:
        if dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device.type, dtype=dtype)

    generator = torch.Generator().manual_seed(config.seed)
    bs, eval_bs = config.batch_size, config.eval_batch_size
    accuracy = float("nan")
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    for _ in range(config.epochs):
        model.train()
        perm = torch.randperm(len(x), generator=generator).to(device)
        for b in range(spe):
            idx = perm[b * bs : (b + 1) * bs]
            with autocast():
                loss = criterion(model(x[idx]), y[idx])
            optimizer.zero_grad(set_to_none=True)
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            scheduler.step()
        model.eval()
        loss_sum = torch.zeros((), device=device, dtype=torch.float64)
        correct = torch.zeros((), device=device, dtype=torch.int64)
        with torch.inference_mode(), autocast():
            for a in range(0, len(xv), eval_bs):
                out = model(xv[a : a + eval_bs]).float()
                loss_sum += F.cross_entropy(out, yv[a : a + eval_bs], reduction="sum")
                correct += (out.argmax(1) == yv[a : a + eval_bs]).sum()
        accuracy = int(correct) / len(xv)  # one host sync per epoch, as the trainer's
    seconds = time.perf_counter() - start
    report = {"seconds": seconds, "steps": spe * config.epochs, "val_accuracy": accuracy}
    print(json.dumps({**report, "device": str(device), "batch_size": bs}))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
