"""What a tracked video leaves behind: annotated MP4, PoseTrack JSON and the analysis CSV.

All three are written atomically: each appears under its final name when `VideoOutputs` closes
without an error, and not at all otherwise. The caller decides what an interruption means by
closing normally (outputs for the frames done) or with the exception (no outputs).
"""
from __future__ import annotations

import contextlib
import csv
import math
import os
from pathlib import Path

import numpy as np

from eval.posetrack_types import Frame as PoseTrackFrame
from eval.posetrack_types import Person, Sequence
from eval.posetrack_write import write_posetrack17, write_posetrack18
from common.files import atomic_open
from pose.skeleton import POSETRACK18, KeypointSet, coco_to_posetrack18
from tracker.config import OutputOptions
from tracker.errors import TrackerError
from tracker.pipeline import FrameResult
from tracker.render import Renderer, RenderOptions
from tracker.smoothing import PoseSmoother
from tracker.timing import StageTimer
from tracker.video import VideoInfo
from tracker.video_writer import VideoWriter

# Joint angles of the analysis table: (vertex joint, the two joints its arms point to).
ANGLE_JOINTS = tuple(
    (f"{side}_{vertex}", f"{side}_{first}", f"{side}_{second}")
    for side in ("left", "right")
    for vertex, first, second in (("elbow", "shoulder", "wrist"), ("knee", "hip", "ankle"),
                                  ("hip", "shoulder", "knee"), ("shoulder", "hip", "elbow"))
)


def to_posetrack18(poses: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
    """Poses (N,K,3) of the model's keypoint set in PoseTrack18's 17 slots (pose.skeleton's mapping)."""
    if keypoint_set.name == POSETRACK18.name:
        return np.asarray(poses, np.float32)
    if keypoint_set.name == "coco":
        return coco_to_posetrack18(poses) if len(poses) else np.zeros((0, 17, 3), np.float32)
    raise TrackerError(f"a {keypoint_set.name} model's joints cannot be written as PoseTrack; "
                       "use a COCO or PoseTrack18 model config.")


def joint_angles(poses: np.ndarray, keypoint_set: KeypointSet, keypoint_threshold: float) -> np.ndarray:
    """Angle in degrees at each joint of ANGLE_JOINTS -> (N,K) float64, NaN where not defined.

    Defined when the vertex and both arm joints exist in the set and score above the threshold.
    """
    angles = np.full(poses.shape[:2], np.nan)
    for vertex, first, second in ANGLE_JOINTS:
        try:
            v, a, b = (keypoint_set.index(name) for name in (vertex, first, second))
        except KeyError:
            continue
        arm_a = poses[:, a, :2] - poses[:, v, :2]
        arm_b = poses[:, b, :2] - poses[:, v, :2]
        cosine = (arm_a * arm_b).sum(axis=1) / (np.linalg.norm(arm_a, axis=1) * np.linalg.norm(arm_b, axis=1) + 1e-9)
        valid = (poses[:, [v, a, b], 2] > keypoint_threshold).all(axis=1)
        angles[:, v] = np.where(valid, np.degrees(np.arccos(np.clip(cosine, -1.0, 1.0))), np.nan)
    return angles


def _number(value: float) -> str:
    return "" if math.isnan(value) else f"{value:.2f}"


def frame_file_name(source: Path, index: int, name: str | None) -> str:
    """The PoseTrack `file_name` of a frame: `images/<folder>/<file>` for folders (the last three
    parts when the folder sits in a PoseTrack `images/<split>/` tree), `images/<video stem>/<index>.jpg`
    for videos."""
    if name is not None:
        parts = source.resolve().parts
        if len(parts) >= 3 and parts[-3] == "images":
            return f"images/{parts[-2]}/{parts[-1]}/{name}"
        return f"images/{source.name}/{name}"
    return f"images/{source.stem}/{index:06d}.jpg"


def output_name(source: Path) -> str:
    """The stem of a video's outputs: the file's stem, or the folder's name."""
    return source.stem if source.is_file() else source.name


class VideoOutputs:
    """Writes the outputs of one video into `out_dir` as `<name>.mp4`, `<name>.json`, `<name>.csv`.

    Use as a context manager; call `add` once per processed frame, in order.
    """

    def __init__(self, out_dir: Path, source: Path, info: VideoInfo, keypoint_set: KeypointSet,
                 options: OutputOptions, *, keypoint_threshold: float, max_age: int, timer: StageTimer | None = None,
                 render: RenderOptions | None = None):
        self.name = output_name(source)
        self.source = source
        self.paths = {kind: out_dir / f"{self.name}.{suffix}" for kind, suffix in
                      (("video", "mp4"), ("json", "json"), ("csv", "csv")) if getattr(options, kind)}
        if any(path.resolve() == source.resolve() for path in self.paths.values()):
            raise TrackerError(f"the output {source.name} would overwrite the input video; "
                               "choose another folder with -o.")
        self.info = info
        self.keypoint_set = keypoint_set
        self.options = options
        self.timer = timer or StageTimer()
        self.keypoint_threshold = keypoint_threshold
        self._frames: list[PoseTrackFrame] = []
        self._stack = contextlib.ExitStack()
        self._video: VideoWriter | None = None
        self._csv = None
        self._last_canvas: np.ndarray | None = None
        self._renderer = Renderer(keypoint_set, keypoint_threshold, render or RenderOptions())
        self._smoother = (PoseSmoother(process_noise=options.smoothing_process_noise,
                                       measurement_noise=options.smoothing_measurement_noise,
                                       keypoint_threshold=keypoint_threshold, max_age=max_age)
                          if options.smoothing else None)
        if "json" in self.paths:  # fail now, not after the video, if the joints cannot be written
            to_posetrack18(np.zeros((0, keypoint_set.num_joints, 3), np.float32), keypoint_set)

    def __enter__(self) -> "VideoOutputs":
        with self._stack:
            try:
                if "video" in self.paths:
                    self._video = self._stack.enter_context(
                        VideoWriter(self.paths["video"], self.info.fps, self.info.width, self.info.height))
                if "csv" in self.paths:
                    handle = self._stack.enter_context(atomic_open(self.paths["csv"], "w", encoding="utf-8",
                                                                   newline=""))
                    self._csv = csv.writer(handle)
                    smoothed = ["x_smooth", "y_smooth"] if self._smoother else []
                    self._csv.writerow(["frame", "time", "track_id", "joint", "x", "y", "score", *smoothed,
                                        "angle_deg"])
            except OSError as error:
                raise TrackerError(f"cannot write into {error.filename or self.source.name}: {error.strerror}; "
                                   "choose a writable output folder with -o.") from None
            self._stack = self._stack.pop_all()
        return self

    def add(self, result: FrameResult) -> None:
        """Record one frame in every output."""
        if self._video is not None:
            with self.timer("render"):
                canvas = self._render(result)
            with self.timer("write"):
                self._video.write(canvas)
        with self.timer("write"):
            if self._csv is not None:
                self._write_rows(result)
            if "json" in self.paths:
                self._frames.append(self._posetrack_frame(result))

    def _render(self, result: FrameResult) -> np.ndarray:
        if result.image is None:  # an undecodable frame: repeat the last picture to keep the timing
            if self._last_canvas is None:
                return np.zeros((self.info.height, self.info.width, 3), np.uint8)
            return self._last_canvas
        self._last_canvas = self._renderer.draw(result.image, result.poses, result.boxes, result.ids, result.index,
                                                result.time)
        return self._last_canvas

    def _write_rows(self, result: FrameResult) -> None:
        poses = result.poses
        smoothed = self._smoother.step(poses, result.ids) if self._smoother else None
        angles = joint_angles(poses if smoothed is None else np.concatenate([smoothed, poses[:, :, 2:]], axis=2),
                              self.keypoint_set, self.keypoint_threshold)
        for person, track_id in enumerate(result.ids.tolist()):
            for joint, joint_name in enumerate(self.keypoint_set.joints):
                x, y, score = poses[person, joint].tolist()
                row = [result.index, f"{result.time:.4f}", track_id, joint_name,
                       f"{x:.2f}", f"{y:.2f}", f"{score:.4f}"]
                if smoothed is not None:
                    row += [f"{smoothed[person, joint, 0]:.2f}", f"{smoothed[person, joint, 1]:.2f}"]
                row.append(_number(angles[person, joint]))
                self._csv.writerow(row)

    def _posetrack_frame(self, result: FrameResult) -> PoseTrackFrame:
        file_name = frame_file_name(self.source, result.index, result.name)
        slots = to_posetrack18(result.poses, self.keypoint_set)
        persons = []
        for person, track_id in enumerate(result.ids.tolist()):
            keypoints = slots[person].astype(np.float64)
            kept = keypoints[:, 2] >= self.options.kpt_thr
            scores = np.where(kept, keypoints[:, 2], 0.0)
            keypoints = np.where(kept[:, None], np.column_stack([keypoints[:, :2], np.ones(len(kept))]), 0.0)
            box = tuple(float(v) for v in result.boxes[person, :4])
            persons.append(Person(track_id=int(track_id), keypoints=keypoints,
                                  scores=scores, head_box=None, box=box, score=float(result.boxes[person, 4])))
        # image_id None: the writer numbers frames by PoseTrack's scheme where the name allows.
        return PoseTrackFrame(file_name=file_name, image_id=None, persons=persons, ignore_regions=[],
                              is_labeled=True, width=self.info.width, height=self.info.height)

    def __exit__(self, kind, error, trace) -> bool:
        if kind is None and "json" in self.paths:
            try:
                self._write_json()
            except BaseException as failure:  # the video and CSV go too: all outputs or none
                self._stack.__exit__(type(failure), failure, failure.__traceback__)
                raise
        return self._stack.__exit__(kind, error, trace)

    def _write_json(self) -> None:
        sequence = Sequence(name=self.name, frames=self._frames)
        writer = write_posetrack17 if self.options.format == "posetrack17" else write_posetrack18
        try:
            writer(sequence, self.paths["json"])
        except OSError as failure:
            raise TrackerError(f"cannot write {self.paths['json']}: {failure.strerror}; choose a writable "
                               "output folder with -o.") from None


def check_output_dir(out_dir: Path) -> None:
    """Create `out_dir` if needed; TrackerError when it cannot be created or written."""
    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrackerError(f"cannot create the output folder {out_dir}: {error.strerror}.") from None
    if not os.access(out_dir, os.W_OK | os.X_OK):
        raise TrackerError(f"the output folder {out_dir} is not writable; choose another with -o.")
