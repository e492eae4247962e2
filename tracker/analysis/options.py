"""The analysis settings as frozen dataclasses, free of heavy imports so the command line can show their defaults.

Filter defaults and their sources are listed in tracker.analysis.filters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

INTERPOLATIONS = ("linear", "cubic")
NAMES = ("butterworth", "savgol", "gaussian", "one-euro", "kalman", "rts", "none")


@dataclass(frozen=True)
class FilterOptions:
    """A filter's name and every filter's parameters (only the chosen filter's are read)."""

    name: str = "butterworth"
    order: int = 4            # butterworth, of the two-pass result
    cutoff_hz: float = 6.0    # butterworth
    window: int = 11          # savgol and gaussian, frames (odd)
    polyorder: int = 2        # savgol
    sigma: float = 4.0        # gaussian, frames
    min_cutoff_hz: float = 1.0  # one-euro
    beta: float = 0.0           # one-euro, per (unit/s) of speed
    d_cutoff_hz: float = 1.0    # one-euro
    process_noise: float = 1.0      # kalman/rts: acceleration, units per frame²
    measurement_noise: float = 4.0  # kalman/rts: units


@dataclass(frozen=True)
class ProcessOptions:
    """Outlier, gap and filter settings. max_gap 10 frames as Sports2D's interp_gap_smaller_than;
    Hampel as tracker.analysis.outliers (7 samples either side, 3 sigmas); half_window 0 turns it off."""

    max_gap: int = 10
    interpolation: str = "linear"
    hampel_half_window: int = 7
    hampel_sigmas: float = 3.0
    filter: FilterOptions = field(default_factory=FilterOptions)
