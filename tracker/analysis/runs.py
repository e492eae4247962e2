"""Runs of finite samples in a signal with NaN gaps: every offline filter works inside one run at a time."""
from __future__ import annotations

from collections.abc import Callable

import numpy as np


def finite_runs(signal: np.ndarray) -> list[slice]:
    """Slices of the maximal runs of finite values in a 1-D array, in order."""
    finite = np.concatenate([[False], np.isfinite(signal), [False]])
    edges = np.flatnonzero(np.diff(finite.astype(np.int8)))
    return [slice(start, stop) for start, stop in zip(edges[0::2], edges[1::2])]


def per_run(signal: np.ndarray, function: Callable[[np.ndarray], np.ndarray]) -> np.ndarray:
    """`function` applied to each finite run of a 1-D float array; NaN stays NaN (no filter bridges a gap)."""
    out = np.array(signal, np.float64)
    for run in finite_runs(out):
        out[run] = function(out[run])
    return out
