"""Hampel outlier rejection: a sample far from its window's median, in robust standard deviations, is replaced by
that median.

Defaults follow Hampel's identifier as usually stated (Pearson et al., "Generalized Hampel Filters",
EURASIP J. Adv. Signal Process. 2016): a window of 7 samples either side and a threshold of 3
scaled MADs (MAD x 1.4826, the standard deviation of Gaussian data). NaN samples are ignored in the
window and stay NaN. A deviation up to `floor` (1 pixel by default) is never an outlier: keypoints
are quantised to heatmap cells, so a window's MAD can be 0 and would otherwise flag any change.
"""
from __future__ import annotations

import numpy as np

MAD_TO_SIGMA = 1.4826  # 1 / Phi^-1(3/4): MAD of Gaussian data times this is its standard deviation


def hampel(signal: np.ndarray, half_window: int = 7, n_sigmas: float = 3.0,
           floor: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(cleaned copy, bool mask of replaced samples) of a 1-D signal."""
    values = np.asarray(signal, np.float64)
    half_window = min(half_window, max(len(values) - 1, 0))  # a wider window holds the same samples
    padded = np.pad(values, half_window, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
    finite = np.isfinite(values)
    median = _row_medians(windows)
    mad = _row_medians(np.abs(windows - median[:, None])) * MAD_TO_SIGMA
    outlier = finite & (np.abs(values - median) > np.maximum(n_sigmas * mad, floor))
    return np.where(outlier, median, values), outlier


def _row_medians(rows: np.ndarray) -> np.ndarray:
    """Median of each row of a 2-D array, NaN ignored (NaN for a row without a number); sorting puts NaN last."""
    ordered = np.sort(rows, axis=1)
    count = np.isfinite(rows).sum(axis=1)
    index = np.arange(len(rows))
    low = ordered[index, np.maximum(count - 1, 0) // 2]
    high = ordered[index, count // 2 - (count == 0)]
    return np.where(count > 0, (low + high) / 2.0, np.nan)
