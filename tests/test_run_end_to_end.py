"""`python -m tracker.run` end to end on the real 5-frame clip, with the tiny reference HRNet,
a detections file written here for the clip, and DIS flow."""
from __future__ import annotations

import csv
import json
from collections import Counter

import cv2  # noqa: F401  (before decord: decord's bundled zlib breaks OpenCV's PNG codec)
import decord
import pytest

from eval.posetrack.read import read_sequence
from eval.posetrack.validate import validate
from tracker.run import main

CLIP = "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
NAME = "000001_mpiinew_test"



@pytest.fixture(scope="module")
def inputs(reference_dir, tmp_path_factory):
    folder = tmp_path_factory.mktemp("inputs")
    tiny = json.loads((reference_dir / "hrnet" / "tiny_config.json").read_text())
    (folder / "tiny.yaml").write_text(tiny["tiny_overrides_yaml"])
    # Three persons of the clip (a runner, a jumping and a falling player), drifting a little.
    detections = [{"image_id": 10000010000 + frame, "bbox": [x + 4 * frame, y, w, h], "score": score,
                   "category_id": 1}
                  for frame in range(5)
                  for (x, y, w, h), score in (((360, 270, 200, 310), 0.95), ((600, 256, 240, 264), 0.9),
                                              ((600, 390, 250, 140), 0.8))]
    (folder / "detections.json").write_text(json.dumps(detections))
    # The random tiny model scores joints low; keep every pose so that the outputs have persons.
    (folder / "track.yaml").write_text("poses:\n  min_pose_score: 0.0\n")
    return folder


def arguments(reference_dir, inputs, out_dir) -> list[str]:
    return [str(reference_dir / CLIP), "-o", str(out_dir), "--quiet",
            "--pose-config", str(inputs / "tiny.yaml"),
            "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"),
            "--detections", str(inputs / "detections.json"), "--flow", "dis", "--config", str(inputs / "track.yaml"),
            "--runtime", "torch"]


@pytest.fixture(scope="module")
def runs(reference_dir, inputs, tmp_path_factory):
    outputs = []
    for _ in range(2):
        out_dir = tmp_path_factory.mktemp("out")
        assert main(arguments(reference_dir, inputs, out_dir)) == 0
        outputs.append(out_dir)
    return outputs


def test_video_has_the_inputs_frames_size_and_fps(runs, reference_dir):
    source = decord.VideoReader(str(reference_dir / CLIP))
    written = decord.VideoReader(str(runs[0] / f"{NAME}.mp4"))
    assert len(written) == len(source) == 5
    assert written[0].shape == source[0].shape == (720, 1280, 3)
    assert written.get_avg_fps() == pytest.approx(source.get_avg_fps())


def test_json_validates_with_one_frame_per_video_frame(runs):
    sequence = read_sequence(runs[0] / f"{NAME}.json")
    assert validate(sequence) == []
    assert len(sequence.frames) == 5
    assert sum(len(frame.persons) for frame in sequence.frames) > 0
    assert all(person.track_id is not None for frame in sequence.frames for person in frame.persons)


def test_csv_has_a_row_per_joint_per_person_per_frame(runs):
    sequence = read_sequence(runs[0] / f"{NAME}.json")
    with open(runs[0] / f"{NAME}.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    persons_per_frame = [len(frame.persons) for frame in sequence.frames]
    rows_per_frame = Counter(int(row["frame"]) for row in rows)
    assert [rows_per_frame[index] for index in range(5)] == [17 * count for count in persons_per_frame]
    assert {row["joint"] for row in rows} >= {"nose", "left_elbow", "right_ankle"}
    assert {"time", "track_id", "x", "y", "score", "angle_deg"} <= set(rows[0])


def test_second_run_gives_identical_outputs(runs):
    for suffix in ("mp4", "json", "csv"):
        assert (runs[0] / f"{NAME}.{suffix}").read_bytes() == (runs[1] / f"{NAME}.{suffix}").read_bytes(), suffix


def test_output_folder_holds_only_the_three_outputs(runs):  # and the record of the source
    names = sorted(path.name for path in runs[0].iterdir())
    assert names == [f"{NAME}.csv", f"{NAME}.json", f"{NAME}.mp4", f"{NAME}.run.json"]
