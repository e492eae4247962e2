"""Where a tracked video's files go: the one place that names outputs, their temporary files and the resume state.

An input's outputs are named after the path its source names (`VideoSource.path`: a file's stem, a folder's
name, a glob's folder, `webcam0` or a stream's last URL part): `NAME.mp4`, `NAME.json`, `NAME.csv` and, while a
run can be continued, `.NAME.resume.json`, all in the output folder.
"""
from __future__ import annotations

from pathlib import Path

from tracker.io.video import check_input, expand_inputs, is_stream, stream_name

SUFFIXES = {"video": "mp4", "json": "json", "csv": "csv"}
"""Each output kind (the `output` config key that turns it on) and its file suffix."""


def output_name(source: Path) -> str:
    """The stem of a video's outputs: the file's stem, or the folder's name."""
    return source.stem if source.is_file() else source.name


def output_names(inputs: list[str]) -> list[str]:
    """The output names tracking `inputs` gives, one per video they stand for (a folder of videos gives each
    of its videos), in order. Files, folders and globs are opened as the tracker opens them, so the names are
    the tracker's; a stream is named from its address alone (opening it again would read on)."""
    return [stream_name(video) if is_stream(video) else output_name(check_input(video))
            for video in expand_inputs(inputs)]


def output_path(out_dir: Path, name: str, kind: str) -> Path:
    """The file of one output kind (a key of SUFFIXES) of the outputs called `name`."""
    return out_dir / f"{name}.{SUFFIXES[kind]}"


def part_paths(out_dir: Path, name: str) -> list[Path]:
    """The temporary files (`.NAME.SUFFIX.*.part.SUFFIX`, `common.files`) that writing `name`'s outputs makes."""
    return [path for suffix in SUFFIXES.values() for path in out_dir.glob(f".{name}.{suffix}.*.part.{suffix}")]


def state_path(out_dir: Path, name: str) -> Path:
    """Where the resume state of the outputs called `name` lives."""
    return out_dir / f".{name}.resume.json"
