"""The analysis settings as frozen dataclasses, free of heavy imports so the command line can show their defaults.

Every number has its valid range beside it (common.config's `within`, the mechanism of the tracking
config), checked in one place by `check_ranges`, NaN and infinities outside every range. Filter
defaults and their sources are listed in tracker.analysis.filters.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from common.config import within

INTERPOLATIONS = ("linear", "cubic")
NAMES = ("butterworth", "savgol", "gaussian", "one-euro", "kalman", "rts", "none")
MAX_FPS = 100_000.0  # frame rates above this are a mistake (high-speed cameras reach tens of thousands)


@dataclass(frozen=True)
class FilterOptions:
    """A filter's name and every filter's parameters (only the chosen filter's are read)."""

    name: str = field(default="butterworth", metadata=within(choices=NAMES, flag="--filter"))
    order: int = field(default=4, metadata=within(2, 16, flag="--order"))  # butterworth, of the two-pass result
    cutoff_hz: float = field(default=6.0, metadata=within(above=0, flag="--cutoff"))  # butterworth
    window: int = field(default=11, metadata=within(3, flag="--window"))  # savgol and gaussian, frames (odd)
    polyorder: int = field(default=2, metadata=within(0, flag="--polyorder"))  # savgol
    sigma: float = field(default=4.0, metadata=within(above=0, flag="--sigma"))  # gaussian, frames
    min_cutoff_hz: float = field(default=1.0, metadata=within(above=0, flag="--min-cutoff"))  # one-euro
    beta: float = field(default=0.0, metadata=within(0, flag="--beta"))  # one-euro, per (unit/s) of speed
    d_cutoff_hz: float = field(default=1.0, metadata=within(above=0, flag="--d-cutoff"))  # one-euro
    process_noise: float = field(default=1.0, metadata=within(above=0, flag="--process-noise"))  # kalman/rts, /frame²
    measurement_noise: float = field(default=4.0, metadata=within(above=0, flag="--measurement-noise"))  # units


@dataclass(frozen=True)
class ProcessOptions:
    """Outlier, gap and filter settings. max_gap 10 frames as Sports2D's interp_gap_smaller_than;
    Hampel as tracker.analysis.outliers (7 samples either side, 3 sigmas); half_window 0 turns it off.
    Windows longer than a track act as the whole track."""

    max_gap: int = field(default=10, metadata=within(0, flag="--max-gap"))
    interpolation: str = field(default="linear", metadata=within(choices=INTERPOLATIONS, flag="--interpolation"))
    hampel_half_window: int = field(default=7, metadata=within(0, flag="--hampel-window"))
    hampel_sigmas: float = field(default=3.0, metadata=within(above=0, flag="--hampel-sigmas"))
    filter: FilterOptions = field(default_factory=FilterOptions)
