"""DIS flow on the real PoseTrack clip: sub-pixel shifts recovered, frames warped better."""
from __future__ import annotations

from itertools import pairwise

import cv2
import numpy as np
import pytest

import flow
from flow import FlowError

MARGIN = 40  # pixels left out at every side: the interior


@pytest.fixture(scope="module")
def clip(reference_dir):
    """The 5 real 1280x720 frames, RGB."""
    folder = reference_dir / "posetrack" / "data" / "videos" / "000001_mpiinew_test"
    frames = [cv2.imread(str(folder / f"{index:06d}.jpg")) for index in range(5)]
    return [cv2.cvtColor(frame, cv2.COLOR_BGR2RGB) for frame in frames]


def _textured(image: np.ndarray) -> np.ndarray:
    """Mask of the interior pixels whose gradient is above the interior's median."""
    gray = cv2.cvtColor(image, cv2.COLOR_RGB2GRAY).astype(np.float32)
    magnitude = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    mask = np.zeros(gray.shape, dtype=bool)
    inner = magnitude[MARGIN:-MARGIN, MARGIN:-MARGIN]
    mask[MARGIN:-MARGIN, MARGIN:-MARGIN] = inner > np.median(inner)
    return mask


@pytest.mark.parametrize("options", [{}, {"preset": "medium", "scale": 0.5}])
def test_dis_recovers_a_subpixel_translation(clip, options):
    shift = np.array([1.3, -0.7])
    frame = clip[0]
    height, width = frame.shape[:2]
    moved = cv2.warpAffine(frame, np.float32([[1, 0, shift[0]], [0, 1, shift[1]]]),
                           (width, height), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REFLECT)
    field = flow.create("dis", **options).flow(frame, moved)
    assert field.shape == (height, width, 2) and field.dtype == np.float32
    found = field[_textured(frame)]
    np.testing.assert_allclose(np.median(found, axis=0), shift, atol=0.25)
    np.testing.assert_allclose(found.mean(axis=0), shift, atol=0.25)


@pytest.mark.parametrize("options", [{}, {"preset": "fast", "scale": 0.5}])
def test_dis_warps_each_frame_onto_the_next_better_than_no_motion(clip, options):
    estimator = flow.create("dis", **options)
    height, width = clip[0].shape[:2]
    grid_x, grid_y = np.meshgrid(np.arange(width, dtype=np.float32),
                                 np.arange(height, dtype=np.float32))
    inner = (slice(MARGIN, -MARGIN), slice(MARGIN, -MARGIN))
    for prev, cur in pairwise(clip):
        field = estimator.flow(prev, cur)
        # pixel (x, y) of prev is at (x, y) + flow in cur: read cur there to rebuild prev
        rebuilt = cv2.remap(cur, grid_x + field[..., 0], grid_y + field[..., 1], cv2.INTER_LINEAR)
        warped = np.abs(rebuilt[inner].astype(np.float64) - prev[inner]).mean()
        still = np.abs(cur[inner].astype(np.float64) - prev[inner]).mean()
        assert warped < 0.6 * still, (warped, still)


def test_dis_takes_any_size_and_checks_its_inputs():
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 256, (37, 53, 3), dtype=np.uint8)
    assert flow.create("dis").flow(frame, frame).shape == (37, 53, 2)
    with pytest.raises(FlowError, match="one size"):
        flow.create("dis").flow(frame, frame[:30])
    with pytest.raises(FlowError, match="RGB uint8"):
        flow.create("dis").flow(frame[..., 0], frame[..., 0])
    with pytest.raises(FlowError, match="ultrafast, fast, medium"):
        flow.create("dis", preset="slow")
    with pytest.raises(FlowError, match=r"\(0, 1\]"):
        flow.create("dis", scale=2.0)
