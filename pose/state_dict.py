"""Reading checkpoint files safely (tensors only, never code) and loading them strictly into a model.

`read_state_dict` reads the official, mmpose and hrtrack-training layouts into our key names;
`load_checkpoint` loads strictly and explains a mismatch in one sentence.
"""
from __future__ import annotations

import importlib
import logging
import os
import pickle
import re
import warnings
from collections.abc import Mapping
from pathlib import Path

import numpy as np
import torch
from torch import nn

from pose.errors import PoseError

LOG = logging.getLogger(__name__)

__all__ = ["read_state_dict", "load_checkpoint"]


# numpy arrays and scalars, as mmengine keeps them in checkpoint metadata; rebuilding one runs
# no code of the file's choosing. Files pickled under numpy 1 name the module numpy.core.
_MULTIARRAY = importlib.import_module("numpy._core.multiarray" if hasattr(np, "_core") else "numpy.core.multiarray")
_NUMPY_GLOBALS = [_MULTIARRAY._reconstruct, _MULTIARRAY.scalar, np.ndarray, np.dtype,
                  (_MULTIARRAY._reconstruct, "numpy.core.multiarray._reconstruct"),
                  (_MULTIARRAY.scalar, "numpy.core.multiarray.scalar"),
                  *sorted({type(np.dtype(code)) for code in "?bhilqBHILQefdgFDG"}, key=str)]
# What torch's weights-only unpickler says of a global it refuses: "Unsupported global: GLOBAL
# __main__.Thing was not an allowed global" (a class), "unsupported GLOBAL posix.system whose module
# posix is blocked" (torch 2.14, a function such as os.system), "... but got <class 'x.Y'>" (older).
_REFUSED_OBJECT = re.compile(r"unsupported (?:global|class):? (?:GLOBAL )?([\w.]+)|but got <class '([\w.]+)'>",
                             re.IGNORECASE)
_MODULE_PREFIX = "module."  # DistributedDataParallel
_BACKBONE_PREFIX = "backbone."  # mmpose
_HEAD_PREFIXES = ("keypoint_head.", "head.")  # mmpose 0.x / 1.x; their final_layer is ours
_DROPPED_PREFIXES = ("data_preprocessor.",)  # mmpose 1.x mean/std buffers; our config has them


def _load_file(path: Path) -> object:
    """torch.load with weights_only=True, turning every failure into one sentence."""
    if not path.exists():
        raise PoseError(f"Checkpoint {path} does not exist.")
    if not path.is_file():
        raise PoseError(f"Checkpoint {path} is not a file.")
    try:
        with torch.serialization.safe_globals(_NUMPY_GLOBALS), warnings.catch_warnings():
            # torch warns about the pickle protocol of files that are no checkpoint at all
            warnings.filterwarnings("ignore", message="Detected pickle protocol")
            return torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as error:
        refused = _REFUSED_OBJECT.search(str(error))
        if refused:
            raise PoseError(
                f"{path} holds code-like objects besides tensors ({refused.group(1) or refused.group(2)}), "
                "which hrtrack refuses to unpickle because unpickling them can run code; if you trust "
                "the file, save just its weights with torch.save(torch.load(PATH, weights_only=False)"
                "['state_dict'], NEW_PATH) and pass the new file.") from None
        raise _not_a_checkpoint(path, error) from None
    except OSError as error:
        raise PoseError(f"Checkpoint {path} cannot be read ({error.strerror or error}).") from None
    except Exception as error:
        raise _not_a_checkpoint(path, error) from None


def _not_a_checkpoint(path: Path, error: Exception) -> PoseError:
    LOG.debug("torch.load(%s) failed: %r", path, error)
    with open(path, "rb") as handle:
        head = handle.read(4)
    if not head:
        what = "the file is empty"
    elif head.startswith(b"PK"):
        what = "its zip archive is truncated or damaged"
    else:
        what = "it is neither a PyTorch zip archive nor a legacy torch.save file"
    return PoseError(f"{path} is not a PyTorch checkpoint ({what}); download it again or pass "
                     "the .pth file of HRNet weights.")


def _unwrap(raw: object, path: Path) -> Mapping:
    """The state dict inside a bare, mmpose (`state_dict`) or hrtrack-training (`model`) file."""
    if isinstance(raw, Mapping):
        for key in ("state_dict", "model"):
            if isinstance(raw.get(key), Mapping):
                return raw[key]
        if raw and all(isinstance(value, torch.Tensor) for value in raw.values()):
            return raw
        found = f"a dict with keys {', '.join(map(str, list(raw)[:5]))}" if raw else "an empty dict"
    else:
        found = f"a {type(raw).__name__}"
    raise PoseError(f"{path} is a PyTorch file but holds {found}, not model weights; pass a file "
                    "with a state dict (bare, or under 'state_dict' or 'model').")


def _our_key(key: str) -> str | None:
    """Our name for a checkpoint key, or None for keys that carry no network weights."""
    while key.startswith(_MODULE_PREFIX):
        key = key[len(_MODULE_PREFIX):]
    if key.startswith(_DROPPED_PREFIXES):
        return None
    if key.startswith(_BACKBONE_PREFIX):
        return key[len(_BACKBONE_PREFIX):]
    for head in _HEAD_PREFIXES:
        if key.startswith(head + "final_layer."):
            return key[len(head):]
    return key


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The weights of a checkpoint file under our (= the official) key names, on the CPU.

    Reads official files (bare state dict), mmpose files (`state_dict` wrapper, `backbone.`
    and `keypoint_head.` / `head.` prefixes) and hrtrack training checkpoints (`model`), and
    strips DistributedDataParallel's `module.`. Anything else raises PoseError with one sentence.
    """
    path = Path(path)
    wrapped = _unwrap(_load_file(path), path)
    state: dict[str, torch.Tensor] = {}
    for key, value in wrapped.items():
        if not isinstance(value, torch.Tensor):
            raise PoseError(f"{path} holds a {type(value).__name__} under {key!r} where a tensor "
                            "belongs, so it is not a state dict of model weights.")
        ours = _our_key(str(key))
        if ours is None:
            continue
        if ours in state:
            raise PoseError(f"{path} holds two tensors that both mean {ours!r} (one of them is "
                            f"{key!r}), so it is not a single model's state dict.")
        state[ours] = value
    _check_finite(state, path)
    return state


def _check_finite(state: Mapping[str, torch.Tensor], path: Path) -> None:
    """PoseError naming a tensor when any floating weight is NaN or infinite (damaged or diverged weights)."""
    bad = [key for key, value in state.items()
           if value.is_floating_point() and not bool(torch.isfinite(value).all())]
    if bad:
        others = f" and {len(bad) - 1} other tensors" if len(bad) > 1 else ""
        raise PoseError(f"{path} holds NaN or infinite weights in {bad[0]}{others}, so the file is damaged "
                        "or comes from a training run that diverged; use other weights.")


def load_checkpoint(model: nn.Module, path: str | os.PathLike) -> nn.Module:
    """Load the weights in `path` into `model` strictly and return the model.

    Every parameter and buffer must be present with the same shape, except BatchNorm's
    `num_batches_tracked` counters, which old files lack (they do not affect inference; the
    model keeps its own). A mismatch raises PoseError naming the first differing key, both
    shapes or the missing/unexpected key, and how many keys differ.
    """
    path = Path(path)
    state = read_state_dict(path)
    own = model.state_dict()
    reshaped = [key for key in own if key in state and state[key].shape != own[key].shape]
    missing = [key for key in own if key not in state]
    lacking_counters = {key for key in missing if key.endswith("num_batches_tracked")}
    missing = [key for key in missing if key not in lacking_counters]
    unexpected = [key for key in state if key not in own]
    if reshaped or missing or unexpected:
        if reshaped:
            key = reshaped[0]
            first = (f"{key} has shape {list(state[key].shape)} in the file but "
                     f"{list(own[key].shape)} in the model")
        elif missing:
            first = f"the file lacks {missing[0]}"
        else:
            first = f"the file has {unexpected[0]}, which the model does not"
        raise PoseError(
            f"{path} does not fit this {type(model).__name__} model: {first} ({len(reshaped)} "
            f"shape mismatches, {len(missing)} missing and {len(unexpected)} unexpected keys in "
            "all); use weights made for this model's config, or the config the weights were "
            "trained with.")
    for key in lacking_counters:
        state[key] = own[key]
    model.load_state_dict(state, strict=True)
    return model
