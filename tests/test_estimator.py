"""pose.estimator with the tiny reference HRNet on a real PoseTrack frame.

The estimator (BN folded, channels_last, crops and flips in one batch, float32) is checked against
a step-by-step computation with the unfolded model in float64, decoded with the post-processing
that test_crops/test_heatmaps prove equal to the official code.
"""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
import torch
import yaml

from pose.crops import box_to_center_scale, crops_to_tensor, heatmap_to_image, warp_crop
from pose.errors import PoseError
from pose.estimator import PoseEstimator
from pose.heatmaps import flip_average
from pose.hrnet import build_model
from pose.skeleton import COCO
from pose.state_dict import load_checkpoint

# Boxes on the frame, the last reaching past its left and bottom edges. With the tiny random model
# every joint's argmax and refinement step is decided by a margin > 1e-4 (checked below), far above
# float32 noise, so the estimator must reproduce the float64 decoding exactly.
BOXES = np.array([
    [211.0, 21.0, 488.0, 277.0, 0.95],
    [552.0, 368.0, 816.0, 568.0, 0.80],
    [723.0, 225.0, 960.0, 522.0, 0.60],
    [-82.0, 332.0, 214.0, 771.0, 0.30],
], dtype=np.float32)


@pytest.fixture(scope="module")
def tiny_config(reference_dir):
    text = json.loads((reference_dir / "hrnet" / "tiny_config.json").read_text())["tiny_overrides_yaml"]
    return yaml.safe_load(text)  # an official experiment file, as the release ships them


@pytest.fixture(scope="module")
def tiny_weights(reference_dir):
    return reference_dir / "hrnet" / "tiny_state_dict.pt"


@pytest.fixture(scope="module")
def estimator(tiny_config, tiny_weights):
    return PoseEstimator.from_config(tiny_config, tiny_weights)


@pytest.fixture(scope="module")
def image(reference_dir):
    path = reference_dir / "posetrack" / "data" / "videos" / "000001_mpiinew_test" / "000000.jpg"
    return cv2.cvtColor(cv2.imread(str(path)), cv2.COLOR_BGR2RGB)  # OpenCV reads BGR


@pytest.fixture(scope="module")
def step_by_step(tiny_config, tiny_weights, image, estimator):
    """Heatmaps (N,K,32,24) float64 without and with the flip test: the unfolded model in float64,
    the crops and their mirror images as separate passes."""
    model = load_checkpoint(build_model(tiny_config), tiny_weights).double().eval()
    config = estimator.config
    centers, scales = box_to_center_scale(BOXES, config.aspect_ratio)
    crops = np.stack([warp_crop(image, center, scale, config.image_size)
                      for center, scale in zip(centers, scales)])
    inputs = crops_to_tensor(crops, config.mean, config.std, dtype=torch.float64)
    with torch.no_grad():
        plain = model(inputs)
        flipped = flip_average(plain, model(inputs.flip(3)), COCO.flip_permutation())
    return centers, scales, plain.numpy(), flipped.numpy()


def _decision_margin(heatmaps: np.ndarray) -> float:
    """Smallest gap deciding an argmax (top-2 values) or a refinement step (neighbour difference)."""
    num, joints, height, width = heatmaps.shape
    flat = heatmaps.reshape(num, joints, -1)
    top2 = np.sort(flat, axis=2)[..., -2:]
    index = flat.argmax(axis=2)
    x, y = index % width, index // width
    inner = (x > 1) & (x < width - 1) & (y > 1) & (y < height - 1)
    n, k = np.indices((num, joints))
    xc, yc = np.clip(x, 1, width - 2), np.clip(y, 1, height - 2)
    dx = np.abs(heatmaps[n, k, y, xc + 1] - heatmaps[n, k, y, xc - 1])
    dy = np.abs(heatmaps[n, k, yc + 1, x] - heatmaps[n, k, yc - 1, x])
    steps = np.where(inner, np.minimum(dx, dy), np.inf)
    return float(np.minimum(top2[..., 1] - top2[..., 0], steps).min())


def _decoded(estimator, heatmaps, centers, scales):
    assert _decision_margin(heatmaps) > 1e-4, "heatmap decisions too close to call; choose other boxes"
    coords, maxvals = estimator.codec.decode(heatmaps)
    return heatmap_to_image(coords, centers, scales, estimator.config.heatmap_size), maxvals[..., 0]


@pytest.mark.parametrize("flip", [True, False])
def test_estimate_equals_step_by_step_official_decoding(estimator, image, step_by_step, flip):
    centers, scales, plain, flipped = step_by_step
    reference = flipped if flip else plain
    chosen = PoseEstimator(estimator.model, estimator.config, flip=flip)
    crops = np.stack([warp_crop(image, c, s, chosen.config.image_size) for c, s in zip(centers, scales)])
    inputs = crops_to_tensor(crops, chosen.config.mean, chosen.config.std)
    np.testing.assert_allclose(chosen.heatmaps(inputs), reference, atol=1e-4)
    poses = chosen.estimate(image, BOXES)
    assert poses.shape == (len(BOXES), 17, 3) and poses.dtype == np.float32
    points, scores = _decoded(estimator, reference, centers, scales)
    np.testing.assert_allclose(poses[..., :2], points, atol=1e-3)
    np.testing.assert_allclose(poses[..., 2], scores, atol=1e-4)


def test_flip_test_path_reproduces_official_tiny_arrays(estimator, reference_dir):
    with np.load(reference_dir / "hrnet" / "tiny_io.npz") as tiny:
        inputs, flip_avg, output = (torch.from_numpy(tiny[k]) for k in ("input", "flip_avg", "output"))
        final_preds = tiny["final_preds_flip"]
        center, scale = tiny["center"], tiny["scale"]
    heatmaps = estimator.heatmaps(inputs)
    np.testing.assert_allclose(heatmaps, flip_avg.numpy(), atol=1e-4, rtol=1e-4)
    coords, _ = estimator.codec.decode(heatmaps)
    np.testing.assert_allclose(heatmap_to_image(coords, center, scale, estimator.config.heatmap_size),
                               final_preds, atol=1e-3)
    no_flip = PoseEstimator(estimator.model, estimator.config, flip=False)
    np.testing.assert_allclose(no_flip.heatmaps(inputs), output.numpy(), atol=1e-4, rtol=1e-4)


def test_float64_runs_the_model_in_float64(estimator, reference_dir):
    with np.load(reference_dir / "hrnet" / "tiny_io.npz") as tiny:
        inputs, output_f64 = torch.from_numpy(tiny["input"]).double(), tiny["output_f64"]
    precise = PoseEstimator(estimator.model, estimator.config, flip=False, precision="fp64")
    assert next(precise.model.parameters()).dtype == torch.float64
    np.testing.assert_allclose(precise.heatmaps(inputs), output_f64, atol=1e-5)


def test_chunked_batches_give_the_same_poses(estimator, image):
    small_batches = PoseEstimator(estimator.model, estimator.config, batch_size=3)  # 4 inputs, 2 passes
    np.testing.assert_allclose(small_batches.estimate(image, BOXES[:2]), estimator.estimate(image, BOXES[:2]),
                               atol=1e-4)


class _CountingNet(torch.nn.Module):
    """Stands in for HRNet: records each forward pass's batch size, returns zero heatmaps."""

    def __init__(self, num_joints: int):
        super().__init__()
        self.num_joints, self.batches = num_joints, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(len(x))
        return x.new_zeros(len(x), self.num_joints, x.shape[2] // 4, x.shape[3] // 4)


@pytest.mark.parametrize("flip, batch_size, batches", [(True, 32, [8]), (False, 32, [4]), (True, 3, [3, 3, 2])])
def test_crops_and_flips_of_an_image_share_one_batch_chunked_at_batch_size(estimator, image, flip,
                                                                           batch_size, batches):
    net = _CountingNet(17)
    PoseEstimator(net, estimator.config, flip=flip, batch_size=batch_size).estimate(image, BOXES)
    assert net.batches == batches


def test_no_boxes_give_an_empty_result_without_running_the_network(estimator, image, monkeypatch):
    monkeypatch.setattr(estimator, "model", lambda _: pytest.fail("the network ran for no boxes"))
    for boxes in (np.zeros((0, 5), np.float32), np.zeros((0, 4)), []):
        poses = estimator.estimate(image, boxes)
        assert poses.shape == (0, 17, 3) and poses.dtype == np.float32


def test_boxes_outside_tiny_and_huge_give_finite_poses(estimator, image):
    height, width = image.shape[:2]
    boxes = np.array([
        [width - 50, height - 50, width + 300, height + 400],  # mostly outside
        [-500, -500, -100, -50],  # wholly outside
        [200, 200, 200, 200],  # zero size
        [10, 10, 10.5, 11],  # sub-pixel
        [-1e5, -1e5, 1e5, 1e5],  # huge
    ], dtype=np.float32)
    poses = estimator.estimate(image, boxes)
    assert poses.shape == (5, 17, 3) and np.isfinite(poses).all()
    np.testing.assert_allclose(poses[2, :, :2], 200.0)  # a zero-size box collapses to its centre


@pytest.mark.parametrize("bad_image, words", [
    (np.zeros((64, 64, 3), np.float32), "uint8 RGB"),
    (np.zeros((64, 64), np.uint8), "shape (H, W, 3)"),
    (np.zeros((64, 64, 4), np.uint8), "shape (64, 64, 4)"),
    ("frame.jpg", "got a str"),
])
def test_a_bad_image_is_refused_in_one_sentence(estimator, bad_image, words):
    with pytest.raises(PoseError, match=r"^the image must be .*\.$") as error:
        estimator.estimate(bad_image, BOXES)
    assert words in str(error.value)


@pytest.mark.parametrize("bad_boxes, words", [
    (np.zeros((3, 6)), "(N, 4) or (N, 5)"),
    (np.zeros(5), "got shape (5,)"),
    (np.array([[0, 0, np.nan, 10]]), "NaN"),
    (np.array([[10, 10, 5, 40]]), "x2 >= x1"),
])
def test_bad_boxes_are_refused_in_one_sentence(estimator, image, bad_boxes, words):
    with pytest.raises(PoseError, match=r"^boxes .*\.$") as error:
        estimator.estimate(image, bad_boxes)
    assert words in str(error.value)


def test_float16_is_refused_on_cpu(estimator):
    with pytest.raises(PoseError, match="only on CUDA"):
        PoseEstimator(estimator.model, estimator.config, precision="fp16")


def test_unknown_or_absent_devices_are_refused(estimator):
    with pytest.raises(PoseError, match="'gpu' is not a torch device"):
        PoseEstimator(estimator.model, estimator.config, device="gpu")
    if not torch.cuda.is_available():
        with pytest.raises(PoseError, match="lacks"):
            PoseEstimator(estimator.model, estimator.config, device="cuda")


def test_estimator_reports_its_keypoint_set(estimator):
    assert estimator.keypoint_set is COCO
