"""The tracker's parts: configuration layers, greedy OKS association and tracks, joint angles,
colours, smoothing and the PoseTrack joint mapping."""
from __future__ import annotations

import numpy as np
import pytest

from pose.skeleton import COCO, MPII, POSETRACK18
from tracker.config import load_track_config
from tracker.core.association import Associator, greedy_match, pose_areas
from tracker.core.flow_stage import FlowStage
from tracker.errors import TrackerError
from tracker.outputs.joint_angles import joint_angles
from tracker.outputs.posetrack_file import to_posetrack18
from tracker.outputs.render import track_colour
from tracker.outputs.smoothing import PoseSmoother
from tracker.preflight import default_weights
from tracker.run import build_parser, overrides_from


def test_defaults_are_the_papers_and_presets_and_flags_layer_over_them():
    default = load_track_config()
    assert (default.flow.box_grow, default.poses.oks_nms_threshold, default.pose.flip) == (0.15, 0.9, True)
    fast = load_track_config(preset="fast")
    assert (fast.pose.config, fast.pose.flip, fast.detection.detect_every) == ("hrnet_w32_256x192.yaml", False, 5)
    args = build_parser().parse_args(["v.mp4", "--preset", "fast", "--detect-every", "2", "--no-flip"])
    chosen = load_track_config(preset=args.preset, overrides=overrides_from(args))
    assert chosen.detection.detect_every == 2 and chosen.detection.detector == fast.detection.detector
    args = build_parser().parse_args(["v.mp4", "--set", "association.oks_threshold=0.45", "--set",
                                      "detection.detect_every=3", "--detect-every", "4", "--box-thr", "0.6"])
    chosen = load_track_config(overrides=overrides_from(args))
    assert (chosen.association.oks_threshold, chosen.detection.detect_every, chosen.detection.min_box_score) == (
        0.45, 4, 0.6)  # a flag wins over --set


@pytest.mark.parametrize("flags, sentence", [
    (["--kpt-thr", "2"], "output.kpt_thr (--kpt-thr) must be between 0 and 1, not 2.0."),
    (["--kpt-thr", "nan"], "output.kpt_thr (--kpt-thr) must be between 0 and 1, not nan."),
    (["--set", "output.kpt_thr=5"], "output.kpt_thr (--kpt-thr) must be between 0 and 1, not 5.0."),
    (["--set", "poses.min_pose_score=.nan"], "poses.min_pose_score must be between 0 and 1, not nan."),
    (["--set", "runtime.prefetch=-3"], "runtime.prefetch must be at least 1, not -3."),
    (["--set", "runtime.folder_fps=0"], "runtime.folder_fps must be greater than 0, not 0.0."),
    (["--box-thr", "1.5"], "detection.min_box_score (--box-thr) must be between 0 and 1, not 1.5."),
    (["--set", "output.format=coco"],
     "output.format (--format) must be one of posetrack18, posetrack17, posetrack21, not 'coco'."),
    (["--set", "runtime.strid=2"],
     "command line: unknown key runtime.strid; known keys: device, engine, precision, start"),
    (["--set", "runtime"], "override 'runtime' must look like section.key=value."),
])
def test_every_value_outside_its_range_is_one_sentence(flags, sentence):
    with pytest.raises(TrackerError) as caught:
        load_track_config(overrides=overrides_from(build_parser().parse_args(["v.mp4", *flags])))
    assert str(caught.value).startswith(sentence), str(caught.value)


def test_config_mistakes_are_named(tmp_path):
    bad_key = tmp_path / "bad.yaml"
    bad_key.write_text("association:\n  oks_treshold: 0.5\n")
    with pytest.raises(TrackerError, match=r"unknown key association.oks_treshold"):
        load_track_config(bad_key)
    bad_type = tmp_path / "type.yaml"
    bad_type.write_text("association:\n  max_age: soon\n")
    with pytest.raises(TrackerError, match=r"association.max_age must be int, not 'soon'"):
        load_track_config(bad_type)
    with pytest.raises(TrackerError, match="--detect-every"):
        load_track_config(overrides={"detection": {"detect_every": 0}})


def test_greedy_match_takes_the_best_pairs_first_above_the_threshold():
    similarity = np.array([[0.9, 0.8], [0.85, 0.1], [0.2, 0.25]])
    assert greedy_match(similarity, 0.3) == [(0, 0)]  # (1,0) and (0,1) lose their partner; the rest is low
    assert greedy_match(similarity, 0.05) == [(0, 0), (2, 1)]


def _pose(x: float, y: float) -> np.ndarray:
    pose = np.zeros((17, 3), np.float32)
    pose[:, 0] = x + np.linspace(0, 40, 17)
    pose[:, 1] = y + np.linspace(0, 100, 17)
    pose[:, 2] = 0.9
    return pose


def test_ids_follow_people_end_after_max_age_and_are_never_reused():
    associator = Associator(COCO.sigmas, oks_threshold=0.3, keypoint_threshold=0.2, max_age=2)
    a, b = _pose(0, 0), _pose(300, 0)
    assert associator.assign(np.stack([a, b])).tolist() == [0, 1]
    assert associator.assign(np.stack([b + [2, 1, 0], a + [1, 2, 0]])).tolist() == [1, 0]
    assert associator.assign(np.stack([a])).tolist() == [0]
    assert associator.assign(np.stack([a])).tolist() == [0]  # b unseen twice: its track ends
    assert associator.assign(np.stack([a, b])).tolist() == [0, 2]


def test_tracks_are_compared_through_their_propagated_poses():
    associator = Associator(COCO.sigmas, oks_threshold=0.3, keypoint_threshold=0.2, max_age=5)
    pose = _pose(0, 0)
    associator.assign(pose[None])
    shift = np.array([80.0, 0.0, 0.0], np.float32)
    move = lambda poses: poses + shift  # noqa: E731  (flow moved everything 80 px right)
    assert associator.assign((pose + shift)[None], move).tolist() == [0]
    assert associator.assign((pose + 3 * shift)[None]).tolist() == [1]  # without flow it is someone else


class CountingFlow:
    """A uniform flow of (index difference) pixels to the right, counting its calls."""

    def __init__(self):
        self.calls = []

    def flow(self, previous, current):
        self.calls.append((int(previous[0, 0, 0]), int(current[0, 0, 0])))
        field = np.zeros((4, 4, 2), np.float32)
        field[..., 0] = current[0, 0, 0] - previous[0, 0, 0]
        return field


def test_the_flow_stage_owns_the_previous_image_and_is_restored_by_its_index():
    images = {index: np.full((4, 4, 3), index, np.uint8) for index in range(6)}
    estimator = CountingFlow()
    stage = FlowStage(estimator)
    assert stage.motion(0, images[0]) is None  # no previous image yet
    assert stage.motion(2, images[2], needed=False) is None and estimator.calls == []  # nothing to move
    pose = np.array([[[1.0, 1.0, 0.9]]], np.float32)
    assert stage.motion(3, images[3])(pose)[0, 0, 0] == pytest.approx(2.0)  # moved 3 - 2 pixels
    state = stage.state()
    assert state.image_index == 3 and type(state).from_data(state.to_data()) == state
    restored = FlowStage(estimator)
    restored.restore(state, images.__getitem__)  # the image decoded again by its index
    assert restored.motion(5, images[5])(pose)[0, 0, 0] == pytest.approx(3.0)
    assert estimator.calls == [(2, 3), (3, 5)]


def test_pose_areas_span_visible_joints():
    pose = _pose(10, 20)
    pose[0, 2] = 0.0
    area = pose_areas(pose[None], 0.2)[0]
    visible = pose[1:]
    assert area == pytest.approx(np.ptp(visible[:, 0]) * np.ptp(visible[:, 1]))


def test_joint_angles_at_elbows_and_knees():
    pose = np.zeros((1, 17, 3), np.float32)
    pose[0, :, 2] = 1.0
    shoulder, elbow, wrist = (COCO.index(f"left_{name}") for name in ("shoulder", "elbow", "wrist"))
    pose[0, shoulder, :2] = (0, 0)
    pose[0, elbow, :2] = (0, 10)
    pose[0, wrist, :2] = (10, 10)
    angles = joint_angles(pose, COCO, 0.2)
    assert angles[0, elbow] == pytest.approx(90.0)
    pose[0, wrist, 2] = 0.0
    assert np.isnan(joint_angles(pose, COCO, 0.2)[0, elbow])
    assert np.isnan(angles[0, COCO.index("nose")])


def test_colours_stay_with_an_id_and_differ_between_neighbours():
    assert track_colour(7) == track_colour(7)
    colours = {track_colour(i) for i in range(20)}
    assert len(colours) == 20


def test_kalman_smoothing_reduces_jitter_of_a_moving_joint():
    rng = np.random.default_rng(0)
    smoother = PoseSmoother(process_noise=1.0, measurement_noise=4.0, keypoint_threshold=0.2, max_age=10)
    raw_error, smooth_error = [], []
    for t in range(60):
        truth = np.stack([np.full(17, 100.0 + 2 * t), np.full(17, 50.0 + t)], axis=-1)
        pose = np.concatenate([truth + rng.normal(0, 4, truth.shape), np.ones((17, 1))], axis=-1)[None]
        smoothed = smoother.step(pose.astype(np.float32), np.array([0]))
        if t >= 10:
            raw_error.append(np.abs(pose[0, :, :2] - truth).mean())
            smooth_error.append(np.abs(smoothed[0] - truth).mean())
    assert np.mean(smooth_error) < 0.8 * np.mean(raw_error)


def test_posetrack_mapping_by_keypoint_set():
    poses = np.random.default_rng(1).random((2, 17, 3)).astype(np.float32)
    assert np.array_equal(to_posetrack18(poses, POSETRACK18), poses)
    mapped = to_posetrack18(poses, COCO)
    assert np.array_equal(mapped[:, 5:], poses[:, 5:])
    with pytest.raises(TrackerError, match="mpii"):
        to_posetrack18(np.zeros((1, 16, 3), np.float32), MPII)


def test_default_weights_are_the_posetrack_ones_of_the_model():
    assert default_weights("hrnet_w48_384x288.yaml") == "hrnet_w48_384x288.posetrack18"
    with pytest.raises(TrackerError, match="--pose-weights PATH"):
        default_weights("/somewhere/my_hrnet.yaml")


def test_the_json_keeps_every_joint_score_unless_a_threshold_is_asked():
    from tracker.core.pipeline import FrameResult
    from tracker.outputs.posetrack_file import frame_persons

    poses = np.zeros((1, 17, 3), np.float32)
    poses[0, :, 0], poses[0, :, 1] = np.arange(17) + 10, np.arange(17) + 20
    poses[0, :, 2] = np.linspace(-0.1, 0.9, 17)  # HRNet maxima may be a little below 0
    result = FrameResult(0, 0.0, poses, np.array([[0, 0, 40, 60, 0.8]], np.float32), np.array([3]), None)
    kept = frame_persons(result, COCO, kpt_thr=0.0)[0]
    slots = to_posetrack18(poses, COCO)[0]
    np.testing.assert_allclose(kept.scores, slots[:, 2], rtol=1e-6)
    # every slot the COCO joints fill is present (PoseTrack's head-top and neck are made from them)
    assert (kept.keypoints[:, 2] == 1).sum() == (slots[:, :2] != 0).any(axis=1).sum()
    pruned = frame_persons(result, COCO, kpt_thr=0.5)[0]
    assert set(np.flatnonzero(pruned.keypoints[:, 2])) == set(np.flatnonzero(slots[:, 2] >= 0.5))
    assert pruned.track_id == 3 and pruned.box == (0.0, 0.0, 40.0, 60.0)
