"""``python -m eval``: the tables and JSON a user sees, and one-sentence errors without tracebacks."""
from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from eval.__main__ import main
from pose.skeleton import POSEVAL_JOINTS

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def public(reference_dir):
    return reference_dir / "posetrack" / "public"


def _copy_case(public: Path, case: str, destination: Path) -> tuple[Path, Path]:
    shutil.copytree(public / case / "gt", destination / "gt")
    shutil.copytree(public / case / "pred", destination / "pred")
    return destination / "gt", destination / "pred"


def _one_error_line(capsys) -> str:
    captured = capsys.readouterr()
    lines = [line for line in captured.err.splitlines() if line.startswith("error:")]
    assert len(lines) == 1 and "Traceback" not in captured.err
    return lines[0]


def test_posetrack_prints_paper_tables_and_writes_json(public, tmp_path, capsys):
    out = tmp_path / "metrics.json"
    case = public / "p3_tracking_errors"
    assert main(["posetrack", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    header = "   Head   Sho.   Elb.   Wri.    Hip   Knee   Ank.  Total"
    assert printed[1] == header and printed[5] == header
    assert printed[2].split() == ["71.2", "70.8", "74.2", "72.2", "70.3", "77.5", "73.7", "72.7"]  # poseval's row
    assert printed[6].split() == ["50.7", "48.1", "50.0", "45.7", "43.7", "52.2", "47.9", "48.5"]
    assert printed[9].split() == ["48.5", "87.4", "78.6", "79.9"]
    assert any("leaderboard" in line and "MOTP" in line for line in printed)
    data = json.loads(out.read_text())
    expected = json.loads((case / "expected.json").read_text())
    assert list(data) == ["mAP", "MOTA", "MOTP", "precision", "recall", "per_sequence", "sequences", "warnings"]
    assert list(data["MOTA"]["per_joint"]) == list(POSEVAL_JOINTS) == expected["joint_order"]
    assert data["mAP"]["total"] == pytest.approx(expected["summary"]["mAP_total"], abs=1e-9)
    assert data["MOTP"]["total"] == pytest.approx(expected["summary"]["MOTP_total_with_2018_motmetrics"], abs=1e-9)
    assert data["per_sequence"]["003418_mpii_test"]["mAP"]["per_joint"]["left_wrist"] is None


def test_malformed_json_is_one_sentence_in_a_real_process(public, tmp_path):
    gt, pred = _copy_case(public, "p1_exact_gt", tmp_path)
    (pred / "009473_mpii_test.json").write_text('{"images": [}')
    process = subprocess.run([sys.executable, "-m", "eval", "posetrack", "--gt", str(gt), "--pred", str(pred)],
                             cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert process.returncode == 1
    assert "Traceback" not in process.stderr
    assert process.stderr.strip().splitlines() == [
        f"error: {pred / '009473_mpii_test.json'} is not valid JSON: Expecting value at line 1, column 13."]


def test_empty_folder_and_no_common_sequence(public, tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    gt = str(public / "p1_exact_gt" / "gt")
    assert main(["posetrack", "--gt", gt, "--pred", str(tmp_path / "empty")]) == 1
    assert "holds no .json files" in _one_error_line(capsys)
    (tmp_path / "other").mkdir()
    shutil.copy(public / "p1_exact_gt" / "pred" / "003418_mpii_test.json", tmp_path / "other" / "elsewhere.json")
    assert main(["posetrack", "--gt", gt, "--pred", str(tmp_path / "other")]) == 1
    assert "no sequence in common" in _one_error_line(capsys)


def test_nan_coordinates_are_one_sentence_and_debug_shows_traceback(public, tmp_path, capsys):
    gt, pred = _copy_case(public, "p1_exact_gt", tmp_path)
    path = pred / "012834_mpii_test.json"
    data = json.loads(path.read_text())
    data["annotations"][3]["keypoints"][0] = float("nan")
    path.write_text(json.dumps(data))
    assert main(["posetrack", "--gt", str(gt), "--pred", str(pred)]) == 1
    line = _one_error_line(capsys)
    assert "012834_mpii_test.json: frame images/val/012834_mpii_test/000000.jpg, person 3 has NaN" in line
    from eval.errors import EvalError
    with pytest.raises(EvalError):
        main(["--debug", "posetrack", "--gt", str(gt), "--pred", str(pred)])
    with pytest.raises(EvalError):
        main(["posetrack", "--gt", str(gt), "--pred", str(pred), "--debug"])


def test_check_submission_ready(public, capsys):
    case = public / "p1_exact_gt"
    assert main(["check-submission", str(case / "pred"), "--gt", str(case / "gt")]) == 0
    assert "3 file(s) checked: ready to upload." in capsys.readouterr().out


def test_check_submission_lists_every_problem(public, tmp_path, capsys):
    gt, pred = _copy_case(public, "p1_exact_gt", tmp_path)
    (pred / "003418_mpii_test.json").write_text("[1, 2,")
    data = json.loads((pred / "009473_mpii_test.json").read_text())
    data["annotations"][0]["track_id"] = data["annotations"][1]["track_id"]
    del data["images"][4]  # an unlabelled frame: poseval still needs it, it pairs frames by position
    (pred / "009473_mpii_test.json").write_text(json.dumps(data))
    (pred / "012834_mpii_test.json").rename(pred / "012834_bonn_test.json")
    assert main(["check-submission", str(pred), "--gt", str(gt)]) == 1
    captured = capsys.readouterr()
    out = captured.out
    assert "003418_mpii_test.json is not valid JSON" in out
    assert "009473_mpii_test.json: frame images/val/009473_mpii_test/000000.jpg, person 1: track_id" in out
    assert "lists 13 images, the ground truth 14" in out
    assert "012834_bonn_test.json: no ground-truth sequence '012834_bonn_test'" in out
    assert "012834_bonn_test.json: its images are from video 012834_mpii_test; name the file" in out
    assert "sequence 012834_mpii_test of the ground truth has no file (012834_mpii_test.json)." in out
    assert "not ready to upload" in captured.err


def test_coco_and_mpii_commands_are_wired(capsys):
    for command in ("coco", "mpii"):
        with pytest.raises(SystemExit) as exit_info:
            main([command, "--help"])
        assert exit_info.value.code == 0
        assert "--gt" in capsys.readouterr().out


def test_missing_evaluator_module_is_one_sentence_but_its_import_bugs_surface(tmp_path, monkeypatch, capsys):
    from eval.__main__ import _external
    from eval.errors import EvalError
    add_arguments, cli = _external("eval.no_such_evaluator")
    assert add_arguments is None
    with pytest.raises(EvalError, match=r"eval.no_such_evaluator cannot be used here: No module named"):
        cli(None)
    (tmp_path / "broken_evaluator.py").write_text("import no_such_dependency_of_it\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(ModuleNotFoundError, match="no_such_dependency_of_it"):
        _external("broken_evaluator")
