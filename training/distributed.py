"""Process-group plumbing for DistributedDataParallel under `torchrun` (gloo on CPU, nccl on CUDA).

Run without `torchrun`, everything here degrades to a single process (rank 0 of 1).
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from common.runtime import resolve_device
from training.errors import TrainingError


@dataclass(frozen=True)
class Process:
    """This process's place in the run: rank, world size, and the device it trains on."""

    rank: int
    world_size: int
    device: torch.device

    @property
    def is_main(self) -> bool:
        """Only the main process (rank 0) writes files and logs progress."""
        return self.rank == 0


def start(device_name: str) -> Process:
    """Join the process group `torchrun` describes in the environment, or run alone."""
    device = resolve_device(device_name, TrainingError)
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size == 1:
        return Process(0, 1, device)
    local_rank = int(os.environ.get("LOCAL_RANK", "0"))
    if device.type == "cuda":
        device = torch.device("cuda", local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Process(dist.get_rank(), dist.get_world_size(), device)


def stop() -> None:
    """Leave the process group, if one was joined."""
    if dist.is_available() and dist.is_initialized():
        dist.destroy_process_group()


def weight_digest(model: nn.Module) -> str:
    """sha256 of every parameter's bytes, to prove that ranks hold identical weights."""
    digest = hashlib.sha256()
    for name, parameter in model.named_parameters():
        digest.update(name.encode())
        digest.update(parameter.detach().cpu().contiguous().numpy().tobytes())
    return digest.hexdigest()


def gather_strings(text: str, process: Process) -> list[str]:
    """Every rank's `text`, in rank order (just `[text]` when alone)."""
    if process.world_size == 1:
        return [text]
    gathered: list = [None] * process.world_size
    dist.all_gather_object(gathered, text)
    return gathered


def mean_over_ranks(value: float, process: Process) -> float:
    """The average of a number over all ranks."""
    if process.world_size == 1:
        return value
    tensor = torch.tensor([value], dtype=torch.float64, device=process.device)
    dist.all_reduce(tensor)
    return float(tensor.item()) / process.world_size
