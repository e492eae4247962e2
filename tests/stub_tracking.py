"""`python tests/stub_tracking.py FRAMES OUT [SECONDS_PER_FRAME]`: tracker.run with stub models.

A test helper, run in a subprocess by the signal tests: the real command line, outputs and signal
handling, with a pose estimator that lays poses out inside fixed boxes, takes a set time per frame and
prints `stub: pose` to stderr as each frame begins.
"""
from __future__ import annotations

from common.signals import exit_quietly_on_signals, hold_signals_until_exit

if __name__ == "__main__":  # a signal during the imports ends the process quietly: nothing is written yet
    exit_quietly_on_signals()

import sys
import time

import numpy as np

import flow
from detection.protocol import ImageBoxSource
from pose.skeleton import COCO
from tracker import runner as track
from tracker.run import main


class StubEstimator:
    """Poses laid out inside each box, score 0.9; stands in for HRNet so tests need no model."""

    keypoint_set = COCO

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        fractions = np.linspace(0.1, 0.9, COCO.num_joints)
        poses = np.zeros((len(boxes), COCO.num_joints, 3), np.float32)
        poses[:, :, 0] = boxes[:, None, 0] + fractions * (boxes[:, None, 2] - boxes[:, None, 0])
        poses[:, :, 1] = boxes[:, None, 1] + fractions[::-1] * (boxes[:, None, 3] - boxes[:, None, 1])
        poses[:, :, 2] = 0.9
        return poses


class SlowStubEstimator(StubEstimator):
    """The stub after `seconds` of pretended work, saying on stderr when each frame's poses begin."""

    def __init__(self, seconds: float):
        self.seconds = seconds

    def estimate(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        print("stub: pose", file=sys.stderr, flush=True)  # lets a test signal at a chosen frame
        time.sleep(self.seconds)
        return super().estimate(image, boxes)


class TwoPeople(ImageBoxSource):
    """Two boxes per frame, moving right a pixel a frame."""

    def boxes(self, frame, image) -> np.ndarray:
        shift = frame.index
        return np.array([[4 + shift, 4, 24 + shift, 40, 0.9], [30 + shift, 6, 50 + shift, 44, 0.8]], np.float32)


def stub_models(seconds: float) -> track.Models:
    """Models for tracker.runner that need no weights."""
    return track.Models(SlowStubEstimator(seconds), TwoPeople(), flow.create("none"))


if __name__ == "__main__":
    frames, out = sys.argv[1], sys.argv[2]
    seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 0.02
    track.build_models = lambda config, device: stub_models(seconds)
    status = main([frames, "-o", out, "--quiet"])
    hold_signals_until_exit()
    sys.exit(status)
