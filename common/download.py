"""The weights cache and a verifying downloader.

Files land in `$HRTRACK_HOME/checkpoints` (default `~/.cache/hrtrack/checkpoints`). A download
streams into a temporary file beside its destination, is checked against its sha256, and only
then is renamed to its final name, so the cache holds whole, verified files or nothing.
"""
from __future__ import annotations

import hashlib
import http.client
import logging
import os
import re
import sys
import urllib.error
import urllib.request
from pathlib import Path

from tqdm import tqdm

from common.errors import DownloadError
from common.files import atomic_path

__all__ = ["cache_dir", "download", "weights_dir"]

LOG = logging.getLogger(__name__)

_CHUNK_BYTES = 1 << 20
_MIN_PREFIX_DIGITS = 8
_USER_AGENT = "hrtrack-weights-downloader"


def cache_dir() -> Path:
    """The hrtrack cache root: `$HRTRACK_HOME` when set, else `~/.cache/hrtrack` (not created)."""
    home = os.environ.get("HRTRACK_HOME")
    return Path(home).expanduser() if home else Path.home() / ".cache" / "hrtrack"


def weights_dir() -> Path:
    """The folder where model weights are cached and looked for: `cache_dir() / "checkpoints"`."""
    return cache_dir() / "checkpoints"


class TransferFailed(Exception):
    """A download went wrong (raised by `fetch`); `reason` is a clause (no capital, no full stop) for
    the caller's own sentence; `unreachable` says the server could not be reached at all."""

    def __init__(self, reason: str, unreachable: bool = False):
        super().__init__(reason)
        self.reason = reason
        self.unreachable = unreachable


def _check_digest_spec(sha256: str | None) -> str | None:
    """Lower-cased hex digest or prefix; refuses strings that cannot be a sha256 (prefix)."""
    if sha256 is None:
        return None
    digest = sha256.strip().lower()
    if not re.fullmatch(rf"[0-9a-f]{{{_MIN_PREFIX_DIGITS},64}}", digest):
        raise DownloadError(f"sha256 {sha256!r} is neither a 64-digit hex digest nor a hex prefix of "
                            f"at least {_MIN_PREFIX_DIGITS} digits.")
    return digest


def _transfer(url: str, target: Path, expected: str | None, progress: bool,
              timeout: float) -> None:
    """Stream `url` into the file `target`, then check its length and its sha256 (prefix)."""
    request = urllib.request.Request(url, headers={"User-Agent": _USER_AGENT})
    try:
        response = urllib.request.urlopen(request, timeout=timeout)
    except urllib.error.HTTPError as error:
        error.close()
        raise TransferFailed(f"the server answered HTTP {error.code} {error.reason}") from None
    except (urllib.error.URLError, OSError) as error:
        reason = getattr(error, "reason", error)
        raise TransferFailed(f"the server could not be reached ({reason})", unreachable=True) from None
    digest = hashlib.sha256()
    received = 0
    with response:
        length_header = response.headers.get("Content-Length")
        expected_bytes = int(length_header) if length_header and length_header.isdigit() else None
        show = progress and sys.stderr.isatty()
        with open(target, "wb") as sink, tqdm(total=expected_bytes, unit="B", unit_scale=True,
                                              unit_divisor=1024, desc=url.rsplit("/", 1)[-1],
                                              disable=not show) as bar:
            while True:
                try:
                    chunk = response.read1(_CHUNK_BYTES)
                except (OSError, http.client.HTTPException) as error:
                    raise TransferFailed(f"the transfer broke off after {received} bytes "
                                         f"({error})") from None
                if not chunk:
                    break
                sink.write(chunk)
                digest.update(chunk)
                received += len(chunk)
                bar.update(len(chunk))
            sink.flush()
            os.fsync(sink.fileno())
    if expected_bytes is not None and received != expected_bytes:
        raise TransferFailed(f"the transfer stopped after {received} of {expected_bytes} bytes")
    actual = digest.hexdigest()
    if expected is not None and not actual.startswith(expected):
        kind = "sha256" if len(expected) == 64 else "sha256 starting with"
        raise TransferFailed(f"the file has sha256 {actual} but {kind} {expected} was expected "
                             "(the server sent a different or damaged file)")


def fetch(url: str, destination: str | os.PathLike, sha256: str | None, progress: bool,
          timeout: float) -> Path:
    """Like `download`, but failures raise `TransferFailed` so callers can word the sentence."""
    target = Path(destination)
    expected = _check_digest_spec(sha256)
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TransferFailed(f"the folder {target.parent} cannot be created ({error.strerror})") \
            from None
    LOG.info("downloading %s to %s", url, target)
    try:
        with atomic_path(target) as partial:
            _transfer(url, partial, expected, progress, timeout)
    except OSError as error:  # writing the partial file or renaming it
        raise TransferFailed(f"writing {target} failed ({error})") from None
    return target


def download(url: str, destination: str | os.PathLike, sha256: str | None = None,
             progress: bool = True, *, timeout: float = 30.0) -> Path:
    """Download `url` to the file `destination` and return its path.

    `sha256` is a full hex digest or a leading part of one (at least 8 digits, checked as a
    prefix, as the `-1a2b3c4d` in published file names). A progress bar shows on a terminal
    when `progress` is true. A failed, wrong-hash or interrupted download leaves no file behind
    and raises DownloadError with one sentence.
    """
    try:
        return fetch(url, destination, sha256, progress, timeout)
    except TransferFailed as failure:
        raise DownloadError(f"Downloading {url} failed: {failure.reason}; nothing was saved.") \
            from None
