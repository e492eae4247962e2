"""Atomic file writing: outputs appear whole under their final name, or not at all.

Every writer in hrtrack (JSON, CSV, video, checkpoints, downloads) goes through here, so an
interrupted run never leaves half a file behind.
"""
from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import IO


def _current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is renamed to `path`, else removed.

    Use it for writers that want a file name (OpenCV's VideoWriter, torch.save).
    The temporary file keeps the target's suffix, since some writers choose a format by it.
    """
    target = Path(path)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{target.name}.", suffix=f".part{target.suffix}",
                                    dir=target.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_current_umask())  # mkstemp makes 0600; give the usual mode
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@contextlib.contextmanager
def atomic_open(path: str | os.PathLike, mode: str = "w", **kwargs) -> Iterator[IO]:
    """Open a temporary file beside `path` for writing; rename it to `path` when the block ends."""
    if not any(flag in mode for flag in "wx"):
        raise ValueError(f"atomic_open writes files; mode {mode!r} does not write")
    with atomic_path(path) as tmp, open(tmp, mode.replace("x", "w"), **kwargs) as handle:
        yield handle
        handle.flush()
        os.fsync(handle.fileno())
