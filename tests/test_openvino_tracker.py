"""tracker.run with --runtime/--precision/--threads: the README's tiny-model command gives the
torch runtime's poses through OpenVINO fp32, and bad values are one sentence."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tracker.config import load_track_config
from tracker.run import build_parser, main, overrides_from

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAME = "000001_mpiinew_test"


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """The $HRTRACK_HOME of the OpenVINO tests (the tiny model's conversion is shared)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("HRTRACK_HOME", str(tmp_path_factory.getbasetemp() / "openvino_home"))
        yield


def _track(reference_dir, out_dir, *flags) -> dict:
    clip = reference_dir / "posetrack/data/videos" / NAME / f"{NAME}.mp4"
    assert main([str(clip), "-o", str(out_dir), "--quiet", "--no-video", "--no-csv",
                 "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                 "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                 "--detections", str(EXAMPLES / "clip_detections.json"),
                 "--config", str(EXAMPLES / "keep_all_poses.yaml"), *flags]) == 0
    return json.loads((out_dir / f"{NAME}.json").read_text())


def test_openvino_fp32_tracks_the_clip_like_torch(home, reference_dir, tmp_path):
    torch_run = _track(reference_dir, tmp_path / "torch", "--runtime", "torch", "--threads", "1")
    openvino_run = _track(reference_dir, tmp_path / "openvino", "--runtime", "openvino", "--precision", "fp32",
                          "--threads", "1")
    assert len(openvino_run["annotations"]) == len(torch_run["annotations"]) > 0
    for ours, reference in zip(openvino_run["annotations"], torch_run["annotations"]):
        assert ours["track_id"] == reference["track_id"]
        np.testing.assert_allclose(ours["keypoints"], reference["keypoints"], atol=1e-2)
        np.testing.assert_allclose(ours["scores"], reference["scores"], atol=1e-4)


def test_flags_set_the_runtime_section():
    args = build_parser().parse_args(["clip.mp4", "--runtime", "openvino", "--precision", "bf16", "--threads", "3"])
    runtime = load_track_config(overrides=overrides_from(args)).runtime
    assert (runtime.engine, runtime.precision, runtime.threads) == ("openvino", "bf16", 3)
    defaults = load_track_config().runtime
    assert (defaults.engine, defaults.precision, defaults.threads) == ("auto", "auto", 0)


@pytest.mark.parametrize("yaml_text, message", [
    ("runtime:\n  precision: fp8\n",
     "error: runtime.precision (--precision) must be one of auto, fp32, bf16, fp16, not 'fp8'."),
    ("runtime:\n  threads: -1\n",
     "error: runtime.threads (--threads; 0: automatic) must be between 0 and 1024, not -1."),
])
def test_bad_runtime_keys_are_one_sentence(tmp_path, capsys, yaml_text, message):
    (tmp_path / "bad.yaml").write_text(yaml_text)
    assert main([str(tmp_path / "clip.mp4"), "--config", str(tmp_path / "bad.yaml"), "-o", str(tmp_path / "out")]) == 1
    assert capsys.readouterr().err.strip() == message
