"""The tracker's CSV and the analysis compute joint angles by one definition (`pose.angles`): on the same
PoseTrack file their numbers are the same, and are NaN for the same persons."""
from __future__ import annotations

import numpy as np

from eval.posetrack.read import read_folder
from pose.angles import ANGLE_JOINTS
from pose.skeleton import POSETRACK18
from tracker.analysis.angles import pose_angles
from tracker.analysis.series import person_pose
from tracker.outputs.joint_angles import joint_angles


def test_csv_and_analysis_angles_agree_on_a_posetrack_file(reference_dir):
    sequences = read_folder(reference_dir / "posetrack/public/p1_exact_gt/gt")
    compared = 0
    for frame in (frame for sequence in sequences.values() for frame in sequence.frames):
        if not frame.persons:
            continue
        poses = np.stack([person_pose(person) for person in frame.persons])  # absent joints NaN
        analysis = pose_angles(poses)
        csv = joint_angles(np.nan_to_num(poses), POSETRACK18, keypoint_threshold=0.5)  # absent: score 0
        for vertex, _, _ in ANGLE_JOINTS:
            ours, theirs = csv[:, POSETRACK18.index(vertex)], analysis[vertex]
            np.testing.assert_array_equal(np.isnan(ours), np.isnan(theirs))
            np.testing.assert_array_equal(ours[~np.isnan(ours)], theirs[~np.isnan(theirs)])
            compared += int((~np.isnan(ours)).sum())
    assert compared > 50, compared  # the labelled persons' elbows, knees, hips and shoulders
