"""The PoseTrack JSON of a tracked video, streamed: each frame's persons are spooled as they come, not kept."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np

from eval.posetrack.types import Frame, Person
from eval.posetrack.write import SequenceWriter
from pose.skeleton import POSETRACK18, KeypointSet, coco_to_posetrack18
from tracker.core.pipeline import FrameResult
from tracker.core.timing import StageTimer
from tracker.errors import TrackerError


def to_posetrack18(poses: np.ndarray, keypoint_set: KeypointSet) -> np.ndarray:
    """Poses (N,K,3) of the model's keypoint set in PoseTrack18's 17 slots (pose.skeleton's mapping)."""
    if keypoint_set.name == POSETRACK18.name:
        return np.asarray(poses, np.float32)
    if keypoint_set.name == "coco":
        return coco_to_posetrack18(poses) if len(poses) else np.zeros((0, 17, 3), np.float32)
    raise TrackerError(f"a {keypoint_set.name} model's joints cannot be written as PoseTrack; "
                       "use a COCO or PoseTrack18 model config.")


def frame_file_name(source: Path, index: int, name: str | None) -> str:
    """The PoseTrack `file_name` of a frame: `images/<folder>/<file>` for image files (the last three
    parts when the folder sits in a PoseTrack `images/<split>/` tree; a single image's folder is the one
    holding it), `images/<video stem>/<index>.jpg` for videos."""
    if name is not None:
        parts = (source.parent if source.is_file() else source).resolve().parts
        if len(parts) >= 3 and parts[-3] == "images":
            return f"images/{parts[-2]}/{parts[-1]}/{name}"
        return f"images/{parts[-1]}/{name}"
    return f"images/{source.stem}/{index:06d}.jpg"


def frame_persons(result: FrameResult, keypoint_set: KeypointSet, kpt_thr: float) -> list[Person]:
    """A frame's tracked persons as PoseTrack18 persons. Every joint keeps its score (which may be
    negative), so `eval sweep` can pick the threshold from one run; only a `kpt_thr` above 0 (asked for
    with --kpt-thr) writes the joints scoring under it as absent, as a leaderboard entry leaves them out."""
    slots = to_posetrack18(result.poses, keypoint_set)
    persons = []
    for person, track_id in enumerate(result.ids.tolist()):
        keypoints = slots[person].astype(np.float64)
        kept = keypoints[:, 2] >= kpt_thr if kpt_thr > 0 else np.ones(len(keypoints), bool)
        scores = keypoints[:, 2].copy()
        keypoints = np.where(kept[:, None], np.column_stack([keypoints[:, :2], np.ones(len(kept))]), 0.0)
        x1, y1, x2, y2 = (float(v) for v in result.boxes[person, :4])
        persons.append(Person(track_id=int(track_id), keypoints=keypoints,
                              scores=scores, head_box=None, box=(x1, y1, x2, y2), score=float(result.boxes[person, 4])))
    return persons


class PoseTrackOutput:
    """Writes `path` frame by frame (eval.posetrack.write.SequenceWriter) with `frame_persons`; `nframes`
    is the video's frame count (None: the frames added). `listed`: a ground truth's frames, one per frame
    index, whose file names, image ids, frame ids, `is_labeled` and sizes the entries take (a PoseTrack
    split run). It appears under its name when the block ends without an error; a frame whose write fails
    leaves nothing of itself."""

    unit = "frames"
    rolls_back = True

    def __init__(self, path: Path, source: Path, name: str, keypoint_set: KeypointSet, *, kpt_thr: float,
                 layout: str, width: int, height: int, nframes: int | None = None, listed: list[Frame] | None = None,
                 timer: StageTimer | None = None):
        to_posetrack18(np.zeros((0, keypoint_set.num_joints, 3), np.float32), keypoint_set)  # fail before work
        self.path = path
        self.source = source
        self.keypoint_set = keypoint_set
        self.kpt_thr = kpt_thr
        self.size = (width, height)
        self.listed = listed
        self.timer = timer or StageTimer()
        self._writer = SequenceWriter(path, name, layout=layout, nframes=nframes)

    def __enter__(self) -> PoseTrackOutput:
        self._writer.__enter__()
        return self

    def add_written(self, path: Path) -> int:
        """Start with the frames an interrupted earlier run wrote to `path`; returns how many."""
        return self._writer.add_written(path)

    def held(self) -> int:
        """Frames spooled so far."""
        return self._writer.frames

    def drop_last(self) -> None:
        """Take back the frame `add` spooled last (another output could not write it)."""
        self._writer.drop_last()

    def room_needed(self) -> int:
        """Bytes finishing takes on disk: the spooled frames are joined into a new file."""
        return self._writer.spooled_bytes()

    def add(self, result: FrameResult) -> None:
        """Spool one frame's persons."""
        with self.timer("write"):
            persons = frame_persons(result, self.keypoint_set, self.kpt_thr)
            if self.listed is not None:
                self._writer.add(replace(self.listed[result.index], persons=persons))
                return
            # image_id None: the writer numbers frames by PoseTrack's scheme where the name allows.
            self._writer.add(Frame(file_name=frame_file_name(self.source, result.index, result.name), image_id=None,
                                   persons=persons, ignore_regions=[], is_labeled=True,
                                   width=self.size[0], height=self.size[1]))

    def __exit__(self, kind, error, trace) -> None:
        self._writer.__exit__(kind, error, trace)
