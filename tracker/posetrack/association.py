"""Giving the persons of PoseTrack files our track ids: the association of `tracker.run` alone.

Frames are taken in file order; tracks are carried between frames by optical flow when the frames'
images are at hand, and stay where they were last seen otherwise.
"""
from __future__ import annotations

import dataclasses
import logging
from pathlib import Path

import cv2
import numpy as np

import flow
from eval.posetrack.read import read_folder, read_sequence
from eval.posetrack.types import Sequence, present_mask
from eval.posetrack.write import write_posetrack17, write_posetrack18
from pose.skeleton import POSETRACK18
from tracker.config import AssociationOptions, load_track_config
from tracker.core.association import Associator
from tracker.core.flow_stage import FlowStage
from tracker.errors import TrackerError
from tracker.outputs.writers import check_output_dir

log = logging.getLogger(__name__)


def person_poses(frame) -> np.ndarray:
    """A frame's persons as poses (N,17,3) float32 x, y, score; absent joints (0,0,0) score 0.

    Per-joint scores come from the file where it has them, else the visibility flag.
    """
    poses = np.zeros((len(frame.persons), POSETRACK18.num_joints, 3), np.float32)
    for index, person in enumerate(frame.persons):
        pose = person.pose()
        poses[index, :, :2] = pose[:, :2]
        poses[index, :, 2] = np.where(present_mask(np.asarray(person.keypoints)), np.maximum(pose[:, 2], 0.0), 0.0)
    return poses


def _image(frames_dir: Path, file_name: str, source: str) -> np.ndarray:
    """The RGB image of a frame below `frames_dir`, found by its file name (full or last parts); a name that
    would reach outside `frames_dir` (absolute, or with `..`) is refused, naming the PoseTrack file `source`."""
    parts = Path(file_name).parts
    if Path(file_name).is_absolute() or ".." in parts:
        raise TrackerError(f"{source}: the image {file_name} lies outside --frames {frames_dir}; image names must be "
                           "relative paths below it.")
    for depth in range(len(parts), 0, -1):
        candidate = frames_dir.joinpath(*parts[-depth:])
        if candidate.is_file():
            bgr = cv2.imread(str(candidate), cv2.IMREAD_COLOR)
            if bgr is None:
                raise TrackerError(f"{candidate} is not a readable image.")
            return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)
    raise TrackerError(f"no image for frame {file_name} below {frames_dir}; --frames must be the folder "
                       "the files' image paths start from.")


def associate_sequence(sequence: Sequence, options: AssociationOptions, flow_estimator=None,
                       frames_dir: Path | None = None) -> Sequence:
    """A copy of `sequence` whose persons carry our track ids (any ids in it are ignored).

    With `flow_estimator` and `frames_dir`, tracks move by the flow between consecutive frames;
    otherwise they stay where they were last seen (zero motion). Frames are taken in file order.
    """
    moving = flow_estimator is not None and frames_dir is not None
    associator = Associator(POSETRACK18.sigmas, oks_threshold=options.oks_threshold,
                            keypoint_threshold=options.keypoint_threshold, max_age=options.max_age)
    flow_stage = FlowStage(flow_estimator)
    frames = []
    for index, frame in enumerate(sequence.frames):
        motion = (flow_stage.motion(index, _image(frames_dir, frame.file_name, sequence.source or sequence.name),
                                    needed=associator.live_tracks() > 0)
                  if moving and frames_dir is not None else None)
        ids = associator.assign(person_poses(frame), motion)
        persons = [dataclasses.replace(person, track_id=int(track_id))
                   for person, track_id in zip(frame.persons, ids.tolist())]
        frames.append(dataclasses.replace(frame, persons=persons))
    return dataclasses.replace(sequence, frames=frames, problems=[])


def associate_files(poses: str, output: str, *, frames: str | None = None, flow_name: str | None = None,
                    config_file: str | None = None, layout: str = "posetrack18") -> int:
    """Associate every sequence of a file or folder and write it; returns the exit status."""
    config = load_track_config(config_file)
    source = Path(poses)
    if not source.exists():
        raise TrackerError(f"{source} does not exist; give a PoseTrack JSON file or a folder of them.")
    out = Path(output)
    if out.resolve() == source.resolve():
        kind = "folder" if source.is_dir() else "file"
        raise TrackerError(f"the output {out} is the input {kind} {source}, and writing it would overwrite "
                           "the poses being read; choose another output with -o.")
    sequences = read_folder(source) if source.is_dir() else {"": read_sequence(source)}
    frames_dir = Path(frames) if frames else None
    if frames_dir is not None and not frames_dir.is_dir():
        raise TrackerError(f"--frames {frames_dir} is not a folder.")
    estimator = flow.create(flow_name or config.flow.name) if frames_dir is not None else None
    check_output_dir(out if source.is_dir() else out.parent)
    writer = write_posetrack17 if layout == "posetrack17" else write_posetrack18
    for sequence in sequences.values():
        tracked = associate_sequence(sequence, config.association, estimator, frames_dir)
        target = out / Path(sequence.source or f"{sequence.name}.json").name if source.is_dir() else out
        writer(tracked, target)
        log.info("%s: %d frames written to %s", sequence.name, len(tracked.frames), target)
    return 0
