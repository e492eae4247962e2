"""Choosing the torch device from a name the user gives (`auto`, `cpu`, `cuda`, `cuda:N`)."""
from __future__ import annotations

import os

import torch

from pose.errors import PoseError


def resolve_device(name: torch.device | str) -> torch.device:
    """`auto` -> this process's GPU (LOCAL_RANK under torchrun) when CUDA is there, else the CPU;
    any other name is checked, so that asking for CUDA on a machine without it says so at once."""
    if str(name) == "auto":
        if torch.cuda.is_available():
            return torch.device(f"cuda:{int(os.environ.get('LOCAL_RANK', '0'))}")
        return torch.device("cpu")
    try:
        chosen = torch.device(name)
    except RuntimeError:
        raise PoseError(f"device {name!r} is not a torch device; use auto, cpu or cuda[:N].") from None
    if chosen.type == "cuda" and not torch.cuda.is_available():
        raise PoseError(f"device {name!r} asks for CUDA, which this machine lacks; use cpu or auto.")
    return chosen
