"""Hampel outlier rejection: a sample far from its window's median, in robust standard deviations, is replaced by that median.

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
    padded = np.pad(values, half_window, constant_values=np.nan)
    windows = np.lib.stride_tricks.sliding_window_view(padded, 2 * half_window + 1)
    finite = np.isfinite(values)
    median = np.full(len(values), np.nan)
    mad = np.full(len(values), np.nan)
    if finite.any():
        median[finite] = np.nanmedian(windows[finite], axis=1)
        mad[finite] = np.nanmedian(np.abs(windows[finite] - median[finite, None]), axis=1) * MAD_TO_SIGMA
    outlier = finite & (np.abs(values - median) > np.maximum(n_sigmas * mad, floor))
    return np.where(outlier, median, values), outlier
