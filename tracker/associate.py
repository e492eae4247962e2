"""`python -m tracker.associate POSES -o OUT [--frames DIR] [--flow NAME]`: track existing poses.

Reads a PoseTrack file (or a folder of them) whose poses come from elsewhere, ignores any track ids
in it, and writes the same poses with our track ids: the association of `tracker.run` (greedy OKS
against tracks carried along by optical flow). Flow is computed between the frames' images when
`--frames` gives the folder they live in (image paths are the files' `file_name`s below it), and
is zero otherwise.
"""
from __future__ import annotations

import argparse
import dataclasses
import logging
import sys
from pathlib import Path

import cv2
import numpy as np

import flow
from eval.posetrack_format import Sequence, read_folder, read_sequence, write_posetrack17, write_posetrack18
from pose.skeleton import POSETRACK18
from tracker.association import Associator
from common.cli import run_cli
from tracker.config import AssociationOptions, load_track_config
from tracker.errors import TrackerError
from tracker.outputs import check_output_dir

log = logging.getLogger("tracker.associate")


def person_poses(frame) -> np.ndarray:
    """A frame's persons as poses (N,17,3) float32 x, y, score; absent joints (0,0,0) score 0.

    Per-joint scores come from the file where it has them, else the visibility flag.
    """
    poses = np.zeros((len(frame.persons), POSETRACK18.num_joints, 3), np.float32)
    for index, person in enumerate(frame.persons):
        keypoints = np.asarray(person.keypoints, np.float64)
        present = ~(keypoints == 0).all(axis=1)
        scores = keypoints[:, 2] if person.scores is None or len(person.scores) == 0 else person.scores
        poses[index, :, :2] = keypoints[:, :2]
        poses[index, :, 2] = np.where(present, np.maximum(scores, 0.0), 0.0)
    return poses


def _image(frames_dir: Path, file_name: str) -> np.ndarray:
    """The RGB image of a frame below `frames_dir`, found by its file name (full or last parts)."""
    parts = Path(file_name).parts
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
                            keypoint_threshold=options.keypoint_threshold, max_age=options.max_age,
                            flow=flow_estimator if moving else None)
    frames = []
    for frame in sequence.frames:
        motion = associator.carry(_image(frames_dir, frame.file_name) if moving else None)
        ids = associator.assign(person_poses(frame), motion)
        persons = [dataclasses.replace(person, track_id=int(track_id))
                   for person, track_id in zip(frame.persons, ids.tolist())]
        frames.append(dataclasses.replace(frame, persons=persons))
    return dataclasses.replace(sequence, frames=frames, problems=[])


def build_parser() -> argparse.ArgumentParser:
    """The command line of `python -m tracker.associate`."""
    parser = argparse.ArgumentParser(
        prog="python -m tracker.associate",
        description="Give the poses of PoseTrack files our track ids (greedy OKS against flow-propagated "
                    "tracks). Existing ids are ignored.")
    parser.add_argument("poses", metavar="POSES", help="a PoseTrack JSON file, or a folder of them")
    parser.add_argument("-o", "--output", required=True, metavar="OUT",
                        help="output file (for one POSES file) or folder (for a POSES folder)")
    parser.add_argument("--frames", metavar="DIR", help="folder the files' image paths start from; "
                                                          "without it motion between frames is taken as zero")
    parser.add_argument("--flow", default=None, metavar="NAME",
                        help=f"optical flow with --frames: {', '.join(flow.NAMES)} (default: the config's, dis)")
    parser.add_argument("--config", metavar="FILE", help="tracking YAML (its association section is used)")
    parser.add_argument("--format", choices=("posetrack18", "posetrack17"), default="posetrack18")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    return parser


def run(args: argparse.Namespace) -> int:
    """Associate every sequence and write it; returns the exit status."""
    config = load_track_config(args.config)
    source = Path(args.poses)
    if not source.exists():
        raise TrackerError(f"{source} does not exist; give a PoseTrack JSON file or a folder of them.")
    out = Path(args.output)
    if out.resolve() == source.resolve():
        kind = "folder" if source.is_dir() else "file"
        raise TrackerError(f"the output {out} is the input {kind} {source}, and writing it would overwrite "
                           "the poses being read; choose another output with -o.")
    sequences = read_folder(source) if source.is_dir() else {"": read_sequence(source)}
    frames_dir = Path(args.frames) if args.frames else None
    if frames_dir is not None and not frames_dir.is_dir():
        raise TrackerError(f"--frames {frames_dir} is not a folder.")
    estimator = flow.create(args.flow or config.flow.name) if frames_dir is not None else None
    check_output_dir(out if source.is_dir() else out.parent)
    writer = write_posetrack17 if args.format == "posetrack17" else write_posetrack18
    for sequence in sequences.values():
        tracked = associate_sequence(sequence, config.association, estimator, frames_dir)
        target = out / Path(sequence.source).name if source.is_dir() else out
        writer(tracked, target)
        log.info("%s: %d frames written to %s", sequence.name, len(tracked.frames), target)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Entry point: one sentence on stderr and a non-zero status on error (traceback with --debug)."""
    return run_cli(run, build_parser().parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
