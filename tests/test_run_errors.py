"""`python -m tracker.run` on bad inputs, unwritable outputs and interruptions: one sentence, a
non-zero exit, and outputs that are either complete for the frames done or absent."""
from __future__ import annotations

import json
import logging
import os

import cv2
import decord
import numpy as np
import pytest
from stub_tracking import StubEstimator  # tests/stub_tracking.py

import detection
import flow
from eval.posetrack.read import read_sequence
from pose.skeleton import COCO
from tracker import runner as track_module
from tracker.config import load_track_config
from tracker.errors import TrackerError
from tracker.io.video_writer import VideoWriter
from tracker.run import main
from tracker.runner import Models, my_share, track_video


def stub_models(stop_at: int | None = None, error: type[BaseException] = KeyboardInterrupt) -> Models:
    class StubBoxes(detection.ImageBoxSource):
        def boxes(self, frame, image):
            if frame.index == stop_at:
                raise error("stopped by the test")
            return np.array([[10 + frame.index, 8, 40 + frame.index, 44, 0.9]], np.float32)

    return Models(StubEstimator(), StubBoxes(), flow.create("none"))



@pytest.fixture
def frames(tmp_path):
    """A folder of five 64x48 frames."""
    folder = tmp_path / "clip"
    folder.mkdir()
    for index in range(5):
        cv2.imwrite(str(folder / f"{index:06d}.png"), np.full((48, 64, 3), 40 * index, np.uint8))
    return folder


@pytest.fixture
def stubbed(monkeypatch):
    """Make `main` use stub models; returns a setter for the stub's stopping frame and error."""
    def use(stop_at=None, error=KeyboardInterrupt):
        monkeypatch.setattr(track_module, "build_models", lambda config, device: stub_models(stop_at, error))
    use()
    return use


def one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and last.endswith(".")
    return last


def test_missing_video(tmp_path, capsys, stubbed):
    assert main([str(tmp_path / "absent.mp4"), "-o", str(tmp_path / "out")]) == 1
    assert "absent.mp4 does not exist" in one_sentence(capsys)


def test_file_that_is_not_a_video(tmp_path, capsys, stubbed):
    fake = tmp_path / "notes.mp4"
    fake.write_text("this is not a video\n")
    assert main([str(fake), "-o", str(tmp_path / "out")]) == 1
    assert "could not be opened as a video" in one_sentence(capsys)
    assert not (tmp_path / "out").exists()  # refused before any folder is made


def test_folder_with_zero_frames(tmp_path, capsys, stubbed):
    (tmp_path / "empty").mkdir()
    assert main([str(tmp_path / "empty"), "-o", str(tmp_path / "out")]) == 1
    assert "has no image files" in one_sentence(capsys)


def test_frame_that_fails_to_decode_is_skipped_and_numbering_kept(frames, tmp_path, caplog, stubbed):
    (frames / "000002.png").write_bytes(b"broken")
    out = tmp_path / "out"
    assert main([str(frames), "-o", str(out), "--quiet"]) == 0
    assert "could not be decoded" in caplog.text
    sequence = read_sequence(out / "clip.json")
    assert [frame.file_name.rsplit("/", 1)[1] for frame in sequence.frames] == [f"{i:06d}.png" for i in range(5)]
    assert [len(frame.persons) for frame in sequence.frames] == [1, 1, 0, 1, 1]
    assert len(decord.VideoReader(str(out / "clip.mp4"))) == 5


def test_output_never_overwrites_the_input(tmp_path, capsys, stubbed):
    clip = tmp_path / "clip.mp4"
    with VideoWriter(clip, 10.0, 32, 32) as writer:
        writer.write(np.zeros((32, 32, 3), np.uint8))
    before = clip.read_bytes()
    assert main([str(clip), "-o", str(tmp_path)]) == 1
    assert "would overwrite the input" in one_sentence(capsys)
    assert clip.read_bytes() == before


def test_debug_shows_the_traceback(tmp_path, stubbed):
    with pytest.raises(TrackerError, match="does not exist"):
        main([str(tmp_path / "absent.mp4"), "-o", str(tmp_path / "out"), "--debug"])


@pytest.mark.skipif(os.geteuid() == 0, reason="root may write into read-only folders")
def test_read_only_output_folder(frames, tmp_path, capsys, stubbed):
    out = tmp_path / "locked"
    out.mkdir()
    out.chmod(0o555)
    try:
        assert main([str(frames), "-o", str(out)]) == 1
        assert "not writable" in one_sentence(capsys)
    finally:
        out.chmod(0o755)


def test_output_folder_refusing_new_files(frames, tmp_path, capsys, stubbed, monkeypatch):
    """What a read-only folder does to a writer, also when the tests run as root."""
    def refuse(*args, dir=None, **kwargs):
        raise PermissionError(13, "Permission denied", str(dir))

    monkeypatch.setattr("tempfile.mkstemp", refuse)
    out = tmp_path / "out"
    for extra in ([], ["--no-video"]):
        assert main([str(frames), "-o", str(out), *extra]) == 1
        assert "Permission denied" in one_sentence(capsys)
    assert list(out.iterdir()) == []


def test_output_folder_that_cannot_be_created(frames, tmp_path, capsys, stubbed):
    blocker = tmp_path / "a_file"
    blocker.write_text("")
    assert main([str(frames), "-o", str(blocker / "out")]) == 1
    assert "cannot create the output folder" in one_sentence(capsys)


def test_missing_weights_say_which_file_and_how_to_pass_it(frames, tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("HRTRACK_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch"))  # the detector's file is there: only the pose file lacks
    (tmp_path / "torch" / "hub" / "checkpoints").mkdir(parents=True)
    (tmp_path / "torch" / "hub" / "checkpoints" / "fasterrcnn_resnet50_fpn_v2_coco-dd69338a.pth").write_bytes(b"")
    code = main([str(frames), "-o", str(tmp_path / "out"), "--pose-config", "hrnet_w32_256x192.yaml",
                 "--pose-weights", "hrnet_w32_256x192.coco_official"])
    assert code == 1
    sentence = one_sentence(capsys)
    assert "pose_hrnet_w32_256x192.pth" in sentence and "--pose-weights PATH" in sentence
    assert str(tmp_path / "home") in sentence


def test_ctrl_c_writes_complete_outputs_for_the_frames_done(frames, tmp_path, capsys, stubbed):
    stubbed(stop_at=3)
    out = tmp_path / "out"
    assert main([str(frames), "-o", str(out), "--smooth"]) == 130
    assert "interrupted" in capsys.readouterr().err
    sequence = read_sequence(out / "clip.json")
    assert len(sequence.frames) == 3
    assert len(decord.VideoReader(str(out / "clip.mp4"))) == 3
    rows = (out / "clip.csv").read_text().splitlines()
    assert len(rows) == 1 + 3 * COCO.num_joints
    # the Kalman filters of --smooth are kept with the rest, so --resume can go on
    assert sorted(path.name for path in out.iterdir()) == [".clip.resume.json", "clip.csv", "clip.json", "clip.mp4"]


def test_a_crash_keeps_the_frames_done_and_names_the_frame(frames, tmp_path, stubbed, capsys):
    stubbed(stop_at=3, error=RuntimeError)
    out = tmp_path / "out"
    assert main([str(frames), "-o", str(out), "--quiet"]) == 1
    sentence = one_sentence(capsys)
    assert "frame 3 failed (RuntimeError: stopped by the test)" in sentence and "hold the 3 frames done" in sentence
    assert sorted(path.name for path in out.iterdir()) == [".clip.resume.json", "clip.csv", "clip.json", "clip.mp4"]
    written = json.loads((out / "clip.json").read_text())
    assert [image["file_name"] for image in written["images"]] == [f"images/clip/{i:06d}.png" for i in range(3)]
    assert {row.split(",")[0] for row in (out / "clip.csv").read_text().splitlines()[1:]} == {"0", "1", "2"}


def test_a_crash_at_the_first_frame_leaves_no_outputs(frames, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(RuntimeError):
        track_video(str(frames), stub_models(stop_at=0, error=RuntimeError), load_track_config(), out)
    assert list(out.iterdir()) == []


def test_several_videos_and_torchrun_shares(frames, tmp_path, monkeypatch, stubbed):
    second = tmp_path / "clip2"
    second.mkdir()
    for path in frames.iterdir():
        (second / path.name).write_bytes(path.read_bytes())
    out = tmp_path / "out"
    assert main([str(frames), str(second), "-o", str(out), "--quiet", "--no-video"]) == 0
    assert sorted(path.name for path in out.iterdir()) == ["clip.csv", "clip.json", "clip2.csv", "clip2.json"]
    monkeypatch.setenv("RANK", "1")
    monkeypatch.setenv("WORLD_SIZE", "2")
    assert my_share(["a", "b", "c", "d", "e"]) == ["b", "d"]


def test_posetrack17_format_and_keypoint_threshold(frames, tmp_path, stubbed):
    out = tmp_path / "out"
    assert main([str(frames), "-o", str(out), "--quiet", "--format", "posetrack17", "--kpt-thr", "0.95"]) == 0
    data = json.loads((out / "clip.json").read_text())
    assert "annolist" in data
    sequence = read_sequence(out / "clip.json")
    person = sequence.frames[0].persons[0]
    assert np.all(person.keypoints == 0)  # every joint scored 0.9 < 0.95, so none is written


def test_detections_matching_few_frames_are_reported_at_the_end(frames, tmp_path, caplog):
    detections = tmp_path / "det.json"
    detections.write_text(json.dumps([{"image_id": 1, "bbox": [4, 4, 20, 30], "score": 0.9}]))
    models = Models(StubEstimator(), detection.from_file(detections), flow.create("none"))
    with caplog.at_level(logging.INFO):
        (tmp_path / "out").mkdir()
        summary = track_video(str(frames), models, load_track_config(), tmp_path / "out")
    assert summary.frames == 5
    assert "only 1 of 5 frames had detections" in caplog.text


@pytest.mark.parametrize("flag, content, sentence", [
    ("--pose-config", b"\xff\xfe\x00binary", "model config file {path} is not a UTF-8 text file."),
    ("--detections", b"\xff\xfe\x00binary", "detections file {path} is not a UTF-8 text file."),
    ("--config", None, "config file {path} is a folder; give a YAML file."),
])
def test_a_bad_file_is_named_before_weights_are_looked_up(frames, tmp_path, capsys, flag, content, sentence):
    path = tmp_path / "given"
    path.write_bytes(content) if content is not None else path.mkdir()
    assert main([str(frames), "-o", str(tmp_path / "out"), flag, str(path)]) == 1
    assert one_sentence(capsys) == "error: " + sentence.format(path=path)
