"""Reading and writing the evaluators' JSON files, with one-sentence EvalErrors naming the file."""
from __future__ import annotations

import json
import math
import os
from typing import Any

from eval.errors import EvalError
from pose.files import atomic_open


def read_json(path: str | os.PathLike, what: str | None = None) -> Any:
    """Load a JSON file; EvalError naming the file (as "<what> file <path>" when `what` is given)
    and, for bad JSON, the line and column."""
    name = f"{what} file {path}" if what else str(path)
    try:
        with open(path, encoding="utf-8") as handle:
            return json.load(handle)
    except FileNotFoundError:
        raise EvalError(f"{name} does not exist.") from None
    except IsADirectoryError:
        raise EvalError(f"{name} is a folder; give a JSON file.") from None
    except OSError as error:
        raise EvalError(f"cannot read {name}: {error.strerror}.") from None
    except json.JSONDecodeError as error:
        raise EvalError(f"{name} is not valid JSON: {error.msg} at line {error.lineno}, "
                        f"column {error.colno}.") from None
    except UnicodeDecodeError:
        raise EvalError(f"{name} is not a UTF-8 text file.") from None


def _nan_to_null(value: Any) -> Any:
    """A copy of nested dicts with NaN floats replaced by None, so the JSON written stays standard."""
    if isinstance(value, dict):
        return {key: _nan_to_null(item) for key, item in value.items()}
    return None if isinstance(value, float) and math.isnan(value) else value


def write_json(path: str | os.PathLike, data: dict) -> None:
    """Write a result atomically as indented JSON, NaN as null; EvalError if it cannot be written."""
    try:
        with atomic_open(path, "w", encoding="utf-8") as handle:
            json.dump(_nan_to_null(data), handle, indent=2, allow_nan=False)
    except OSError as error:
        raise EvalError(f"cannot write {path}: {error.strerror}.") from None
