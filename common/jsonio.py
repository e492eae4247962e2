"""The one reader of JSON and YAML files, and the atomic JSON writer.

Every way a file can fail to read (absent, a folder, unreadable, not UTF-8 text, bad syntax, nesting
deeper than the parser's recursion) becomes one sentence naming the file, raised as the caller's own
exception type, so each package keeps its error while the wording stays the same everywhere.
"""
from __future__ import annotations

import json
import math
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

from common.errors import UserError
from common.files import atomic_open

ErrorType = Callable[[str], Exception]


def _read_text(path: Path, name: str, kind: str, error: ErrorType) -> str:
    try:
        return path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise error(f"{name} does not exist.") from None
    except IsADirectoryError:
        raise error(f"{name} is a folder; give a {kind} file.") from None
    except UnicodeDecodeError:
        raise error(f"{name} is not a UTF-8 text file.") from None
    except OSError as failure:
        raise error(f"cannot read {name}: {failure.strerror}.") from None


def _describe(path: str | os.PathLike, what: str | None) -> str:
    """"<what> file <path>" ("PoseTrack file" stays one "file")."""
    if not what:
        return str(path)
    return f"{what} {path}" if what.endswith(" file") else f"{what} file {path}"


def _too_deep(name: str) -> str:
    return f"{name} is nested too deeply to read (brackets inside brackets beyond Python's limit)."


def read_json(path: str | os.PathLike, what: str | None = None, *, error: ErrorType = UserError) -> Any:
    """Parse a JSON file; `error` (the caller's exception type) carries one sentence naming the file
    ("<what> file <path>" when `what` is given) and, for bad JSON, the line and column."""
    name = _describe(path, what)
    text = _read_text(Path(path), name, "JSON", error)
    try:
        return json.loads(text)
    except json.JSONDecodeError as failure:
        raise error(f"{name} is not valid JSON: {failure.msg} at line {failure.lineno}, "
                    f"column {failure.colno}.") from None
    except RecursionError:
        raise error(_too_deep(name)) from None


def read_yaml(path: str | os.PathLike, what: str | None = None, *, error: ErrorType = UserError) -> Any:
    """Parse a YAML file (safe loader); the same one-sentence errors as `read_json`. Empty -> None."""
    import yaml  # here, so the CLIs that only read JSON do not pay for it

    name = _describe(path, what)
    text = _read_text(Path(path), name, "YAML", error)
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as failure:
        first_line = str(failure).splitlines()[0] if str(failure) else type(failure).__name__
        raise error(f"{name} is not valid YAML ({first_line}).") from None
    except RecursionError:
        raise error(_too_deep(name)) from None


def _nan_to_null(value: Any) -> Any:
    """A copy of nested dicts and lists with NaN floats replaced by None, so the JSON stays standard."""
    if isinstance(value, dict):
        return {key: _nan_to_null(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_nan_to_null(item) for item in value]
    return None if isinstance(value, float) and math.isnan(value) else value


def write_json(path: str | os.PathLike, data: Any, *, error: ErrorType = UserError) -> None:
    """Write `data` atomically as indented JSON, NaN as null; `error` if it cannot be written."""
    try:
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(_nan_to_null(data), handle, indent=2, allow_nan=False)
    except OSError as failure:
        raise error(f"cannot write {path}: {failure.strerror}.") from None
