"""Training beyond one process: torch.distributed (DDP) under torchrun.

``workbench train --nproc N`` (and ``workbench run --nproc N``) re-launches itself
through torchrun (``torch.distributed.run``); each process finds its rank in the
environment torchrun sets, joins the group (gloo on the CPU, NCCL on CUDA) and trains
a DDP replica. The same command line runs on several GPUs or nodes through torchrun's
own arguments (``torchrun --nnodes 2 --nproc-per-node 8 ... -m workbench train ...``).

Every process walks the same seeded permutation of the data and takes its own slice
of each global batch (``shard``), so a batch size that divides by the process count
gives the gradients of one process with that batch size (DDP averages them), and the
result matches a single-process run within floating-point tolerance. BatchNorm is the
exception: each process normalises over its own slice, which the trainer notes. Only
rank 0 writes checkpoints and outputs.
"""

from __future__ import annotations

import os
import socket
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from workbench.core.child_process import child_environment, python_command
from workbench.core.errors import WorkbenchError


@dataclass(frozen=True)
class ProcessGroup:
    rank: int
    world: int
    local_rank: int
    backend: str

    @property
    def is_main(self) -> bool:
        return self.rank == 0


def launched_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def current_group() -> ProcessGroup | None:
    """The group this process trains in, or None for a single process."""
    import torch.distributed as dist

    if not (dist.is_available() and dist.is_initialized()) or dist.get_world_size() < 2:
        return None
    local = int(os.environ.get("LOCAL_RANK", dist.get_rank()))
    return ProcessGroup(dist.get_rank(), dist.get_world_size(), local, dist.get_backend())


def join_group(device: str = "auto") -> ProcessGroup | None:
    """Join the group torchrun described in the environment (once); None when not launched."""
    if not launched_by_torchrun():
        return None
    import torch
    import torch.distributed as dist

    if not dist.is_initialized():
        cuda = device != "cpu" and torch.cuda.is_available()
        backend = "nccl" if cuda else "gloo"
        if cuda:  # one GPU per process, chosen by torchrun's LOCAL_RANK
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
        dist.init_process_group(backend)
    return current_group()


def leave_group(*, finished: bool = False) -> None:
    """Leave the group. ``finished`` (the run ended normally in this process): wait for
    the others first, so no process tears its gloo connections down while a peer is
    still writing its results; once in CI, the one that left early aborted
    ("terminate called without an active exception"). Not after an error: the peers
    may be inside a collective this process will never join."""
    import torch.distributed as dist

    if dist.is_available() and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def process_device(requested: str, group: ProcessGroup | None) -> str:
    """Each process on CUDA gets its own GPU (its local rank); on the CPU all share it."""
    if group is None or group.backend != "nccl":
        return requested
    return f"cuda:{group.local_rank}"


def wrap(model: Any, device: Any, group: ProcessGroup | None, notes: list[str]) -> Any:
    """The module to call in the training step: a DDP replica, or the model itself."""
    if group is None:
        return model
    from torch import nn
    from torch.nn.parallel import DistributedDataParallel

    # Plain BatchNorm per process, as most DDP training does: SyncBatchNorm would need
    # CUDA and swaps the model's modules, which the exported variant must not carry.
    if any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in model.modules()):
        notes.append(
            "BatchNorm normalises over each process's slice of the batch, so results "
            "differ slightly from one process"
        )
    ids = [device.index] if device.type == "cuda" else None
    return DistributedDataParallel(model, device_ids=ids)


def shard(indices: Any, group: ProcessGroup | None) -> Any:
    """This process's slice of one global batch (every ``world``-th sample)."""
    if group is None:
        return indices
    return indices[group.rank :: group.world]


def check_batch(batch_size: int, group: ProcessGroup | None, notes: list[str]) -> None:
    if group is None:
        return
    if batch_size < group.world:
        raise WorkbenchError(f"batch size {batch_size} is smaller than the {group.world} processes")
    if batch_size % group.world:
        notes.append(
            f"batch size {batch_size} does not divide by {group.world} processes: the "
            "slices differ in size, so gradients are weighted slightly differently"
        )


def sum_across(values: Sequence[float], group: ProcessGroup | None) -> list[float]:
    """Element-wise sum over all processes (epoch totals: loss, correct, samples)."""
    if group is None:
        return list(values)
    import torch
    import torch.distributed as dist

    device = f"cuda:{group.local_rank}" if group.backend == "nccl" else "cpu"
    tensor = torch.tensor(list(values), dtype=torch.float64, device=device)
    dist.all_reduce(tensor)
    return tensor.tolist()


def check_processes(nproc: int, devices: Sequence[str] = ("auto",)) -> None:
    """Refuse ``--nproc N`` before torchrun starts N processes that would each fail
    (see ``process_problem``); ``devices``: each training's device setting."""
    if nproc < 2:
        raise WorkbenchError("--nproc needs at least 2 processes")
    wanted = [(d or "auto").strip().lower() for d in devices]
    if all(d in ("cpu", "mps") for d in wanted):
        return  # gloo on the CPU: no GPU to count
    import torch

    from workbench.core.device import cuda_missing

    missing = cuda_missing(torch)
    gpus = 0 if missing else torch.cuda.device_count()
    problem = process_problem(nproc, wanted, gpus, missing)
    if problem:
        raise WorkbenchError(problem)


def process_problem(
    nproc: int, devices: Sequence[str], gpus: int, cuda_missing: str | None = None
) -> str | None:
    """Why ``nproc`` processes cannot train on ``devices`` with ``gpus`` GPUs; None if
    they can. On CUDA every process takes its own GPU (its local rank), so N may not
    exceed the GPUs; ``auto`` means CUDA wherever there is a GPU (as ``join_group``
    decides) and the CPU otherwise."""
    cuda = [d for d in devices if d.startswith("cuda")]
    if cuda and not gpus:
        why = cuda_missing or "0 CUDA device(s) found"
        return f"device {cuda[0]!r} is not available here ({why})"
    asked = next((d for d in devices if d == "auto" or d.startswith("cuda")), None)
    if asked is not None and gpus and nproc > gpus:
        return (
            f"--nproc {nproc} on device {asked!r} needs {nproc} GPUs (one process per GPU), "
            f"but {gpus} CUDA device(s) found; use fewer processes, or the CPU (device cpu)"
        )
    return None


def relaunch(argv: Sequence[str], nproc: int, devices: Sequence[str] = ("auto",)) -> int:
    """Run ``workbench ARGV`` in ``nproc`` processes through torchrun; its exit status.

    ``devices`` (each training's device setting) is checked first: see check_processes.
    """
    check_processes(nproc, devices)
    command = python_command(
        "-m",
        "torch.distributed.run",
        "--standalone",
        f"--nproc-per-node={nproc}",
        "-m",
        "workbench",
        *argv,
    )
    env = child_environment()  # torchrun starts the workers (python -m workbench) itself
    # torchrun would set 1 thread per process and warn about it; say it ourselves.
    env.setdefault("OMP_NUM_THREADS", str(max(1, (os.cpu_count() or 1) // nproc)))
    loopback = loopback_interface()
    if loopback and "GLOO_SOCKET_IFNAME" not in env:
        # All processes are on this machine (--standalone), but gloo picks its network
        # interface from the host name, which in containers and sandboxes can resolve to
        # an address the processes cannot reach each other on: they then wait forever.
        env["GLOO_SOCKET_IFNAME"] = loopback
    return subprocess.call(command, env=env)


def loopback_interface() -> str | None:
    """This machine's loopback interface name (``lo`` on Linux, ``lo0`` on macOS)."""
    try:
        names = [name for _, name in socket.if_nameindex()]
    except (OSError, AttributeError):  # no interface list on this platform
        return None
    return next((name for name in ("lo", "lo0") if name in names), None)


def without_nproc(argv: Sequence[str]) -> list[str]:
    """``argv`` with ``--nproc N`` / ``--nproc=N`` taken out (the children run one each)."""
    out: list[str] = []
    skip = False
    for item in argv:
        if skip:
            skip = False
            continue
        if item == "--nproc":
            skip = True
            continue
        if item.startswith("--nproc="):
            continue
        out.append(item)
    return out
