"""OKS and OKS-NMS against the official HRNet `oks_iou` / `oks_nms` outputs in the reference data."""
import json

import numpy as np
import pytest

from pose.errors import PoseError
from pose.oks import oks_matrix, oks_nms
from pose.skeleton import COCO


@pytest.fixture(scope="module")
def hrnet_reference(reference_dir):
    folder = reference_dir / "hrnet"
    with open(folder / "postprocess.json", encoding="utf-8") as handle:
        cases = json.load(handle)
    return np.load(folder / "postprocess.npz"), cases


def test_sigmas_are_the_official_ones(hrnet_reference):
    arrays, _ = hrnet_reference
    np.testing.assert_array_equal(COCO.sigmas, arrays["oks_sigmas"])


@pytest.mark.parametrize("keypoint_threshold, key", [(None, "oks_iou_visNone"), (0.2, "oks_iou_vis02")])
def test_oks_equals_official_oks_iou(hrnet_reference, keypoint_threshold, key):
    arrays, _ = hrnet_reference
    for case in range(arrays["oks_g"].shape[0]):
        reference = arrays["oks_g"][case].reshape(1, 17, 3)
        candidates = arrays["oks_d"][case].reshape(-1, 17, 3)
        got = oks_matrix(reference, candidates, arrays["oks_area_g"][case:case + 1],
                         arrays["oks_area_d"][case], keypoint_threshold=keypoint_threshold)
        np.testing.assert_allclose(got[0], arrays[key][case], rtol=0, atol=1e-9)


def test_oks_matrix_rows_are_the_single_reference_results(hrnet_reference):
    arrays, _ = hrnet_reference
    references = arrays["oks_g"].reshape(-1, 17, 3)
    candidates = arrays["oks_d"][0].reshape(-1, 17, 3)
    full = oks_matrix(references, candidates, arrays["oks_area_g"], arrays["oks_area_d"][0], keypoint_threshold=0.2)
    assert full.shape == (6, 8) and full.dtype == np.float64
    for row in range(6):
        single = oks_matrix(references[row:row + 1], candidates, arrays["oks_area_g"][row:row + 1],
                            arrays["oks_area_d"][0], keypoint_threshold=0.2)
        np.testing.assert_allclose(full[row], single[0], rtol=0, atol=1e-15)


def test_visibility_follows_the_candidate_score_only():
    rng = np.random.default_rng(3)
    reference = rng.uniform(0, 100, (1, 17, 3))
    candidate = reference + rng.normal(0, 5, (1, 17, 3))
    candidate[0, :, 2] = 0.0
    candidate[0, :4, 2] = 0.9  # only the first four joints are selected
    blind_reference = reference.copy()
    blind_reference[0, :, 2] = 0.0  # the reference's own scores never matter
    areas = np.array([900.0])
    got = oks_matrix(reference, candidate, areas, areas, keypoint_threshold=0.2)
    assert got[0, 0] == oks_matrix(blind_reference, candidate, areas, areas, keypoint_threshold=0.2)[0, 0]
    d2 = ((candidate[0, :4, :2] - reference[0, :4, :2]) ** 2).sum(axis=1)
    expected = np.mean(np.exp(-d2 / (2 * COCO.sigmas[:4]) ** 2 / (900.0 + np.spacing(1)) / 2))
    assert got[0, 0] == pytest.approx(expected, abs=1e-12)
    candidate[0, :, 2] = 0.2  # not > 0.2: nothing selected gives 0.0
    assert oks_matrix(reference, candidate, areas, areas, keypoint_threshold=0.2)[0, 0] == 0.0


def test_oks_nms_keeps_the_official_lists(hrnet_reference):
    _, cases = hrnet_reference
    settings = [(0.9, None, "keep_thresh0.9_visNone"), (0.9, 0.2, "keep_thresh0.9_vis0.2"),
                (0.5, None, "keep_thresh0.5_visNone")]
    for case in cases["oks_nms_cases"]:
        poses = np.asarray(case["keypoints"], dtype=np.float64).reshape(-1, 17, 3)
        for threshold, vis, key in settings:
            keep = oks_nms(poses, np.asarray(case["score"], float), np.asarray(case["area"], float),
                           threshold, keypoint_threshold=vis)
            assert keep == case[key], f"{case['why']}: {key}"


def test_oks_nms_threshold_is_exclusive():
    poses = np.zeros((2, 17, 3))
    poses[1, :, 0] = 3.0
    areas = np.array([400.0, 400.0])
    oks = oks_matrix(poses[:1], poses[1:], areas[:1], areas[1:])[0, 0]
    scores = np.array([0.9, 0.8])
    assert oks_nms(poses, scores, areas, threshold=oks) == [0, 1]  # OKS == threshold survives
    assert oks_nms(poses, scores, areas, threshold=np.nextafter(oks, 0)) == [0]


def test_bad_shapes_and_scores_raise_pose_error():
    poses = np.zeros((2, 17, 3))
    with pytest.raises(PoseError, match=r"\(N, K, 3\)"):
        oks_matrix(np.zeros((2, 17)), poses, np.ones(2), np.ones(2))
    with pytest.raises(PoseError, match="16 joints"):
        oks_matrix(np.zeros((2, 16, 3)), poses, np.ones(2), np.ones(2))
    with pytest.raises(PoseError, match="candidate_areas"):
        oks_matrix(poses, poses, np.ones(2), np.ones(3))
    with pytest.raises(PoseError, match="finite"):
        oks_nms(poses, np.array([0.5, np.nan]), np.ones(2))
