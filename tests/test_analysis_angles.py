"""Angles and units of the analysis on poses whose geometry is known by construction."""
from __future__ import annotations

import numpy as np
import pytest

from pose.skeleton import POSETRACK18
from tracker.analysis.angles import angular_velocity, pose_angles
from tracker.analysis.units import calibrate, standing_height_px
from tracker.errors import TrackerError


def _pose(**points) -> np.ndarray:
    """A (1,17,3) pose with the named joints at (x, y) image pixels and every other joint NaN."""
    pose = np.full((1, POSETRACK18.num_joints, 3), np.nan)
    for name, (x, y) in points.items():
        pose[0, POSETRACK18.index(name)] = (x, y, 1.0)
    return pose


def test_interior_angles_flexion_and_segments_of_a_bent_arm():
    # shoulder above the elbow, forearm pointing right: a right angle at the elbow
    angles = pose_angles(_pose(left_shoulder=(100, 100), left_elbow=(100, 150), left_wrist=(150, 150)))
    assert angles["left_elbow"][0] == pytest.approx(90.0)
    assert angles["left_elbow_flexion"][0] == pytest.approx(90.0)
    assert angles["left_upper_arm"][0] == pytest.approx(-90.0)  # pointing down the screen
    assert angles["left_forearm"][0] == pytest.approx(0.0)      # pointing right
    assert np.isnan(angles["right_elbow"][0]) and np.isnan(angles["left_knee"][0])


def test_a_straight_leg_is_180_interior_and_0_flexion():
    angles = pose_angles(_pose(right_hip=(50, 100), right_knee=(50, 150), right_ankle=(50, 200)))
    assert angles["right_knee"][0] == pytest.approx(180.0)
    assert angles["right_knee_flexion"][0] == pytest.approx(0.0)


def test_trunk_angle_and_lean():
    upright = pose_angles(_pose(left_hip=(90, 200), right_hip=(110, 200), left_shoulder=(90, 100),
                                right_shoulder=(110, 100)))
    assert upright["trunk"][0] == pytest.approx(90.0) and upright["trunk_lean"][0] == pytest.approx(0.0)
    leaning = pose_angles(_pose(left_hip=(90, 200), right_hip=(110, 200), left_shoulder=(190, 100),
                                right_shoulder=(210, 100)))
    assert leaning["trunk"][0] == pytest.approx(45.0) and leaning["trunk_lean"][0] == pytest.approx(45.0)


def test_a_segment_turning_past_180_is_unwrapped_and_its_speed_is_right():
    fps, degrees_per_second = 30.0, 90.0
    turn = np.radians(150.0 + degrees_per_second * np.arange(40) / fps)  # 150 -> 267 deg, past 180
    poses = np.full((40, POSETRACK18.num_joints, 3), np.nan)
    poses[:, POSETRACK18.index("left_knee")] = (100.0, 100.0, 1.0)
    poses[:, POSETRACK18.index("left_ankle"), 0] = 100 + 40 * np.cos(turn)
    poses[:, POSETRACK18.index("left_ankle"), 1] = 100 - 40 * np.sin(turn)  # image y points down
    poses[:, POSETRACK18.index("left_ankle"), 2] = 1.0
    shank = pose_angles(poses)["left_shank"]
    assert shank[0] == pytest.approx(150.0)
    assert np.abs(np.diff(shank)).max() < 4.0 and shank[-1] == pytest.approx(150.0 + 90.0 * 39 / 30)
    assert angular_velocity(shank, fps) == pytest.approx(np.full(40, degrees_per_second))


def test_calibration_from_scale_or_from_a_standing_height():
    assert calibrate(None, None).unit == "px"
    assert calibrate(250.0, None).pixels_per_unit == 250.0
    standing = _pose(head_top=(100, 0), left_shoulder=(90, 60), right_shoulder=(110, 60), left_hip=(90, 160),
                     right_hip=(110, 160), left_knee=(90, 250), right_knee=(110, 250), left_ankle=(90, 340),
                     right_ankle=(110, 340))
    # shoulder midpoint (100, 60) to head top 60 px, trunk 100, thigh 90, shank 90
    assert standing_height_px(standing) == pytest.approx(340.0)
    calibration = calibrate(None, 1.7, standing, 3)
    assert calibration.pixels_per_unit == pytest.approx(200.0) and "track 3" in calibration.source
    with pytest.raises(TrackerError, match="never seen whole"):
        calibrate(None, 1.7, _pose(head_top=(0, 0)), 3)
    with pytest.raises(TrackerError, match="either --scale or --height-m"):
        calibrate(100.0, 1.7, standing, 3)
