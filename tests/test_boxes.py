"""One definition of the box a pose spans (`pose.boxes.joint_extents`) behind every caller, and the box NMS
threshold under its new key with the old one still read."""
from __future__ import annotations

import logging

import numpy as np
import pytest

from pose.boxes import joint_extents, poses_to_boxes
from pose.datasets.posetrack import keypoint_box
from tracker.analysis.series import _joint_box
from tracker.config import load_track_config
from tracker.core.association import pose_areas
from tracker.errors import TrackerError

POSE = np.array([[10.0, 20.0, 0.9], [30.0, 5.0, 0.1], [50.0, 60.0, 0.8], [np.nan, np.nan, 0.0]])


def test_the_extent_of_the_chosen_joints_grown_on_both_sides_and_nan_without_joints():
    chosen = np.array([[True, False, True, False], [False, False, False, False]])
    extents = joint_extents(np.stack([POSE[:, :2], POSE[:, :2]]), chosen, grow=0.5)
    np.testing.assert_array_equal(extents[0], [0.0, 10.0, 60.0, 70.0])  # 40 x 40 grown by 10 a side
    assert np.isnan(extents[1]).all()


def test_every_caller_gets_the_same_box_of_the_same_joints():
    visible = POSE[:, 2] > 0.2
    extent = joint_extents(POSE[None, :, :2], visible[None])[0]
    width, height = extent[2] - extent[0], extent[3] - extent[1]
    assert pose_areas(POSE[None], 0.2)[0] == width * height  # association
    analysis = POSE.copy()
    analysis[~visible] = np.nan
    np.testing.assert_array_equal(_joint_box(analysis), extent)  # analysis
    grown = joint_extents(POSE[None, :, :2], visible[None], 0.15)[0]
    np.testing.assert_allclose(keypoint_box(POSE[:, :2].astype(np.float32), visible.astype(np.float32), 1000, 1000),
                               grown, rtol=1e-6)  # PoseTrack training boxes, clipped to the image
    boxes, _ = poses_to_boxes(POSE[None], min_keypoints=2)  # tracking: the same joints at the default 0.2
    np.testing.assert_allclose(boxes[0, :4], grown, rtol=1e-6)


def test_the_box_nms_threshold_is_a_detection_key_and_the_old_flow_key_is_still_read(caplog):
    assert load_track_config(overrides={"detection": {"box_nms_iou": 0.4}}).detection.box_nms_iou == 0.4
    with caplog.at_level(logging.WARNING, logger="tracker.config"):
        config = load_track_config(overrides={"flow": {"box_nms_iou": 0.3}})
    assert config.detection.box_nms_iou == 0.3
    assert "flow.box_nms_iou is now detection.box_nms_iou" in caplog.text
    both = load_track_config(overrides={"flow": {"box_nms_iou": 0.3}, "detection": {"box_nms_iou": 0.6}})
    assert both.detection.box_nms_iou == 0.6  # the new name wins
    with pytest.raises(TrackerError, match=r"detection.box_nms_iou \(--nms-thr\) must be between 0 and 1"):
        load_track_config(overrides={"detection": {"box_nms_iou": 2.0}})
