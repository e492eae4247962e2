"""Greedy OKS association of a frame's poses with the live tracks (FlowTrack, Xiao et al. 2018).

Each track's pose is carried into this frame by the flow stage's `Motion` (`TrackSet.propagate`), so a
track last seen Q frames ago is compared through its pose propagated over those Q frames.
Similarity is OKS (`pose.oks.oks_matrix`); pairs are taken greedily in order of similarity, and
only pairs above the threshold match.
"""
from __future__ import annotations

import numpy as np

from pose.boxes import joint_extents
from pose.oks import oks_matrix
from tracker.core.flow_stage import Motion
from tracker.core.timing import StageTimer
from tracker.core.tracks import TrackSet, TrackSetState


def pose_areas(poses: np.ndarray, keypoint_threshold: float) -> np.ndarray:
    """Area (pixels^2) of the box spanned by each pose's joints scoring above the threshold -> (N,).

    Poses with fewer than two such joints span no box and get area 0.
    """
    poses = np.asarray(poses, np.float64)
    if poses.shape[0] == 0:
        return np.zeros(0)
    visible = poses[:, :, 2] > keypoint_threshold
    extents = joint_extents(poses[:, :, :2], visible)
    width, height = extents[:, 2] - extents[:, 0], extents[:, 3] - extents[:, 1]
    return np.where(visible.sum(axis=1) >= 2, width * height, 0.0)


def greedy_match(similarity: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """Pairs (row, column) taken in decreasing order of similarity, each row and column once.

    Only pairs with similarity > threshold are taken; ties keep row-major order (stable sort).
    """
    rows, cols = np.nonzero(similarity > threshold)
    order = np.argsort(-similarity[rows, cols], kind="stable")
    used_rows: set[int] = set()
    used_cols: set[int] = set()
    pairs = []
    for row, col in zip(rows[order].tolist(), cols[order].tolist()):
        if row not in used_rows and col not in used_cols:
            pairs.append((row, col))
            used_rows.add(row)
            used_cols.add(col)
    return pairs


class Associator:
    """Gives each frame's poses track ids: OKS matching against the live tracks, which it owns.

    The association step of both `tracker.run` and `tracker.associate`; the motion that carries the tracks
    into each frame comes from the flow stage (`tracker.core.flow_stage`). `sigmas` are the OKS sigmas of the
    poses' keypoint set (`pose.skeleton`).
    """

    def __init__(self, sigmas: np.ndarray, *, oks_threshold: float, keypoint_threshold: float, max_age: int,
                 timer: StageTimer | None = None):
        self.sigmas = np.asarray(sigmas, np.float64)
        self.oks_threshold = oks_threshold
        self.keypoint_threshold = keypoint_threshold
        self.timer = timer or StageTimer()
        self._tracks = TrackSet(max_age, keypoint_threshold)

    def assign(self, poses: np.ndarray, motion: Motion | None = None) -> np.ndarray:
        """Track ids (N,) int64 for this frame's poses (N,K,3); `motion` carries the tracks here first."""
        with self.timer("associate"):
            self._tracks.propagate(motion)
            matches: list[tuple[int, int]] = []
            if self._tracks.live and len(poses):
                previous = self._tracks.poses()
                similarity = oks_matrix(previous, poses,
                                        pose_areas(previous, self.keypoint_threshold),
                                        pose_areas(poses, self.keypoint_threshold),
                                        self.sigmas, keypoint_threshold=self.keypoint_threshold)
                matches = greedy_match(similarity, self.oks_threshold)
            return self._tracks.update(np.asarray(poses, np.float32), matches)

    def state(self) -> TrackSetState:
        """The tracks as they are now, for `--resume`."""
        return self._tracks.state()

    def restore(self, state: TrackSetState) -> None:
        """Continue from `state()`."""
        self._tracks.restore(state)

    def live_tracks(self) -> int:
        """How many tracks are alive (seen within the last `max_age` frames)."""
        return len(self._tracks.live)

    def tracks_started(self) -> int:
        """How many tracks were started so far (ids are 0 .. this - 1)."""
        return self._tracks.next_id
