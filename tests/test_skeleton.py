import numpy as np
import pytest

from pose import skeleton


def test_flip_permutations_swap_left_and_right_names():
    for kset in skeleton.KEYPOINT_SETS.values():
        perm = kset.flip_permutation()
        assert sorted(perm) == list(range(kset.num_joints))
        for i, j in enumerate(perm):
            a, b = kset.joints[i], kset.joints[j]
            assert a.replace("left", "right") == b or a.replace("right", "left") == b


def test_posetrack_to_poseval_mapping_matches_names():
    for slot, pid in enumerate(skeleton.POSETRACK18_TO_POSEVAL):
        name = skeleton.POSETRACK18.joints[slot]
        if pid < 0:
            assert name.endswith("_ear")
        else:
            expected = "neck" if name == "head_bottom" else name
            assert skeleton.POSEVAL_JOINTS[pid] == expected


def test_coco_to_posetrack_derives_neck_and_head_top():
    pose = np.zeros((1, 17, 3), np.float32)
    pose[0, :, 2] = 0.9
    pose[0, skeleton.COCO.index("nose")] = [100, 50, 0.8]
    pose[0, skeleton.COCO.index("left_shoulder")] = [120, 100, 0.7]
    pose[0, skeleton.COCO.index("right_shoulder")] = [80, 100, 0.6]
    out = skeleton.coco_to_posetrack18(pose)
    np.testing.assert_allclose(out[0, 1], [100, 100, 0.6])
    np.testing.assert_allclose(out[0, 2], [100, 25, 0.6])
    np.testing.assert_array_equal(out[0, 3:], pose[0, 3:])


def test_unknown_joint_names_the_set():
    with pytest.raises(KeyError, match="mpii"):
        skeleton.MPII.index("nose")
