"""Weights files on disk: a path is used as is, a registry name is found in the cache or downloaded there."""
from __future__ import annotations

import os
from pathlib import Path

from common.download import TransferFailed, fetch, weights_dir
from pose.errors import PoseError
from pose.weights_registry import get_entry

__all__ = ["resolve_weights"]


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
    entry = get_entry(str(name_or_path))
    folder = weights_dir()
    target = folder / entry.file_name
    if target.is_file():
        return target
    remedy = f"put the file in that folder or pass {option}"
    if entry.url is None:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and have "
                        f"no direct download; get them from {entry.source}, then {remedy}.")
    if not download:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and "
                        f"downloading is off; download {entry.url}, then {remedy}.")
    try:
        return fetch(entry.url, target, entry.expected_hash, progress=True, timeout=30.0)
    except TransferFailed as failure:
        raise PoseError(f"Weights {entry.name} ({entry.file_name}) are not in {folder} and "
                        f"downloading {entry.url} failed because {failure.reason}; download it "
                        f"yourself, then {remedy}.") from None
