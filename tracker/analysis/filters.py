"""Smoothing filters for joint trajectories, chosen by name; each runs inside one gap-free run of samples.

Defaults and their sources:
- butterworth: zero-lag low-pass (scipy filtfilt), order 4 and cutoff 6 Hz as Sports2D/Pose2Sim
  (Pagnon et al., JOSS 2022/2023). As there, `order` is the order of the two-pass result: each pass
  is a Butterworth of order/2, so the gain at the cutoff is 1/2 (-6 dB) and there is no phase shift.
- savgol: Savitzky-Golay, window 11 and polynomial order 2 (mmpose's SavizkyGolayFilter defaults).
- gaussian: Gaussian kernel, sigma 4 frames, window 11 (mmpose's GaussianFilter defaults).
- one-euro: the 1-Euro filter (Casiez, Roussel, Vogel, CHI 2012), causal, for online use:
  min_cutoff 1 Hz, beta 0 and d_cutoff 1 Hz, the paper's starting point before tuning.
- kalman: the tracker's causal constant-velocity Kalman filter (tracker.outputs.smoothing.PoseSmoother),
  noise from configs/track_posetrack.yaml (acceleration 1 px/frame², measurement 4 px).
- rts: the same model, smoothed forward and backward (filterpy's Rauch-Tung-Striebel smoother): zero-lag.
"""
from __future__ import annotations

import functools
import math

import numpy as np

from tracker.analysis.options import NAMES, FilterOptions
from tracker.analysis.runs import per_run
from tracker.errors import TrackerError


def check(options: FilterOptions, fps: float) -> None:
    """TrackerError naming the flag when the options cannot filter at this frame rate."""
    if options.name not in NAMES:
        raise TrackerError(f"unknown filter {options.name!r}; choose one of {', '.join(NAMES)}.")
    if options.name == "butterworth":
        if options.order < 2 or options.order % 2:
            raise TrackerError(f"--order {options.order}: the zero-lag Butterworth needs an even order of 2 or more.")
        if not 0 < options.cutoff_hz < fps / 2:
            raise TrackerError(f"--cutoff {options.cutoff_hz} Hz must lie between 0 and half the frame rate "
                               f"({fps / 2:g} Hz).")
    if options.name in ("savgol", "gaussian") and (options.window < 3 or options.window % 2 == 0):
        raise TrackerError(f"--window {options.window} must be an odd number of frames, 3 or more.")
    if options.name == "savgol" and not 0 <= options.polyorder < options.window:
        raise TrackerError(f"--polyorder {options.polyorder} must be below --window {options.window}.")
    if options.name == "gaussian" and options.sigma <= 0:
        raise TrackerError(f"--sigma {options.sigma} must be positive.")


def smooth(signal: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    """The filtered copy of a 1-D signal sampled at `fps`; NaN gaps stay and split it into runs."""
    check(options, fps)
    if options.name == "none":
        return np.array(signal, np.float64)
    function = {"butterworth": _butterworth, "savgol": _savgol, "gaussian": _gaussian,
                "one-euro": _one_euro, "kalman": _kalman, "rts": _rts}[options.name]
    return per_run(signal, lambda run: function(run, fps, options))


@functools.lru_cache(maxsize=16)
def _butterworth_design(order: int, cutoff_hz: float, fps: float) -> tuple[np.ndarray, np.ndarray]:
    from scipy.signal import butter

    return butter(order, cutoff_hz, fs=fps)


def _butterworth(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    from scipy.signal import filtfilt

    if len(run) < 2:
        return run
    b, a = _butterworth_design(options.order // 2, options.cutoff_hz, fps)
    return filtfilt(b, a, run, padlen=min(3 * max(len(a), len(b)), len(run) - 1))


def _savgol(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    from scipy.signal import savgol_filter

    window = min(options.window, len(run) - (1 - len(run) % 2))  # the largest odd window that fits
    if window <= options.polyorder:
        return run
    return savgol_filter(run, window, options.polyorder, mode="interp")


def _gaussian(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    from scipy.ndimage import gaussian_filter1d

    radius = min(options.window // 2, len(run))  # the kernel never reaches past the run's length
    return gaussian_filter1d(run, options.sigma, mode="nearest", truncate=radius / options.sigma)


def _one_euro(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    """Casiez et al. 2012, Algorithm 1: an exponential low-pass whose cutoff rises with the speed."""
    period = 1.0 / fps
    out = np.empty_like(run)
    out[0] = previous = run[0]
    speed = 0.0
    for index in range(1, len(run)):
        speed += _alpha(options.d_cutoff_hz, period) * ((run[index] - previous) / period - speed)
        cutoff = options.min_cutoff_hz + options.beta * abs(speed)
        previous += _alpha(cutoff, period) * (run[index] - previous)
        out[index] = previous
    return out


def _alpha(cutoff_hz: float, period: float) -> float:
    tau = 1.0 / (2.0 * math.pi * cutoff_hz)
    return 1.0 / (1.0 + tau / period)


def _kalman(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    from tracker.outputs.smoothing import PoseSmoother

    smoother = PoseSmoother(process_noise=options.process_noise, measurement_noise=options.measurement_noise,
                            keypoint_threshold=0.0, max_age=len(run) + 1)
    ids = np.zeros(1, np.int64)
    return np.array([smoother.step(np.array([[[value, 0.0, 1.0]]]), ids)[0, 0, 0] for value in run], np.float64)


def _rts(run: np.ndarray, fps: float, options: FilterOptions) -> np.ndarray:
    from filterpy.common import Q_discrete_white_noise
    from filterpy.kalman import KalmanFilter

    model = KalmanFilter(dim_x=2, dim_z=1)
    model.F = np.array([[1.0, 1.0], [0.0, 1.0]])  # position += velocity per frame
    model.H = np.array([[1.0, 0.0]])
    model.Q = Q_discrete_white_noise(dim=2, dt=1.0, var=options.process_noise ** 2)
    model.R = np.array([[options.measurement_noise ** 2]])
    model.x = np.array([[run[0]], [0.0]])
    model.P = np.diag([options.measurement_noise ** 2, 100.0])  # as tracker.outputs.smoothing starts a track
    means, covariances, _, _ = model.batch_filter(run[:, None])
    smoothed, _, _, _ = model.rts_smoother(means, covariances)
    return smoothed[:, 0, 0]
