"""Golden end-to-end outputs: the README's "try it without downloads" command on the real clip, with the
tiny reference HRNet, must write the stored JSON and CSV byte for byte (`tests/golden/`).

The stored files were written before the architecture rework and re-recorded once after it: the CSV
is unchanged; in the JSON only 13 person scores moved, in the last bit of float32, because the
tracker now uses the official rescoring (`pose.oks.rescore`, a sequential float32 mean) that the
COCO evaluation uses. Any other change is a change of behaviour and has to be argued.
"""
from __future__ import annotations

from pathlib import Path

from tracker.run import main

GOLDEN = Path(__file__).resolve().parent / "golden"
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"
NAME = "000001_mpiinew_test"


def test_clip_outputs_equal_the_stored_files(reference_dir, tmp_path):
    clip = reference_dir / "posetrack/data/videos" / NAME / f"{NAME}.mp4"
    status = main([str(clip), "-o", str(tmp_path), "--quiet", "--no-video",
                   "--pose-config", str(EXAMPLES / "hrnet_tiny_reference.yaml"),
                   "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
                   "--detections", str(EXAMPLES / "clip_detections.json"),
                   "--config", str(EXAMPLES / "keep_all_poses.yaml"), "--runtime", "torch"])
    assert status == 0
    for suffix in ("json", "csv"):
        written = (tmp_path / f"{NAME}.{suffix}").read_bytes()
        assert written == (GOLDEN / f"{NAME}.{suffix}").read_bytes(), f"{NAME}.{suffix} differs from tests/golden"
