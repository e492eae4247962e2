"""tracks.csv and frames.csv numbers for a track whose motion is known: a figure gliding 3 px per frame
at 30 frames/s, unseen for 4 frames, measured in pixels and in metres (--scale 100 px/m)."""
from __future__ import annotations

import csv

import numpy as np
import pytest

from eval.posetrack.types import Frame, Person, Sequence
from eval.posetrack.write import write_posetrack18
from pose.skeleton import POSETRACK18
from tracker.analyze import main

FIGURE = np.array([(0, -150), (0, -130), (0, -175), (8, -155), (-8, -155), (20, -120), (-20, -120), (25, -70),
                   (-25, -70), (28, -25), (-28, -25), (12, 0), (-12, 0), (14, 80), (-14, 80), (15, 160), (-15, 160)],
                  np.float64)
GAP = range(10, 14)


@pytest.fixture()
def run_json(tmp_path):
    frames = []
    for index in range(30):
        persons = []
        if index not in GAP:
            xy = FIGURE + [200 + 3.0 * index, 300]
            persons.append(Person(track_id=5, keypoints=np.column_stack([xy, np.ones(17)]), scores=np.full(17, 0.8),
                                  box=(*xy.min(axis=0), *xy.max(axis=0)), score=0.9))
        frames.append(Frame(file_name=f"images/glide/{index:06d}.jpg", image_id=None, persons=persons,
                            width=640, height=480))
    path = tmp_path / "glide.json"
    write_posetrack18(Sequence(name="glide", frames=frames), path)
    return path


def _rows(path) -> list[dict]:
    with open(path, encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_statistics_of_a_known_motion_in_pixels_and_metres(run_json, tmp_path):
    assert main([str(run_json), "-o", str(tmp_path / "px"), "--fps", "30", "--no-plots", "--quiet"]) == 0
    assert main([str(run_json), "-o", str(tmp_path / "m"), "--fps", "30", "--no-plots", "--quiet",
                 "--scale", "100"]) == 0
    (pixels,), (metres,) = _rows(tmp_path / "px" / "tracks.csv"), _rows(tmp_path / "m" / "tracks.csv")
    assert (pixels["track_id"], pixels["first_frame"], pixels["last_frame"]) == ("5", "0", "29")
    assert float(pixels["duration_s"]) == pytest.approx(1.0)
    assert float(pixels["coverage"]) == pytest.approx(26 / 30, abs=1e-4)
    assert int(pixels["joints_filled"]) == len(GAP) * POSETRACK18.num_joints
    assert float(pixels["mean_score"]) == pytest.approx(0.8)
    assert float(pixels["hip_path_px"]) == pytest.approx(3.0 * 29, rel=1e-3)
    assert float(pixels["hip_mean_speed_px_per_s"]) == pytest.approx(90.0, rel=1e-3)
    assert float(metres["hip_path_m"]) == pytest.approx(0.87, rel=1e-3)
    assert float(metres["hip_mean_speed_m_per_s"]) == pytest.approx(0.9, rel=1e-3)
    assert float(pixels["left_knee_range_deg"]) == pytest.approx(0.0, abs=1e-6)  # a rigid figure
    assert float(pixels["trunk_mean_deg"]) == pytest.approx(90.0)
    assert "--scale 100 pixels per metre" in (tmp_path / "m" / "README.txt").read_text(encoding="utf-8")


def test_frames_csv_marks_filled_frames_unseen_with_interpolated_positions(run_json, tmp_path):
    assert main([str(run_json), "-o", str(tmp_path), "--fps", "30", "--no-plots", "--quiet"]) == 0
    rows = _rows(tmp_path / "frames.csv")
    assert [int(row["frame"]) for row in rows] == list(range(30))
    gap = rows[GAP[1]]
    assert gap["left_hip_visible"] == "0" and gap["left_hip_x"] == "" and gap["left_hip_score"] == ""
    assert float(gap["left_hip_x_filtered"]) == pytest.approx(212 + 3.0 * GAP[1], abs=0.01)
    assert float(rows[3]["time_s"]) == pytest.approx(0.1)
    assert float(rows[3]["left_knee_deg"]) == pytest.approx(float(rows[20]["left_knee_deg"]))
    assert float(rows[3]["left_knee_velocity_deg_per_s"]) == pytest.approx(0.0, abs=1e-6)
