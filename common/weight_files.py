"""Weights files a run needs, from any package: what each is, where it goes, fetching the missing ones together.

Pose, detector and flow weights come from different places (`pose.weights_registry`, torchvision) and land in
different folders (`$HRTRACK_HOME/checkpoints`, `$TORCH_HOME/hub/checkpoints`). Each package describes its files as
`WeightFile`s; `fetch_missing` then tries every missing one, and `missing_message` names all that could not be had in
one message, so that a user learns everything a run lacks at once.
"""
from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from common.download import TransferFailed, fetch

__all__ = ["Unavailable", "WeightFile", "describe", "fetch_missing", "missing_message"]


@dataclass(frozen=True)
class WeightFile:
    """One weights file: its published name and URL, the folder it is looked for in, how it is checked.

    `sha256` is the full digest where the publisher gives one; `hash_prefix` the leading digits its file name
    carries (torchvision and mmpose publish only those). `size_mb` (MiB) is the publisher's figure, or an
    estimate (`size_note` says which). `alternative` is the command-line way around the file (`--pose-weights PATH`).
    """

    name: str  # what a user calls it: a registry name, a detector or flow name
    kind: str  # "pose", "backbone" (ImageNet, for training), "detector" or "flow"
    file_name: str
    url: str | None  # None: no direct download, `source` says where to get it
    folder: Path
    sha256: str | None
    hash_prefix: str | None
    size_mb: float | None
    size_note: str
    alternative: str
    source: str = ""

    @property
    def path(self) -> Path:
        """Where the file is looked for."""
        return self.folder / self.file_name

    @property
    def cached(self) -> bool:
        """Whether the file is in its folder already."""
        return self.path.is_file()

    @property
    def expected_hash(self) -> str | None:
        """The full sha256 when published, else the prefix in the file name (checked as a prefix)."""
        return self.sha256 or self.hash_prefix


@dataclass(frozen=True)
class Unavailable:
    """A file that is missing and could not be fetched, and why (a clause: no capital, no full stop)."""

    file: WeightFile
    reason: str


def fetch_missing(files: list[WeightFile], *, download: bool = True, progress: bool = True,
                  timeout: float = 30.0) -> list[Unavailable]:
    """Fetch every file of `files` that is not cached (hash-checked, with a progress bar on a terminal); returns
    those that could not be had. Each is tried, so one failure does not hide the others' state; a server that
    could not be reached is not tried again for the next file."""
    failed = []
    unreachable: dict[str, str] = {}  # server -> why
    for file in dict.fromkeys(files):  # each file once, in order
        if file.cached:
            continue
        server = urllib.parse.urlsplit(file.url).netloc if file.url else ""
        if file.url is None:
            failed.append(Unavailable(file, "there is no direct download"))
        elif not download:
            failed.append(Unavailable(file, "downloading is off"))
        elif server in unreachable:
            failed.append(Unavailable(file, unreachable[server]))
        else:
            try:
                fetch(file.url, file.path, file.expected_hash, progress=progress, timeout=timeout)
            except TransferFailed as failure:
                failed.append(Unavailable(file, failure.reason))
                if failure.unreachable:
                    unreachable[server] = failure.reason
    return failed


def missing_message(failed: list[Unavailable]) -> str:
    """One message naming every unavailable file: its name, URL, the folder to put it in, and the alternative.

    One file gives one sentence; several give a sentence and a line per file.
    """
    def remedy(file: WeightFile) -> str:
        origin = f"download {file.url}" if file.url else f"get it from {file.source}"
        return f"{origin} into {file.folder}, or {file.alternative}"

    def named(file: WeightFile) -> str:
        return f"{file.file_name} ({file.kind} weights {file.name})"

    if len(failed) == 1:
        item = failed[0]
        return f"{named(item.file)} is missing and could not be fetched because {item.reason}; {remedy(item.file)}."
    reasons = {item.reason for item in failed}
    shared = f" because {failed[0].reason}" if len(reasons) == 1 else ""
    lines = [(f"{len(failed)} weights files are missing and could not be fetched{shared}; put each in its folder, "
              "or use the alternative:")]
    for item in failed:
        why = "" if shared else f" (not fetched because {item.reason})"
        lines.append(f"  {named(item.file)}{why}: {remedy(item.file)}")
    return "\n".join(lines)


def describe(file: WeightFile, usage: str) -> list[str]:
    """The lines `list` prints for one file: name, URL, size, sha256, folder, cached or not, who uses it."""
    if file.sha256:
        digest = file.sha256
    elif file.hash_prefix:
        digest = f"starts with {file.hash_prefix} (only this prefix is published, in the file name)"
    else:
        digest = "not published (the file is loaded unchecked)"
    size = f"{file.size_mb:.1f} MiB {file.size_note}".rstrip() if file.size_mb else "unknown"
    return [f"{file.file_name}",
            f"  {file.kind} weights {file.name}; {usage}",
            f"  url     {file.url or 'none: get it from ' + file.source}",
            f"  size    {size}",
            f"  sha256  {digest}",
            f"  folder  {file.folder}",
            f"  cached  {'yes' if file.cached else 'no'}"]
