"""Training checkpoints: plain data (tensors, numbers, strings, lists, dicts), written atomically.

`checkpoint.pt` holds everything `--resume` needs to continue exactly: model, optimizer, scheduler
and AMP scaler states, the next epoch, the best score so far, the per-epoch history, the torch RNG
state and the config as a dict. `best.pt` holds the model of the best validation score; both keep
the weights under `model`, so `pose.state_dict.read_state_dict` reads either.
"""
from __future__ import annotations

import os
from collections import Counter
from pathlib import Path
from typing import Any

import torch

from common.files import atomic_path
from training.errors import TrainingError

FORMAT = "hrtrack-train-1"


def write_training_checkpoint(path: str | os.PathLike, payload: dict[str, Any]) -> None:
    """Write `payload` (plain data) to `path` atomically, tagged with the checkpoint format."""
    with atomic_path(path) as tmp:
        torch.save({"format": FORMAT, **payload}, tmp)


def read_training_checkpoint(path: str | os.PathLike) -> dict[str, Any]:
    """Read a training checkpoint with `weights_only=True`; TrainingError if it is not one."""
    path = Path(path)
    if not path.is_file():
        raise TrainingError(f"checkpoint {path} to resume from does not exist.")
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:
        raise TrainingError(f"{path} is not a readable training checkpoint ({type(exc).__name__}).") from None
    if not isinstance(payload, dict) or payload.get("format") != FORMAT:
        raise TrainingError(f"{path} is not an hrtrack training checkpoint; --resume takes the "
                        "checkpoint.pt a previous run wrote into its output folder.")
    return payload


def scheduler_state(scheduler: torch.optim.lr_scheduler.LRScheduler) -> dict[str, Any]:
    """The scheduler's state with its milestone Counter as a plain dict."""
    state = dict(scheduler.state_dict())
    if isinstance(state.get("milestones"), Counter):
        state["milestones"] = dict(state["milestones"])
    return state


def restore_scheduler(scheduler: torch.optim.lr_scheduler.LRScheduler, state: dict[str, Any]) -> None:
    """Load what `scheduler_state` saved."""
    state = dict(state)
    if isinstance(state.get("milestones"), dict):
        state["milestones"] = Counter(state["milestones"])
    scheduler.load_state_dict(state)
