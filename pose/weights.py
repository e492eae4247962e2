"""Weights files on disk: a path is used as is, a registry name is found in the cache or downloaded there."""
from __future__ import annotations

import os
from pathlib import Path

from common.download import weights_dir
from common.weight_files import WeightFile, fetch_missing, missing_message
from pose.errors import PoseError
from pose.weights_registry import get_entry

__all__ = ["resolve_weights", "weight_file"]

_MIB = 1 << 20


def weight_file(name: str, option: str = "--pose-weights PATH") -> WeightFile:
    """The file of the registry entry `name` in `weights_dir()`; `option` is the command-line way to give a path
    instead. Its size is estimated from the network's parameters (fp32), as the publishers give none."""
    entry = get_entry(name)
    return WeightFile(name=entry.name, kind="pose" if entry.config else "backbone", file_name=entry.file_name,
                      url=entry.url, folder=weights_dir(), sha256=entry.sha256, hash_prefix=entry.hash_prefix,
                      size_mb=entry.params_m * 1e6 * 4 / _MIB,
                      size_note=f"(estimated: {entry.params_m:g} M parameters in fp32)",
                      alternative=f"pass {option}", source=entry.source)


def resolve_weights(name_or_path: str | os.PathLike, *, download: bool = True,
                    option: str = "--pose-weights PATH") -> Path:
    """A local weights file for a path or a registry name.

    A path that exists is returned as is. A registry name is looked up in `weights_dir()`
    and, when absent and `download` is true, downloaded there (hash-checked). When the file
    cannot be had, PoseError says which file, where it was looked for, and how to provide it
    (`option` is the command-line way to give a path instead).
    """
    candidate = Path(name_or_path).expanduser()
    if candidate.is_file():
        return candidate
    if candidate.exists():
        raise PoseError(f"Weights path {candidate} is not a file; pass a .pth file.")
    file = weight_file(str(name_or_path), option)
    failed = fetch_missing([file], download=download)
    if failed:
        raise PoseError(missing_message(failed))
    return file.path
