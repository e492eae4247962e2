"""Each analysis filter on signals with known answers, and the steps around them (gaps, Hampel).

Signals are sampled at 30 frames/s. The sine is 10 px at 0.5 Hz plus Gaussian noise of 1 px (seeded);
amplitude and phase are fitted by least squares away from the first and last second. Tolerances:
zero-lag filters keep the amplitude within 5% and the phase within 1 degree; the causal One-Euro
filter with beta 0 is a first-order low-pass at min_cutoff, whose answer is known in closed form
(gain 1/sqrt(1 + (f/fc)^2), lag atan(f/fc)); the causal Kalman filter keeps the amplitude within 5%
and lags by under 2 degrees at its default noise.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from tracker.analysis.filters import smooth
from tracker.analysis.gaps import fill_gaps
from tracker.analysis.options import FilterOptions
from tracker.analysis.outliers import hampel
from tracker.errors import TrackerError

FPS = 30.0
FREQUENCY = 0.5
TIMES = np.arange(600) / FPS
CLEAN = 10.0 * np.sin(2 * np.pi * FREQUENCY * TIMES)
NOISY = CLEAN + np.random.default_rng(0).normal(0.0, 1.0, len(TIMES))
ZERO_LAG = ("butterworth", "savgol", "gaussian", "rts")


def _amplitude_and_phase(signal: np.ndarray) -> tuple[float, float]:
    """Amplitude relative to the clean sine's and phase in degrees (negative = lag), fitted over the middle."""
    middle = slice(int(FPS), -int(FPS))
    phase = 2 * np.pi * FREQUENCY * TIMES[middle]
    basis = np.column_stack([np.sin(phase), np.cos(phase)])
    (sine, cosine), *_ = np.linalg.lstsq(basis, signal[middle], rcond=None)
    return math.hypot(sine, cosine) / 10.0, math.degrees(math.atan2(cosine, sine))


@pytest.mark.parametrize("name", ZERO_LAG)
def test_zero_lag_filters_keep_amplitude_and_phase_and_remove_noise(name):
    filtered = smooth(NOISY, FPS, FilterOptions(name=name))
    amplitude, phase = _amplitude_and_phase(filtered)
    assert amplitude == pytest.approx(1.0, abs=0.05)
    assert abs(phase) < 1.0
    middle = slice(int(FPS), -int(FPS))
    assert np.std(filtered[middle] - amplitude * CLEAN[middle]) < 0.7 * np.std(NOISY - CLEAN)


def test_one_euro_with_beta_zero_is_the_first_order_low_pass_of_its_paper():
    cutoff = FilterOptions().min_cutoff_hz
    amplitude, phase = _amplitude_and_phase(smooth(NOISY, FPS, FilterOptions(name="one-euro")))
    assert amplitude == pytest.approx(1.0 / math.sqrt(1.0 + (FREQUENCY / cutoff) ** 2), abs=0.02)
    assert phase == pytest.approx(-math.degrees(math.atan(FREQUENCY / cutoff)), abs=1.5)


def test_one_euro_beta_follows_fast_motion():
    fast = FilterOptions(name="one-euro", beta=1.0)
    assert _amplitude_and_phase(smooth(NOISY, FPS, fast))[0] > 0.97


def test_kalman_is_causal_and_close():
    amplitude, phase = _amplitude_and_phase(smooth(NOISY, FPS, FilterOptions(name="kalman")))
    assert amplitude == pytest.approx(1.0, abs=0.05)
    assert -2.0 < phase <= 0.0


# A step of 10 px at frame 60; "smeared" = off the step by more than 1% of its height.
STEP = np.where(np.arange(120) >= 60, 10.0, 0.0)


@pytest.mark.parametrize("name, before, after", [
    ("savgol", 5, 5), ("gaussian", 5, 5),  # half of the 11-frame window
    ("butterworth", 5, 5),                 # 1/6 s at the 6 Hz cutoff
    ("rts", 12, 12),                       # the smoother's reach at its default noise ratio
    ("one-euro", 0, 30), ("kalman", 0, 12),  # causal: nothing moves before the step
])
def test_a_step_is_not_smeared_beyond_the_filters_window(name, before, after):
    smeared = np.flatnonzero(np.abs(smooth(STEP, FPS, FilterOptions(name=name)) - STEP) > 0.1) - 60
    assert len(smeared) and smeared.min() >= -before and smeared.max() < after


@pytest.mark.parametrize("name", ZERO_LAG + ("one-euro", "kalman"))
def test_filters_do_not_bridge_gaps(name):
    signal = NOISY[:200].copy()
    signal[90:110] = np.nan
    filtered = smooth(signal, FPS, FilterOptions(name=name))
    assert np.isnan(filtered[90:110]).all() and np.isfinite(filtered[:90]).all() and np.isfinite(filtered[110:]).all()
    # each side is filtered as if the other did not exist
    assert filtered[:90] == pytest.approx(smooth(signal[:90], FPS, FilterOptions(name=name)))


def test_bad_filter_settings_are_one_sentence():
    with pytest.raises(TrackerError, match="half the frame rate"):
        smooth(NOISY, FPS, FilterOptions(cutoff_hz=20.0))
    with pytest.raises(TrackerError, match="even order"):
        smooth(NOISY, FPS, FilterOptions(order=3))
    with pytest.raises(TrackerError, match="odd number"):
        smooth(NOISY, FPS, FilterOptions(name="savgol", window=10))


def test_gaps_up_to_max_gap_are_interpolated_and_longer_ones_stay():
    ramp = np.arange(40, dtype=float) * 2.0
    holed = ramp.copy()
    holed[[0, 5, 6, 7]] = np.nan   # the leading sample is not extrapolated
    holed[20:32] = np.nan          # 12 frames: longer than max_gap
    filled = fill_gaps(holed, max_gap=10, method="linear")
    assert np.isnan(filled[0]) and filled[5:8] == pytest.approx(ramp[5:8]) and np.isnan(filled[20:32]).all()
    wave = CLEAN[:90].copy()
    wave[40:48] = np.nan
    cubic, linear = fill_gaps(wave, 10, "cubic"), fill_gaps(wave, 10, "linear")
    def error(filled):
        return np.abs(filled[40:48] - CLEAN[40:48]).max()

    assert error(cubic) < 0.05 < error(linear)


def test_hampel_replaces_a_spike_by_the_median_and_keeps_a_clean_sine():
    spiky = CLEAN.copy()
    spiky[100] += 50.0
    cleaned, replaced = hampel(spiky)
    assert np.flatnonzero(replaced).tolist() == [100]
    assert abs(cleaned[100] - CLEAN[100]) < 2.0
    assert not hampel(CLEAN)[1].any()
