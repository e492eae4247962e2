"""torchvision detectors: weights from torchvision's cache with the hash checked, persons only."""
from __future__ import annotations

import hashlib
import urllib.error

import numpy as np
import pytest
import torch
from torchvision.models import detection as tv_detection

import common.torchvision_weights
import detection
from detection import DetectionError
from detection.torchvision_detector import person_boxes

NAME = "fasterrcnn_mobilenet_v3_large_fpn"  # the smallest of the offered detectors


@pytest.fixture
def torch_home(tmp_path, monkeypatch):
    """An empty torch cache; torch.hub's download fails at once as it would without network."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))

    def no_network(url, *args, **kwargs):
        raise urllib.error.URLError("[Errno -3] Temporary failure in name resolution")

    monkeypatch.setattr(torch.hub, "load_state_dict_from_url", no_network)
    folder = tmp_path / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


@pytest.fixture(scope="module")
def random_weights(tmp_path_factory):
    """A random-weights state dict of NAME saved to a file, and its sha256."""
    torch.manual_seed(0)
    model = tv_detection.fasterrcnn_mobilenet_v3_large_fpn(weights=None, weights_backbone=None)
    path = tmp_path_factory.mktemp("weights") / "state.pth"
    torch.save(model.state_dict(), path)
    return path, hashlib.sha256(path.read_bytes()).hexdigest(), model.state_dict()


def test_missing_weights_without_network_names_file_and_folder(torch_home):
    with pytest.raises(DetectionError) as caught:
        detection.create(NAME)
    message = str(caught.value)
    assert f"fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth is not in {torch_home}" in message
    assert "https://download.pytorch.org/models/fasterrcnn_mobilenet_v3_large_fpn-fb6a3cc7.pth" \
        in message
    assert message.count(". ") == 0 and message.endswith(".")  # one sentence


def test_weights_with_the_hash_of_their_name_load(torch_home, random_weights, monkeypatch):
    source, digest, state = random_weights
    name = f"{NAME}-{digest[:8]}.pth"
    (torch_home / name).write_bytes(source.read_bytes())
    monkeypatch.setattr(common.torchvision_weights, "expected_file_name", lambda url: name)
    detector = detection.create(NAME, score_threshold=0.3)
    loaded = detector.model.state_dict()
    for key in ("backbone.body.0.0.weight", "roi_heads.box_predictor.cls_score.weight"):
        torch.testing.assert_close(loaded[key], state[key], rtol=0, atol=0)


def test_weights_with_a_wrong_hash_are_refused(torch_home, random_weights, monkeypatch):
    source, digest, _ = random_weights
    wrong = "0" * 8 if not digest.startswith("0" * 8) else "1" * 8
    name = f"{NAME}-{wrong}.pth"
    (torch_home / name).write_bytes(source.read_bytes())
    monkeypatch.setattr(common.torchvision_weights, "expected_file_name", lambda url: name)
    with pytest.raises(DetectionError, match=f"sha256 starts with {digest[:8]}, its name says "
                                             f"{wrong}"):
        detection.create(NAME)


def test_weights_of_another_model_are_refused(torch_home, monkeypatch):
    other = torch.nn.Linear(2, 2).state_dict()
    path = torch_home / "x.pth"
    torch.save(other, path)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    name = f"{NAME}-{digest[:8]}.pth"
    path.rename(torch_home / name)
    monkeypatch.setattr(common.torchvision_weights, "expected_file_name", lambda url: name)
    with pytest.raises(DetectionError, match="does not fit the model"):
        detection.create(NAME)


def test_tiny_forward_with_random_weights_gives_boxes_per_frame():
    torch.manual_seed(0)
    detector = detection.create(NAME, weights=None, min_size=64, max_size=96, batch_size=2,
                                score_threshold=0.0, min_box_size=0.0)
    rng = np.random.default_rng(0)
    frames = [rng.integers(0, 256, (48, 64, 3), dtype=np.uint8),
              rng.integers(0, 256, (40, 30, 3), dtype=np.uint8),
              rng.integers(0, 256, (33, 57, 3), dtype=np.uint8)]
    results = detector.detect(frames)
    assert len(results) == 3
    for boxes, frame in zip(results, frames):
        assert boxes.dtype == np.float32 and boxes.ndim == 2 and boxes.shape[1] == 5
        assert (boxes[:, 2] <= frame.shape[1] + 1e-3).all()
        assert (boxes[:, 3] <= frame.shape[0] + 1e-3).all()
    with pytest.raises(DetectionError, match="RGB uint8 HxWx3"):
        detector.detect([frames[0].astype(np.float32)])


def test_person_boxes_keeps_confident_large_persons_only():
    output = {"boxes": torch.tensor([[0.0, 0.0, 50.0, 80.0], [5.0, 5.0, 60.0, 90.0],
                                     [1.0, 1.0, 40.0, 4.0], [2.0, 2.0, 30.0, 40.0]]),
              "labels": torch.tensor([1, 3, 1, 1]),
              "scores": torch.tensor([0.9, 0.95, 0.8, 0.4])}
    boxes = person_boxes(output, score_threshold=0.5, min_box_size=8.0)
    np.testing.assert_allclose(boxes, [[0.0, 0.0, 50.0, 80.0, 0.9]])
    assert boxes.dtype == np.float32
    empty = {"boxes": torch.zeros(0, 4), "labels": torch.zeros(0, dtype=torch.int64),
             "scores": torch.zeros(0)}
    assert person_boxes(empty, 0.5, 8.0).shape == (0, 5)


def test_unknown_names_say_what_exists():
    with pytest.raises(DetectionError, match="fasterrcnn_resnet50_fpn_v2"):
        detection.create("yolo")
    with pytest.raises(DetectionError, match="COCO_V1"):
        detection.create(NAME, weights="IMAGENET")
    assert detection.NAMES[0] == "fasterrcnn_resnet50_fpn_v2"
