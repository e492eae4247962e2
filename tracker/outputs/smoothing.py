"""Kalman smoothing of each track's joints (filterpy), for the analysis table only.

One constant-velocity Kalman filter per track over all K joints (state: x, y, vx, vy per joint,
pixels and pixels per frame). A joint whose score is at or below the threshold is not measured in
that frame: the filter only predicts it. Filtering is causal (no look-ahead), so memory is flat.
The filters' means and covariances are `SmootherState`, so `--resume` goes on with them exactly.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from filterpy.kalman import KalmanFilter


@dataclass(frozen=True)
class SmootherState:
    """The frames seen and, per live track id: its filter's mean (4K,1), covariance (4K,4K) and last frame."""

    frame: int
    filters: dict[int, tuple[np.ndarray, np.ndarray, int]]

    def to_data(self) -> dict[str, Any]:
        """Plain data for the resume file (float64 survives JSON exactly)."""
        return {"frame": self.frame,
                "filters": [{"id": track_id, "x": x.ravel().tolist(), "P": p.tolist(), "last": last}
                            for track_id, (x, p, last) in self.filters.items()]}

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> SmootherState:
        """The state `to_data` gave."""
        return cls(int(data["frame"]), {int(item["id"]): (np.asarray(item["x"], np.float64)[:, None],
                                                          np.asarray(item["P"], np.float64), int(item["last"]))
                                        for item in data["filters"]})


class _TrackFilter:
    def __init__(self, pose: np.ndarray, process_noise: float, measurement_noise: float):
        joints = pose.shape[0]
        one = np.array([[1.0, 1.0], [0.0, 1.0]])  # position += velocity per frame
        self.filter = KalmanFilter(dim_x=4 * joints, dim_z=2 * joints)
        # State order: for each joint and axis, (position, velocity).
        self.filter.F = np.kron(np.eye(2 * joints), one)
        self.filter.H = np.kron(np.eye(2 * joints), np.array([[1.0, 0.0]]))
        white = np.array([[0.25, 0.5], [0.5, 1.0]]) * process_noise ** 2  # discrete white acceleration
        self.filter.Q = np.kron(np.eye(2 * joints), white)
        self.filter.R = np.eye(2 * joints) * measurement_noise ** 2
        self.filter.x = np.zeros((4 * joints, 1))
        self.filter.x[0::2, 0] = pose[:, :2].reshape(-1)
        self.filter.P = np.kron(np.eye(2 * joints), np.diag([measurement_noise ** 2, 100.0]))
        self.measurement_noise = measurement_noise

    def step(self, pose: np.ndarray, visible: np.ndarray) -> np.ndarray:
        self.filter.predict()
        rows = np.repeat(visible, 2)
        if rows.any():
            noise = np.eye(rows.sum()) * self.measurement_noise ** 2
            self.filter.update(pose[:, :2].reshape(-1)[rows][:, None], R=noise, H=self.filter.H[rows])
        return self.filter.x[0::2, 0].reshape(-1, 2)


class PoseSmoother:
    """Smoothed (x, y) per joint for tracked poses, one filter per track id; ids are not reused."""

    def __init__(self, *, process_noise: float, measurement_noise: float, keypoint_threshold: float,
                 max_age: int):
        self.process_noise = process_noise
        self.measurement_noise = measurement_noise
        self.keypoint_threshold = keypoint_threshold
        self.max_age = max_age
        self._filters: dict[int, tuple[_TrackFilter, int]] = {}
        self._frame = 0

    def state(self) -> SmootherState:
        """The filters as they are now (copies)."""
        return SmootherState(self._frame, {track_id: (item.filter.x.copy(), item.filter.P.copy(), last)
                                           for track_id, (item, last) in self._filters.items()})

    def restore(self, state: SmootherState, joints: int) -> None:
        """Continue from `state()`, for poses of `joints` joints."""
        self._frame = state.frame
        self._filters = {}
        for track_id, (x, p, last) in state.filters.items():
            item = _TrackFilter(np.zeros((joints, 3)), self.process_noise, self.measurement_noise)
            item.filter.x, item.filter.P = x.copy(), p.copy()
            self._filters[track_id] = (item, last)

    def step(self, poses: np.ndarray, ids: np.ndarray) -> np.ndarray:
        """Smoothed positions (N,K,2) float32 for this frame's poses (N,K,3) with track ids (N,)."""
        self._frame += 1
        out = np.asarray(poses, np.float32)[:, :, :2].copy()
        for index, track_id in enumerate(np.asarray(ids).tolist()):
            if track_id < 0:
                continue
            visible = poses[index, :, 2] > self.keypoint_threshold
            if track_id not in self._filters:
                self._filters[track_id] = (_TrackFilter(poses[index], self.process_noise, self.measurement_noise),
                                           self._frame)
                continue
            track_filter, _ = self._filters[track_id]
            out[index] = track_filter.step(poses[index], visible)
            self._filters[track_id] = (track_filter, self._frame)
        # Forget filters of tracks that have ended, so memory stays flat over long videos.
        self._filters = {key: value for key, value in self._filters.items()
                         if self._frame - value[1] < self.max_age}
        return out
