"""Images in, images out: one image gives its drawing as an image (not a 1-frame MP4) with the JSON and CSV;
--images-independent tracks each image of a folder alone; `tracker.run .` names outputs after the folder;
and the warnings when no person is found or track ids are not integers."""
from __future__ import annotations

import json
import logging

import cv2
import numpy as np
import pytest
from stub_tracking import StubEstimator  # tests/stub_tracking.py

import flow
from detection.protocol import ImageBoxSource
from tracker import runner
from tracker.analyze import main as analyze_main
from tracker.run import main
from tracker.runner import Models


class _Boxes(ImageBoxSource):
    """Two people in every image, scoring `score`."""

    def __init__(self, score: float = 0.9):
        self.score = score

    def boxes(self, frame, image):
        return np.array([[10, 10, 50, 90, self.score], [70, 12, 110, 92, self.score]], np.float32)


@pytest.fixture
def models(monkeypatch):
    def use(score: float = 0.9):
        monkeypatch.setattr(runner, "build_models", lambda config, device: Models(StubEstimator(), _Boxes(score),
                                                                                  flow.create("dis")))
    use()
    return use


def _image(path, seed: int) -> np.ndarray:
    image = np.random.default_rng(seed).integers(0, 255, (100, 120, 3), dtype=np.uint8)
    cv2.imwrite(str(path), image)
    return image


def test_one_image_gives_its_drawing_as_an_image_with_the_json_and_csv(models, tmp_path):
    for suffix, written in ((".png", ".png"), (".jpg", ".jpg")):
        source = tmp_path / f"shot{suffix}"
        original = _image(source, 0)
        out = tmp_path / f"out{suffix}"
        assert main([str(source), "-o", str(out), "--quiet"]) == 0
        names = sorted(path.name for path in out.iterdir())
        assert names == sorted(["shot.csv", "shot.json", "shot.run.json", f"shot{written}"])
        drawn = cv2.imread(str(out / f"shot{written}"))
        assert drawn.shape == original.shape
        assert (np.abs(drawn.astype(int) - original).sum(axis=2) > 90).mean() > 0.02  # skeletons were drawn
        assert len(json.loads((out / "shot.json").read_text())["images"]) == 1


def test_a_folder_of_unrelated_images_is_tracked_image_by_image(models, tmp_path):
    folder = tmp_path / "photos"
    folder.mkdir()
    for index, name in enumerate(("a.jpg", "b.png", "c.jpg")):
        _image(folder / name, index)
    out = tmp_path / "out"
    assert main([str(folder), "-o", str(out), "--images-independent", "--quiet"]) == 0
    for stem, suffix in (("a", ".jpg"), ("b", ".png"), ("c", ".jpg")):
        assert (out / f"{stem}{suffix}").is_file() and (out / f"{stem}.csv").is_file()
        run = json.loads((out / f"{stem}.json").read_text())
        assert len(run["images"]) == 1 and sorted(a["track_id"] for a in run["annotations"]) == [0, 1]
    assert not list(out.glob("*.mp4"))
    sequence = tmp_path / "sequence"
    assert main([str(folder), "-o", str(sequence), "--quiet"]) == 0  # without the flag: one sequence, one video
    assert sorted(path.name for path in sequence.glob("photos.*")) == ["photos.csv", "photos.json", "photos.mp4",
                                                                       "photos.run.json"]


def test_the_current_folder_names_its_outputs_after_its_real_name(models, tmp_path, monkeypatch):
    folder = tmp_path / "match_day"
    folder.mkdir()
    for index in range(3):
        _image(folder / f"{index:04d}.jpg", index)
    monkeypatch.chdir(folder)
    assert main([".", "-o", str(tmp_path / "out"), "--quiet"]) == 0
    assert sorted(path.name for path in (tmp_path / "out").iterdir()) == [
        "match_day.csv", "match_day.json", "match_day.mp4", "match_day.run.json"]


def test_detections_that_all_score_below_the_floor_are_named_when_no_person_is_found(models, tmp_path, caplog):
    models(score=-0.5)
    source = tmp_path / "shot.png"
    _image(source, 0)
    caplog.set_level(logging.WARNING)
    assert main([str(source), "-o", str(tmp_path / "out"), "--box-thr", "0", "--quiet"]) == 0
    assert ("shot.png: no person in any of the 1 frames: every one of the 2 detected boxes scored below "
            "--box-thr 0 (a negative score counts as none)") in caplog.text


def test_analyze_warns_when_track_ids_are_not_integers(tmp_path, caplog):
    run = {"images": [{"id": 0, "file_name": "0.jpg"}],
           "annotations": [{"image_id": 0, "track_id": "seven", "keypoints": [10, 10, 1] * 17}]}
    path = tmp_path / "odd.json"
    path.write_text(json.dumps(run))
    caplog.set_level(logging.WARNING)
    assert analyze_main([str(path), "--no-plots", "--quiet"]) == 0
    assert "odd.json: 1 of the 1 persons have no integer track id, so they are left out of the analysis" in caplog.text
    assert "track_id 'seven' is not an integer" in caplog.text
