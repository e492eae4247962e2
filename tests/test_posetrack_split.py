"""`python -m tracker.run --posetrack ANN_DIR --images ROOT`: a whole PoseTrack split into one leaderboard file
per sequence, from the real reference sequences with the official detections file, and on a made-up split for
skipping, `--overwrite`, continuing an interrupted sequence and the ranks' shares."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import cv2
import numpy as np
import pytest
from test_run_errors import one_sentence, stub_models  # tests/test_run_errors.py

from detection.protocol import ImageBoxSource
from eval.__main__ import main as eval_main
from eval.posetrack.types import Frame, Sequence
from eval.posetrack.write import write_posetrack18
from tracker import runner as track_module
from tracker.run import main

ROOT = Path(__file__).resolve().parents[1]


def test_the_reference_split_becomes_an_upload_folder(reference_dir, tmp_path, caplog, capsys):
    data = reference_dir / "posetrack" / "data"
    out = tmp_path / "submission"
    caplog.set_level(logging.INFO)
    assert main(["--posetrack", str(data / "annotations" / "val"), "--images", str(data),
                 "--detections", str(data / "annotations" / "test_posetrack18_human_detections.json"),
                 "-o", str(out), "--pose-config", str(ROOT / "examples" / "hrnet_tiny_reference.yaml"),
                 "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"), "--runtime", "torch"]) == 0
    assert sorted(path.name for path in out.iterdir()) == [
        "003418_mpii_test.json", "009473_mpii_test.json", "012834_mpii_test.json"]  # JSON only
    assert caplog.text.count("matched by image id") == 3
    for written in out.iterdir():
        gt = json.loads((data / "annotations" / "val" / written.name).read_text())
        ours = json.loads(written.read_text())
        keys = ("id", "file_name", "is_labeled", "nframes", "frame_id")
        assert [{key: image[key] for key in keys} for image in ours["images"]] == [
            {key: image[key] for key in keys} for image in gt["images"]]
        assert ours["annotations"], written.name  # the official boxes gave persons
    capsys.readouterr()
    assert eval_main(["check-submission", str(out), "--gt", str(data / "annotations" / "val")]) == 0
    assert "3 file(s) checked: ready to upload." in capsys.readouterr().out
    assert eval_main(["posetrack", "--gt", str(data / "annotations" / "val"), "--pred", str(out)]) == 0
    assert "3 sequence(s) evaluated" in capsys.readouterr().out


SEQUENCES = {"000101_mpii_test": 6, "000102_bonn_test": 4, "000103_mpiinew_test": 5}


@pytest.fixture
def split(tmp_path):
    """A made-up split: ground-truth files under annotations/val/ and images under images/val/."""
    for name, count in SEQUENCES.items():
        frames = []
        for index in range(count):
            file_name = f"images/val/{name}/{index:06d}.jpg"
            image = tmp_path / file_name
            image.parent.mkdir(parents=True, exist_ok=True)
            cv2.imwrite(str(image), np.full((48, 64, 3), 30 * index, np.uint8))
            image_id = int(f"1{name[:6]}{index:04d}")
            frames.append(Frame(file_name=file_name, image_id=image_id, frame_id=image_id, is_labeled=index % 2 == 0))
        (tmp_path / "annotations" / "val").mkdir(parents=True, exist_ok=True)
        write_posetrack18(Sequence(name, frames), tmp_path / "annotations" / "val" / f"{name}.json")
    return tmp_path


@pytest.fixture
def stubbed(monkeypatch):
    """Stub models for `main`; returns the frames their box source was asked for. Appending a number N to
    `stubbed.stop` makes the next run's (N+1)-th frame a Ctrl-C."""
    class Calls(list):
        """The frames asked, and `stop`: numbers of frames after which the next run is interrupted."""

    calls = Calls()
    calls.stop = []

    def build(config, device):
        models = stub_models()
        boxes, stop, asked = models.boxes, list(calls.stop), []
        calls.stop.clear()

        class Boxes(ImageBoxSource):
            def boxes(self, frame, image):
                if stop and len(asked) == stop[0]:
                    raise KeyboardInterrupt
                asked.append(frame)
                calls.append(frame)
                return boxes.boxes(frame, image)
        models.boxes = Boxes()
        return models
    monkeypatch.setattr(track_module, "build_models", build)
    return calls


def image_names(path) -> list[str]:
    return [image["file_name"] for image in json.loads(path.read_text())["images"]]


def test_written_sequences_are_skipped_and_overwrite_tracks_them_again(split, stubbed, capsys):
    out = split / "out"
    args = ["--posetrack", str(split / "annotations" / "val"), "-o", str(out)]  # --images: two levels up
    assert main(args) == 0
    assert len(stubbed) == sum(SEQUENCES.values())
    for name, count in SEQUENCES.items():
        assert image_names(out / f"{name}.json") == [f"images/val/{name}/{index:06d}.jpg" for index in range(count)]
    assert json.loads((out / "000101_mpii_test.json").read_text())["images"][0]["nframes"] == 6
    first = (out / "000102_bonn_test.json").stat().st_mtime_ns
    capsys.readouterr()
    assert main(args) == 0
    assert len(stubbed) == sum(SEQUENCES.values())  # nothing tracked again
    assert capsys.readouterr().out.count("complete already; skipped") == 3
    assert main(args + ["--overwrite"]) == 0
    assert len(stubbed) == 2 * sum(SEQUENCES.values())
    assert (out / "000102_bonn_test.json").stat().st_mtime_ns != first


def test_an_interrupted_sequence_is_continued_by_the_next_run(split, stubbed, capsys):
    out = split / "out"
    args = ["--posetrack", str(split / "annotations" / "val"), "--images", str(split / "images"), "-o", str(out)]
    stubbed.stop.append(SEQUENCES["000101_mpii_test"] + 2)  # Ctrl-C at the third frame of the second sequence
    assert main(args) == 130
    assert "hold the 2 frames done (--resume continues)" in capsys.readouterr().err
    assert len(image_names(out / "000102_bonn_test.json")) == 2
    assert not (out / "000103_mpiinew_test.json").exists()
    del stubbed[:]
    assert main(args) == 0
    printed = capsys.readouterr().out
    assert "000101_mpii_test: its outputs are complete already; skipped" in printed
    assert "000102_bonn_test: 2 frames" in printed  # the two left of four
    assert [frame.index for frame in stubbed] == [2, 3, 0, 1, 2, 3, 4]
    assert image_names(out / "000102_bonn_test.json") == [f"images/val/000102_bonn_test/{i:06d}.jpg" for i in range(4)]
    assert len(image_names(out / "000103_mpiinew_test.json")) == 5
    assert not list(out.glob(".*"))  # no resume state or partial file left


def test_each_rank_takes_its_share_of_the_sequences(split, stubbed, monkeypatch):
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    out = split / "out"
    assert main(["--posetrack", str(split / "annotations" / "val"), "-o", str(out)]) == 0
    assert [path.name for path in out.iterdir()] == ["000102_bonn_test.json"]


@pytest.mark.parametrize("extra, expected", [
    (["--stride", "2"], "leave out --start, --end and --stride"),
    (["--images", "{split}/nowhere"], "is not a folder"),
])
def test_bad_split_options_are_one_sentence(split, stubbed, capsys, extra, expected):
    extra = [part.format(split=split) for part in extra]
    assert main(["--posetrack", str(split / "annotations" / "val"), "-o", str(split / "out"), *extra]) == 1
    assert expected in one_sentence(capsys)
    assert not stubbed and not (split / "out").exists()


def test_a_missing_image_is_named_before_any_model_loads(split, stubbed, capsys):
    (split / "images" / "val" / "000102_bonn_test" / "000003.jpg").unlink()
    assert main(["--posetrack", str(split / "annotations" / "val"), "-o", str(split / "out")]) == 1
    sentence = one_sentence(capsys)
    assert "000102_bonn_test.json: 1 of its 4 images are missing" in sentence and "000003.jpg" in sentence
    assert not stubbed


def test_the_official_file_serves_one_sequence_folder_by_its_name(reference_dir, tmp_path, caplog):
    data = reference_dir / "posetrack" / "data"
    out = tmp_path / "out"
    caplog.set_level(logging.INFO)
    assert main([str(data / "images" / "val" / "003418_mpii_test"), "-o", str(out), "--no-video", "--no-csv",
                 "--detections", str(data / "annotations" / "test_posetrack18_human_detections.json"),
                 "--pose-config", str(ROOT / "examples" / "hrnet_tiny_reference.yaml"),
                 "--pose-weights", str(reference_dir / "hrnet" / "tiny_state_dict.pt"), "--runtime", "torch"]) == 0
    assert "matched by folder name (video 003418)" in caplog.text
    written = json.loads((out / "003418_mpii_test.json").read_text())
    assert [image["file_name"] for image in written["images"]] == ["images/val/003418_mpii_test/000000.jpg"]
    assert written["annotations"]


def test_nframes_is_the_video_length_under_stride(split, stubbed):
    out = split / "out"
    assert main([str(split / "images" / "val" / "000101_mpii_test"), "--stride", "2", "-o", str(out)]) == 0
    images = json.loads((out / "000101_mpii_test.json").read_text())["images"]
    assert [image["file_name"][-10:] for image in images] == ["000000.jpg", "000002.jpg", "000004.jpg"]
    assert {image["nframes"] for image in images} == {6}
