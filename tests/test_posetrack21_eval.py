"""`python -m eval posetrack21`: keypoint HOTA equal to the official PoseTrack21 kit on every public reference
case (``../shared/reference/posetrack21``), one sentence for the inputs the kit crashes on, warnings where
hrtrack scores valid ground truth the kit cannot, and the HOTA threshold sweep equal to scoring pruned files."""
from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest

from eval.__main__ import main
from eval.posetrack.evaluate21 import evaluate21_folders, sweep21
from eval.posetrack.hota import FIELDS
from eval.posetrack.prune import prune_folder
from eval.posetrack.read import read_folder

TOLERANCE = 1e-9  # percent


@pytest.fixture(scope="module")
def public(reference_dir) -> Path:
    return reference_dir / "posetrack21" / "public"


def cases(public: Path) -> list[str]:
    found = sorted(path.name for path in public.iterdir() if (path / "expected.json").is_file())
    assert len(found) >= 6
    return found


def assert_fields(mine: dict, expected: dict, where: str) -> None:
    """Every field of the kit's printed output, per joint and Total: ratios within TOLERANCE, counts exact."""
    assert set(expected) == set(FIELDS), where
    for name, columns in expected.items():
        got = dict(mine[name]["per_joint"], Total=mine[name]["total"])
        assert list(got) == list(columns), where
        for column, value in columns.items():
            if name.startswith("HOTA_"):
                assert got[column] == value and isinstance(got[column], int), f"{where} {name} {column}"
            else:
                assert abs(got[column] - value) <= TOLERANCE, f"{where} {name} {column}: {got[column]} != {value}"


def test_every_public_case_equals_the_official_kit(public, tmp_path, capsys):
    for case in cases(public):
        expected = json.loads((public / case / "expected.json").read_text())
        out = tmp_path / f"{case}.json"
        assert main(["posetrack21", "--gt", str(public / case / "gt"), "--pred", str(public / case / "pred"),
                     "--json", str(out), "--per-sequence"]) == 0
        printed = capsys.readouterr().out
        mine = json.loads(out.read_text())
        assert_fields(mine, expected["per_joint"], case)
        assert {name: mine[name]["total"] for name in expected["summary"]} == pytest.approx(expected["summary"],
                                                                                          abs=TOLERANCE)
        for file_name, fields in expected["per_sequence"].items():
            assert_fields(mine["per_sequence"][Path(file_name).stem], fields, f"{case} {file_name}")
        mine["count"]["COMBINED"].pop("Frames")  # the kit does not print it
        assert mine["count"] == {Path(name).stem if name != "COMBINED" else name: row
                                 for name, row in expected["count"].items()}
        hota = f"{expected['summary']['HOTA']:.1f}"
        assert printed.splitlines()[1].split()[0] == "HOTA" and printed.splitlines()[1].split()[-1] == hota
        assert f"{'COMBINED':<17}" in printed


def test_q6_and_q7_are_named_in_warnings(public, caplog):
    result = evaluate21_folders(public / "p6_empty_frames" / "gt", public / "p6_empty_frames" / "pred")
    assert any("003418_mpii_test: no predicted person on any labelled frame" in text for text in result.warnings)
    assert any("009473_mpii_test: 1 labelled frame(s) have no predicted person" in text and "(Q6)" in text
               for text in result.warnings)
    assert "(Q6)" in caplog.text


def copy_case(public: Path, case: str, target: Path) -> Path:
    shutil.copytree(public / case, target, ignore=shutil.ignore_patterns("kit_out", "expected.json"))
    return target


def edit(path: Path, change) -> None:
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def labelled_annotation(data: dict, number: int = 0) -> dict:
    """The `number`-th prediction annotation on the file's sixth image (a labelled one in every public GT)."""
    image_id = data["images"][5]["id"]
    return [annotation for annotation in data["annotations"] if annotation["image_id"] == image_id][number]


def error_line(capsys) -> str:
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("error: ") and "Traceback" not in err[0]
    return err[0]


def drop_last_image(data: dict) -> None:
    """A file that stops one image early, with that image's persons."""
    last = data["images"].pop()["id"]
    data["annotations"] = [annotation for annotation in data["annotations"] if annotation["image_id"] != last]


FRAME = "frame images/val/012834_mpii_test/000005.jpg"


@pytest.mark.parametrize("change, expected", [
    (lambda d: labelled_annotation(d).update(keypoints=labelled_annotation(d)["keypoints"][:45]),
     f"012834_mpii_test.json: {FRAME}, person 0: 'keypoints' has 45 numbers, expected 51"),
    (lambda d: labelled_annotation(d).update(scores=labelled_annotation(d)["scores"][:16]),
     f"012834_mpii_test.json: {FRAME}, person 0: 'scores' has 16 numbers, expected 17"),
    (lambda d: labelled_annotation(d).update(scores=[]), f"{FRAME}, person 0: 'scores' is an empty list"),
    (lambda d: labelled_annotation(d, 1).update(track_id=labelled_annotation(d, 0)["track_id"]),
     f"{FRAME}, person 1: track_id"),
    (lambda d: labelled_annotation(d).update(track_id=-4), f"{FRAME}, person 0: track_id -4 is negative"),
    (lambda d: labelled_annotation(d).update(track_id=3.0), f"{FRAME}, person 0: track_id 3.0 is written as a "
                                                            "decimal"),
    (lambda d: labelled_annotation(d).update(track_id="7"), f"{FRAME}, person 0: track_id '7' is not an integer"),
    (lambda d: labelled_annotation(d).update(image_id=123), "012834_mpii_test.json: annotation"),
    (drop_last_image, "012834_mpii_test.json: lists 9 images, the ground truth 10"),
    (lambda d: d["images"].insert(1, d["images"].pop(0)), "012834_mpii_test.json: image 0 has id 10128340001"),
])
def test_malformed_predictions_are_one_sentence(public, tmp_path, capsys, change, expected):
    case = copy_case(public, "p2_pose_noise", tmp_path / "case")
    edit(case / "pred" / "012834_mpii_test.json", change)
    assert main(["posetrack21", "--gt", str(case / "gt"), "--pred", str(case / "pred")]) == 1
    line = error_line(capsys)
    assert expected in line and "official PoseTrack21 kit crashes" in line
    assert main(["check-submission", "--pred", str(case / "pred"), "--gt", str(case / "gt"),
                 "--format", "posetrack21"]) == 1
    listed = capsys.readouterr()
    assert expected in listed.out and "not ready to upload" in listed.err


def test_swapped_unlabelled_images_and_extra_images_score_as_the_kit_does(public, tmp_path):
    case = copy_case(public, "p3_id_errors", tmp_path / "case")
    reference = evaluate21_folders(case / "gt", case / "pred").to_json()
    gt = json.loads((case / "gt" / "003418_mpii_test.json").read_text())
    unlabelled = [index for index, image in enumerate(gt["images"]) if not image["is_labeled"]]

    def change(data: dict) -> None:
        images, first, last = data["images"], unlabelled[0], unlabelled[-1]
        images[first], images[last] = images[last], images[first]
        images.append({"id": 1, "file_name": "extra.jpg"})
    edit(case / "pred" / "003418_mpii_test.json", change)
    assert evaluate21_folders(case / "gt", case / "pred").to_json()["HOTA"] == reference["HOTA"]


def test_valid_ground_truth_the_kit_crashes_on_is_scored_with_a_warning(public, tmp_path, capsys):
    case = copy_case(public, "p4_missed_and_false", tmp_path / "case")
    gt_file = case / "gt" / "009473_mpii_test.json"
    gt = json.loads(gt_file.read_text())
    empty = gt["images"][1]["id"]  # labelled, has polygons
    inside = gt["images"][2]  # labelled: one polygon around the whole image covers its persons
    assert gt["images"][1]["is_labeled"] and inside["is_labeled"] and inside["ignore_regions_x"]

    def change(data: dict) -> None:
        data["annotations"] = [a for a in data["annotations"] if a["image_id"] != empty]
        image = data["images"][2]
        image["ignore_regions_x"].append([-1, 5000, 5000, -1])
        image["ignore_regions_y"].append([-1, -1, 5000, 5000])
        image["ignore_regions_x"].append([1, 2])  # two points: the kit crashes on it
        image["ignore_regions_y"].append([1, 2])
    edit(gt_file, change)
    for folder in ("gt", "pred"):  # names without _test: the kit evaluates nothing, hrtrack everything
        for file in (case / folder).iterdir():
            file.rename(file.with_name(file.name.replace("_test", "_val")))
    assert main(["posetrack21", "--gt", str(case / "gt"), "--pred", str(case / "pred")]) == 0
    captured = capsys.readouterr()
    assert "3 sequence(s), 30 labelled frame(s) evaluated" in captured.out
    assert "009473_mpii_val: 1 labelled frame(s) have no ground-truth person (images/val/009473_mpii_test/000001.jpg)" \
        in captured.err
    assert "009473_mpii_val: on 1 labelled frame(s) every ground-truth person lies in ignore regions " \
           "(images/val/009473_mpii_test/000002.jpg)" in captured.err
    assert "ignore region of fewer than 3 points" in captured.err
    result = evaluate21_folders(case / "gt", case / "pred")
    assert result.count["009473_mpii_val"]["GT_Dets"] == 18 - 2 - 2  # two frames of two persons each gone
    assert 0 < result.value("HOTA") < 100


THRESHOLDS = [0.0, 0.3, 0.6, 0.9]


@pytest.mark.parametrize("case", ["p2_pose_noise", "p5_scores_and_ignore"])
def test_hota_sweep_equals_scoring_the_pruned_files(public, tmp_path, case):
    gt, pred = public / case / "gt", public / case / "pred"
    results = sweep21(read_folder(gt), read_folder(pred), THRESHOLDS)
    totals = set()
    for threshold, result in zip(THRESHOLDS, results):
        pruned = tmp_path / f"at_{threshold}"
        prune_folder(pred, pruned, threshold)
        expected = evaluate21_folders(gt, pruned).to_json()
        mine = result.to_json()
        assert mine.pop("warnings") == expected.pop("warnings")
        assert json.dumps(mine, sort_keys=True) == json.dumps(expected, sort_keys=True), threshold
        totals.add(result.value("HOTA"))
    assert len(totals) == len(THRESHOLDS)  # each threshold changes the score


def test_sweep_command_with_hota_and_all(public, tmp_path, capsys):
    case = public / "p5_scores_and_ignore"
    out = tmp_path / "sweep.json"
    assert main(["sweep", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--kpt-thr", "0:0.9:0.3",
                 "--metric", "hota", "--json", str(out)]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["kpt-thr", "HOTA", "DetA", "AssA"] and len(printed) == 1 + 4 + 2
    written = json.loads(out.read_text())
    at_zero = evaluate21_folders(case / "gt", case / "pred", 0.0)
    assert written["thresholds"][0]["HOTA"] == pytest.approx(at_zero.value("HOTA"), abs=1e-12)
    best = max(written["thresholds"], key=lambda row: row["HOTA"])
    assert printed[-1] == f"best HOTA: {best['HOTA']:.1f} at kpt-thr {best['kpt_thr']:g}"
    assert main(["sweep", "--gt", str(case / "gt"), "--pred", str(case / "pred"), "--kpt-thr", "0.5",
                 "--metric", "all"]) == 0
    printed = capsys.readouterr().out.splitlines()
    assert printed[0].split() == ["kpt-thr", "mAP", "MOTA", "HOTA", "DetA", "AssA"]
    assert [line.split(":")[0] for line in printed[-3:]] == ["best mAP", "best MOTA", "best HOTA"]


def test_prune_keeps_the_kit_layout_and_old_spellings_still_work(public, tmp_path, capsys, caplog):
    pred = public / "p5_scores_and_ignore" / "pred"
    assert main(["prune", "--kpt-thr", "0.5", "--pred", str(pred), "-o", str(tmp_path / "new")]) == 0
    assert main(["prune", "--kpt-thr", "0.5", str(pred), str(tmp_path / "old")]) == 0
    assert "old spelling of --pred" in caplog.text and "old spelling of -o" in caplog.text
    for file in (tmp_path / "new").iterdir():
        assert file.read_bytes() == (tmp_path / "old" / file.name).read_bytes()
        data = json.loads(file.read_text())
        assert all(len(a["keypoints"]) == 51 and len(a.get("scores", [0] * 17)) == 17 for a in data["annotations"])
    capsys.readouterr()
    assert main(["check-submission", "--pred", str(tmp_path / "new"), "--gt", str(pred.parent / "gt"),
                 "--format", "posetrack21"]) == 0
    assert "3 file(s) checked: ready to upload." in capsys.readouterr().out
    assert main(["prune", "--kpt-thr", "0.5", "--pred", str(pred), str(pred), str(tmp_path / "x")]) == 1
    assert "give the folder once" in error_line(capsys)


def test_the_readme_states_what_the_hota_sweep_prints(public, capsys):
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    part = readme[readme.index("\n### PoseTrack21\n"):]
    part = part[:part.index("\n## ")]
    sweep_line = next(line for line in part.splitlines() if line.startswith("python -m eval sweep --metric hota"))
    arguments = sweep_line.replace("../shared/reference", str(public.parents[1])).split()[3:]
    assert main(arguments) == 0
    printed = capsys.readouterr().out
    claim = re.search(r"`(best HOTA: [^`]+)`", part).group(1)
    assert claim in printed
    threshold = claim.split()[-1]
    assert f"--kpt-thr {threshold} " in part and f"--kpt-thr {threshold} --pred" in part  # the later commands use it


def test_a_file_that_is_no_sequence_in_the_ground_truth_is_one_sentence(public, tmp_path, capsys):
    case = copy_case(public, "p1_exact_gt", tmp_path / "case")
    (case / "gt" / "notes.json").write_text('{"author": "me"}')
    assert main(["posetrack21", "--gt", str(case / "gt"), "--pred", str(case / "pred")]) == 1
    assert "notes.json: has no 'images' list" in error_line(capsys)
