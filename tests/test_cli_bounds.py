"""Issue 23 items 6, 8, 9, 14 and 15: every option has a range checked before any model loads (drawing,
analysis and training options in the same one place as the tracking config), the last tracebacks are
one sentence, non-finite keypoints never reach the analysis tables, tracker.associate stays below
--frames, and the wording of a few messages."""
from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import cv2
import numpy as np
import pytest

from common.errors import UserError
from common.jsonio import read_json, read_yaml
from tracker import runner

GOLDEN_JSON = Path(__file__).resolve().parent / "golden" / "000001_mpiinew_test.json"
HUGE = "99999999999999999999"
READ_FILES_FIRST = runner.build_models  # reads --detections before it looks for any weights


def one_sentence(capsys) -> str:
    err = capsys.readouterr().err.strip()
    assert "Traceback" not in err
    last = err.splitlines()[-1]
    assert last.startswith("error: ") and last.endswith("."), err
    return last


@pytest.fixture
def clip(tmp_path, monkeypatch):
    """A folder of three frames; loading a model fails the test (ranges come first)."""
    def no_models(config, device):
        raise AssertionError("a model was loaded before the options were checked")

    monkeypatch.setattr(runner, "build_models", no_models)
    folder = tmp_path / "clip"
    folder.mkdir()
    for index in range(3):
        cv2.imwrite(str(folder / f"{index:06d}.png"), np.full((48, 64, 3), 40 * index, np.uint8))
    return folder


@pytest.mark.parametrize("flags, sentence", [
    (["--line-width", "100000"], "error: --line-width must be between 0 and 100, not 100000."),
    (["--radius", "100000000000000000000"], "error: --radius must be between 0 and 100, not 100000000000000000000."),
    (["--trail", "-1"], "error: --trail must be between 0 and 100000, not -1."),
    (["--batch-size", HUGE], f"error: pose.batch_size (--batch-size) must be between 1 and 4096, not {HUGE}."),
    (["--set", f"pose.batch_size={HUGE}"], f"must be between 1 and 4096, not {HUGE}."),
    (["--threads", HUGE], f"error: runtime.threads (--threads; 0: automatic) must be between 0 and 1024, not {HUGE}."),
    (["--set", f"runtime.threads={HUGE}"], f"must be between 0 and 1024, not {HUGE}."),
    (["--set", "runtime.folder_fps=.inf"], "error: runtime.folder_fps must be greater than 0, not inf."),
])
def test_out_of_range_options_are_one_sentence_before_any_model_loads(clip, tmp_path, capsys, flags, sentence):
    from tracker.run import main

    assert main([str(clip), "-o", str(tmp_path / "out"), *flags]) == 1
    assert one_sentence(capsys).endswith(sentence)
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("**/*.part*"))


def test_an_unreadable_input_folder_is_one_sentence(clip, tmp_path, capsys, monkeypatch):
    from tracker.run import main

    listing = Path.iterdir

    def refuse(path):  # what chmod 000 does, also for root, who may read any folder
        if path == clip:
            raise PermissionError(13, "Permission denied", str(path))
        return listing(path)

    monkeypatch.setattr(Path, "iterdir", refuse)
    assert main([str(clip), "-o", str(tmp_path / "out")]) == 1
    assert one_sentence(capsys) == f"error: cannot read the folder {clip}: Permission denied."


@pytest.fixture(scope="module")
def deep(tmp_path_factory) -> Path:
    """A JSON (and YAML) file of 100,000 opening brackets, and a folder holding it."""
    folder = tmp_path_factory.mktemp("deep")
    (folder / "seq.json").write_text("[" * 100_000)
    return folder / "seq.json"


def test_deeply_nested_files_are_one_sentence_in_the_one_reader(deep):
    with pytest.raises(UserError, match=f"^{deep} is nested too deeply to read"):
        read_json(deep)
    with pytest.raises(UserError, match=f"^config file {deep} is nested too deeply to read"):
        read_yaml(deep, "config")


@pytest.mark.parametrize("command", ["detections", "config", "analyze", "eval posetrack", "check-submission"])
def test_deeply_nested_files_are_one_sentence_in_every_command(command, deep, clip, tmp_path, capsys, monkeypatch):
    from eval.__main__ import main as eval_main
    from tracker.analyze import main as analyze_main
    from tracker.run import main as run_main

    folder = str(deep.parent)
    monkeypatch.setattr(runner, "build_models", READ_FILES_FIRST)
    status = {
        "detections": lambda: run_main([str(clip), "--detections", str(deep), "-o", str(tmp_path / "out")]),
        "config": lambda: run_main([str(clip), "--config", str(deep), "-o", str(tmp_path / "out")]),
        "analyze": lambda: analyze_main([str(deep), "-o", str(tmp_path / "out")]),
        "eval posetrack": lambda: eval_main(["posetrack", "--gt", folder, "--pred", folder]),
        "check-submission": lambda: eval_main(["check-submission", folder]),
    }[command]()
    assert status == 1
    said = capsys.readouterr()
    assert "Traceback" not in said.err and f"{deep} is nested too deeply to read" in said.out + said.err


def _analyze(argv: list[str]) -> int:
    from tracker.analyze import main

    return main(argv)


@pytest.mark.parametrize("flags, sentence", [
    (["--fps", "inf"], "error: --fps must be greater than 0 and at most 100000, not inf."),
    (["--fps", "1e308"], "error: --fps must be greater than 0 and at most 100000, not 1e+308."),
    (["--filter", "gaussian", "--sigma", "nan"], "error: --sigma must be greater than 0, not nan."),
    (["--scale", "nan"], "error: --scale must be greater than 0, not nan."),
    (["--beta", "nan"], "error: --beta must be at least 0, not nan."),
    (["--measurement-noise", "nan"], "error: --measurement-noise must be greater than 0, not nan."),
    (["--kpt-thr", "nan"], "error: --kpt-thr must be between 0 and 1, not nan."),
    (["--hampel-window", "-1"], "error: --hampel-window must be at least 0, not -1."),
    (["--longest", "-2"], "error: --longest must be at least 0, not -2."),
])
def test_every_analysis_number_has_a_range(tmp_path, capsys, flags, sentence):
    assert _analyze([str(GOLDEN_JSON), "-o", str(tmp_path / "out"), "--quiet", *flags]) == 1
    assert one_sentence(capsys) == sentence
    assert not (tmp_path / "out").exists()


def test_infinite_keypoints_are_unseen_with_a_warning_and_never_reach_the_tables(tmp_path, capsys):
    data = json.loads(GOLDEN_JSON.read_text())
    annotation = next(a for a in data["annotations"] if a.get("track_id") is not None)
    annotation["keypoints"][0] = math.inf  # the nose's x
    annotation["keypoints"][5 * 3 + 1] = -math.inf  # the left shoulder's y
    run = tmp_path / "run.json"
    run.write_text(json.dumps(data))  # Python writes Infinity / -Infinity, as a careless exporter would
    assert _analyze([str(run), "-o", str(tmp_path / "out"), "--no-plots"]) == 0
    warning = "run: 2 joint(s) with an infinite or NaN coordinate or score are treated as unseen"
    assert warning in capsys.readouterr().err
    for table in ("frames.csv", "tracks.csv"):
        with open(tmp_path / "out" / table, encoding="utf-8", newline="") as handle:
            cells = [cell.lower() for row in csv.reader(handle) for cell in row]
        assert not any("inf" in cell for cell in cells), table


def test_a_hampel_window_longer_than_the_series_acts_as_the_whole_series():
    from tracker.analysis.outliers import hampel

    signal = np.sin(np.arange(20.0))
    signal[7] = 40.0
    whole, flagged = hampel(signal, 19)
    assert flagged[7]
    # 10**10 samples either side would be 160 GB of padding: the window is capped by the series.
    capped, capped_flags = hampel(signal, 10**10)
    np.testing.assert_array_equal(capped, whole)
    np.testing.assert_array_equal(capped_flags, flagged)


def test_analyze_on_a_folder_says_it_is_a_folder(tmp_path, capsys):
    assert _analyze([str(tmp_path), "-o", str(tmp_path / "out")]) == 1
    assert one_sentence(capsys) == (f"error: {tmp_path} is a folder; give the PoseTrack JSON a tracker run wrote "
                                    "(OUT/NAME.json).")


def test_a_posetrack_file_is_named_with_one_file(tmp_path):
    with pytest.raises(UserError) as error:
        read_json(tmp_path / "seq.json", "PoseTrack file")
    assert str(error.value) == f"PoseTrack file {tmp_path / 'seq.json'} does not exist."


def test_large_mota_values_stay_apart_and_aligned():
    from eval.posetrack.evaluate import format_cell

    row = "".join(format_cell(value) for value in (-250547.3, -227159.5, float("nan"), 61.9))
    assert row.split() == ["-250547.3", "-227159.5", "-", "61.9"]
    assert format_cell(61.9) == "   61.9" and format_cell(float("nan")) == "      -"  # usual widths unchanged
    assert len(format_cell(-250547.3, 11)) == 11


@pytest.fixture
def sequence_file(reference_dir, tmp_path):
    """A PoseTrack file and the folder of its frames (`--frames`), with an image beside that folder."""
    source = sorted((reference_dir / "posetrack" / "public" / "p1_exact_gt" / "gt").glob("*.json"))[0]
    data = json.loads(source.read_text())
    frames = tmp_path / "frames"
    for image in data["images"]:
        path = frames / image["file_name"]
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.zeros((32, 32, 3), np.uint8))
    cv2.imwrite(str(tmp_path / "outside.jpg"), np.zeros((32, 32, 3), np.uint8))
    return data, frames


@pytest.mark.parametrize("escape", ["../outside.jpg", "ABSOLUTE"])
def test_associate_refuses_image_names_outside_frames(sequence_file, tmp_path, capsys, escape):
    from tracker.associate import main

    data, frames = sequence_file
    name = str(tmp_path / "outside.jpg") if escape == "ABSOLUTE" else escape
    data["images"][1]["file_name"] = name
    poses = tmp_path / "poses.json"
    poses.write_text(json.dumps(data))
    assert main([str(poses), "-o", str(tmp_path / "tracked.json"), "--frames", str(frames), "--flow", "dis"]) == 1
    assert one_sentence(capsys) == (f"error: {poses}: the image {name} lies outside --frames {frames}; image names "
                                    "must be relative paths below it.")
    assert not (tmp_path / "tracked.json").exists()


@pytest.mark.parametrize("flags, sentence", [
    (["--lr", "-1"], "error: optim.lr (--lr) must be greater than 0 and at most 10, not -1.0."),
    (["--batch-size", "0"], "error: optim.batch_size (--batch-size) must be between 1 and 65536, not 0."),
    (["--batch-size", str(10**20)], f"must be between 1 and 65536, not {10**20}."),
    (["--workers", "-1"], "error: workers (--workers) must be between 0 and 256, not -1."),
    (["--epochs", "0"], "error: optim.epochs (--epochs) must be between 1 and 100000, not 0."),
    (["--epochs", "-1"], "error: optim.epochs (--epochs) must be between 1 and 100000, not -1."),
    (["--output-dir", "FILE"], "error: the output folder FILE (--output-dir) is a file; give a folder."),
])
def test_training_options_are_checked_before_training(tmp_path, capsys, flags, sentence):
    from training.train import main

    file = tmp_path / "notes.txt"
    file.write_text("not a folder\n")
    flags = [str(file) if flag == "FILE" else flag for flag in flags]
    assert main(["--config", "configs/train_tiny.yaml", *flags]) == 1
    assert one_sentence(capsys).endswith(sentence.replace("FILE", str(file)))
    assert "trained" not in capsys.readouterr().out

