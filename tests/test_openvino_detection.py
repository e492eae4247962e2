"""torchvision detectors with their backbone run by OpenVINO: the same feature maps and the same
final boxes as torch fp32 (random weights, no download), and clear errors for impossible choices."""
from __future__ import annotations

import numpy as np
import pytest
import torch

import detection
from detection import DetectionError

NAME = "fasterrcnn_mobilenet_v3_large_fpn"  # the smallest of the offered detectors
SIZES = {"min_size": 160, "max_size": 224}


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The $HRTRACK_HOME of the OpenVINO tests (conversions are shared)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HRTRACK_HOME", str(tmp_path_factory.getbasetemp() / "openvino_home"))
        yield


def _detector(runtime: str):
    torch.manual_seed(0)  # the same random weights for both runtimes
    detector = detection.create(NAME, weights=None, runtime=runtime, precision="fp32", score_threshold=0.0,
                                min_box_size=0.0, **SIZES)
    detector.model.roi_heads.score_thresh = 0.0  # keep every box: random weights score low
    return detector


@pytest.fixture(scope="module")
def detectors(home):
    return _detector("torch"), _detector("openvino")


@pytest.fixture(scope="module")
def frame():
    return np.random.default_rng(0).integers(0, 256, (150, 200, 3), dtype=np.uint8)


def test_backbone_features_equal_torch(detectors, frame):
    reference, compiled = detectors
    assert compiled.runtime == "openvino" and type(compiled.model.backbone).__name__ == "OpenVINOBackbone"
    images = torch.from_numpy(frame).permute(2, 0, 1).float().div(255)
    with torch.inference_mode():
        batch = reference.model.transform([images])[0].tensors
        expected, features = reference.model.backbone(batch), compiled.model.backbone(batch)
    assert list(features) == list(expected) == ["0", "1", "pool"]
    for name, value in expected.items():
        assert features[name].shape == value.shape
        assert float((features[name] - value).abs().max()) <= 1e-3 * float(value.abs().max()), name


def test_final_boxes_equal_torch(detectors, frame):
    reference, compiled = detectors
    images = [torch.from_numpy(frame).permute(2, 0, 1).float().div(255)]
    with torch.inference_mode():
        expected, outputs = reference.model(images)[0], compiled.model(images)[0]
    assert len(expected["boxes"]) > 10
    torch.testing.assert_close(outputs["labels"], expected["labels"], rtol=0, atol=0)
    torch.testing.assert_close(outputs["boxes"], expected["boxes"], rtol=1e-3, atol=1e-2)
    torch.testing.assert_close(outputs["scores"], expected["scores"], rtol=1e-3, atol=1e-5)
    np.testing.assert_allclose(compiled.detect([frame])[0], reference.detect([frame])[0], rtol=1e-3, atol=1e-2)


@pytest.mark.parametrize("options, message", [
    ({"device": "cuda", "runtime": "openvino"}, "the openvino runtime runs on the CPU only; use --runtime torch "
                                               "or auto on cuda."),
    ({"precision": "fp16"}, "fp16 runs only on CUDA (torch); use fp32 or bf16 on the CPU."),
])
def test_impossible_choices_are_one_sentence(options, message):
    with pytest.raises(DetectionError) as error:
        detection.create(NAME, weights=None, **options)
    assert str(error.value) == message
