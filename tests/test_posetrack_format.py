"""PoseTrack 2017/2018 files: readers agree with each other, writers round-trip (atomically, never
writing NaN), and validate() names file, frame, person and field for every problem."""
from __future__ import annotations

import copy
import json

import numpy as np
import pytest

from eval.errors import EvalError
from eval.posetrack.evaluate import evaluate
from eval.posetrack.read import read_folder, read_sequence
from eval.posetrack.types import Frame, Person, Sequence
from eval.posetrack.validate import validate
from eval.posetrack.write import SequenceWriter, write_posetrack17, write_posetrack18


@pytest.fixture(scope="module")
def public(reference_dir):
    return reference_dir / "posetrack" / "public"


def _same_people(a: Sequence, b: Sequence, *, ears: bool = True) -> None:
    assert [f.file_name for f in a.frames] == [f.file_name for f in b.frames]
    for frame_a, frame_b in zip(a.frames, b.frames):
        assert len(frame_a.persons) == len(frame_b.persons)
        assert len(frame_a.ignore_regions) == len(frame_b.ignore_regions)
        for region_a, region_b in zip(frame_a.ignore_regions, frame_b.ignore_regions):
            np.testing.assert_allclose(region_a, region_b)
        for pa, pb in zip(frame_a.persons, frame_b.persons):
            keep = np.ones(17, bool) if ears else np.isin(np.arange(17), [3, 4], invert=True)
            np.testing.assert_allclose(pa.keypoints[keep, :2], pb.keypoints[keep, :2])
            assert pa.track_id == pb.track_id
            assert (pa.head_box is None) == (pb.head_box is None)
            if pa.head_box is not None:
                np.testing.assert_allclose(pa.head_box, pb.head_box, atol=1e-9)
            assert (pa.scores is None) == (pb.scores is None)


def test_2017_and_2018_readers_agree(public):
    """p4's 2017 GT was written by poseval's converter from the same GT as p1's 2018 files."""
    pt17, pt18 = read_folder(public / "p4_pt17_format" / "gt"), read_folder(public / "p1_exact_gt" / "gt")
    assert list(pt17) == list(pt18) == ["003418_mpii_test", "009473_mpii_test", "012834_mpii_test"]
    for name in pt17:
        _same_people(pt17[name], pt18[name], ears=False)


@pytest.mark.parametrize("writer", [write_posetrack18, write_posetrack17])
def test_writers_round_trip_and_keep_the_numbers(public, tmp_path, writer):
    gt = read_folder(public / "p3_tracking_errors" / "gt")
    pred = read_folder(public / "p3_tracking_errors" / "pred")
    for role, sequences in (("gt", gt), ("pred", pred)):
        (tmp_path / role).mkdir()
        for name, sequence in sequences.items():
            writer(sequence, tmp_path / role / f"{name}.json")
    assert sorted(p.name for p in (tmp_path / "pred").iterdir()) == [f"{n}.json" for n in pred]  # no temp files
    again_gt, again_pred = read_folder(tmp_path / "gt"), read_folder(tmp_path / "pred")
    for name in gt:
        _same_people(gt[name], again_gt[name], ears=writer is write_posetrack18)
        _same_people(pred[name], again_pred[name], ears=writer is write_posetrack18)
    before, after = evaluate(gt, pred), evaluate(again_gt, again_pred)
    for metric in ("mAP", "MOTA", "MOTP", "precision", "recall"):
        np.testing.assert_allclose(after.total.values[metric], before.total.values[metric], atol=1e-9)


def _person(track_id, **changes) -> Person:
    keypoints = np.tile([100.0, 200.0, 1.0], (17, 1))
    keypoints[:, 0] += np.arange(17)
    values = {"track_id": track_id, "keypoints": keypoints, "scores": np.linspace(0.1, 0.9, 17),
              "head_box": (90.0, 150.0, 130.0, 200.0), "box": (80.0, 140.0, 160.0, 400.0), "score": 0.8}
    values.update(changes)
    return Person(**values)


def _sequence(*persons_per_frame) -> Sequence:
    frames = [Frame(f"images/val/000042_mpii_test/{i:06d}.jpg", 10000420000 + i, list(persons))
              for i, persons in enumerate(persons_per_frame)]
    return Sequence("000042_mpii_test", frames)


def test_nan_is_never_written(tmp_path):
    bad = _person(3)
    bad.keypoints[5, 0] = np.nan
    bad.scores[2] = np.inf
    sequence = _sequence([bad], [_person(4, box=(np.nan, 0.0, 1.0, 1.0))])
    for writer, name in ((write_posetrack18, "a18.json"), (write_posetrack17, "a17.json")):
        writer(sequence, tmp_path / name)
        text = (tmp_path / name).read_text()
        json.loads(text, parse_constant=lambda token, name=name: pytest.fail(f"{name} contains {token}"))
        person = read_sequence(tmp_path / name).frames[0].persons[0]
        assert not person.keypoints[5].any()  # the NaN joint is absent
        assert np.isfinite(person.scores).all()


def test_validate_names_file_frame_person_and_field(tmp_path):
    sequence = _sequence([_person(1), _person(1), _person(10000)],
                         [_person(-2), _person(None, scores=None)])
    write_posetrack18(sequence, tmp_path / "000042_mpii_test.json")
    text = (tmp_path / "000042_mpii_test.json").read_text()
    (tmp_path / "000042_mpii_test.json").write_text(text.replace("[100.0, 200.0, 1.0", "[NaN, 200.0, 1.0", 1))
    problems = validate(read_sequence(tmp_path / "000042_mpii_test.json"))
    frame0 = "000042_mpii_test.json: frame images/val/000042_mpii_test/000000.jpg"
    frame1 = "000042_mpii_test.json: frame images/val/000042_mpii_test/000001.jpg"
    assert problems == [
        f"{frame0}, person 0: keypoints of nose are NaN or infinite.",
        f"{frame0}, person 1: track_id 1 appears twice in this frame.",
        f"{frame0}, person 2: track_id 10000 is outside 0-9999.",
        f"{frame1}, person 0: track_id -2 is outside 0-9999.",
        f"{frame1}, person 1: has no track_id (needed for MOTA).",
        f"{frame1}, person 1: has no per-joint 'scores'; every joint would be scored -9999.",
    ]


def test_validate_reports_malformed_fields_and_lineup(tmp_path):
    data = {
        "categories": [{"name": "person", "keypoints": ["nose", "head_bottom", "head_top", "left_ear", "right_ear",
                                                        "left_shoulder", "right_shoulder", "left_elbow",
                                                        "right_elbow", "left_wrist", "right_wrist", "left_hip",
                                                        "right_hip", "left_knee", "right_knee", "left_ankle",
                                                        "right_ankle"]}],
        "images": [{"id": 1, "file_name": "images/val/000042_mpii_test/000000.jpg"},
                   {"id": 3, "file_name": "images/val/000042_mpii_test/000007.jpg"}],
        "annotations": [{"image_id": 1, "track_id": 0, "keypoints": [1.0] * 48, "scores": [0.5] * 17},
                        {"image_id": 1, "track_id": 1, "keypoints": [1.0] * 51, "scores": [0.5] * 3},
                        {"image_id": 2, "track_id": 0, "keypoints": [1.0] * 51},
                        {"track_id": 0}],
    }
    path = tmp_path / "000042_mpii_test.json"
    path.write_text(json.dumps(data))
    gt = _sequence([_person(0)], [_person(0)])
    problems = validate(read_sequence(path), gt)
    frame0 = "000042_mpii_test.json: frame images/val/000042_mpii_test/000000.jpg"
    assert f"{frame0}, person 0: 'keypoints' has 48 numbers, expected 51 (17 joints x 3)." in problems
    assert f"{frame0}, person 1: 'scores' has 3 numbers, expected 17 (one per joint)." in problems
    assert "000042_mpii_test.json: annotation 2: refers to image_id 2, which no image has." in problems
    assert "000042_mpii_test.json: annotation 3: has no 'image_id'." in problems
    assert ("000042_mpii_test.json: 1 labelled ground-truth frame(s) are missing, first "
            "images/val/000042_mpii_test/000001.jpg.") in problems
    assert ("000042_mpii_test.json: 1 frame(s) are not in the ground truth, first "
            "images/val/000042_mpii_test/000007.jpg.") in problems


def test_ground_truth_needs_head_boxes():
    problems = validate(_sequence([_person(0, head_box=None)]), is_gt=True)
    assert problems == ["000042_mpii_test: frame images/val/000042_mpii_test/000000.jpg, person 0: has no head "
                        "box (bbox_head), which sets the PCKh distance scale."]


def test_fifteen_joint_category_maps_by_name(tmp_path):
    names = ["right_ankle", "right_knee", "right_hip", "left_hip", "left_knee", "left_ankle", "right_wrist",
             "right_elbow", "right_shoulder", "left_shoulder", "left_elbow", "left_wrist", "neck", "nose",
             "head_top"]
    keypoints = [v for i in range(15) for v in (10.0 + i, 20.0, 1)]
    data = {"categories": [{"name": "person", "keypoints": names}],
            "images": [{"id": 5, "file_name": "a/000000.jpg"}],
            "annotations": [{"image_id": 5, "track_id": 2, "keypoints": keypoints, "scores": list(range(15))}]}
    (tmp_path / "s.json").write_text(json.dumps(data))
    sequence = read_sequence(tmp_path / "s.json")
    person = sequence.frames[0].persons[0]
    assert person.keypoints[1, 0] == 22.0  # head_bottom <- "neck" (15-joint position 12)
    assert person.keypoints[16, 0] == 10.0 and person.scores[16] == 0  # right_ankle
    assert not person.keypoints[3:5].any()  # ears absent
    assert sequence.problems == []


def test_malformed_json_names_file_and_position(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"images": [\n  {"id": 1,}\n]}')
    with pytest.raises(EvalError, match=r"broken\.json is not valid JSON: .* at line 2, column 12\."):
        read_sequence(path)


def test_empty_folder_is_an_error(tmp_path):
    with pytest.raises(EvalError, match=r"holds no .json files"):
        read_folder(tmp_path)


def test_written_file_is_one_the_tracker_can_hand_to_poseval(tmp_path):
    """The 2018 writer emits the fields poseval reads, in PoseTrack18 keypoint order."""
    write_posetrack18(_sequence([_person(7)]), tmp_path / "out.json")
    data = json.loads((tmp_path / "out.json").read_text())
    assert data["categories"][0]["name"] == "person" and len(data["categories"][0]["keypoints"]) == 17
    annotation = data["annotations"][0]
    assert annotation["image_id"] == data["images"][0]["id"] == 10000420000
    assert annotation["track_id"] == 7 and len(annotation["keypoints"]) == 51 and len(annotation["scores"]) == 17
    assert annotation["bbox_head"] == [90.0, 150.0, 40.0, 50.0]
    original = copy.deepcopy(_person(7))
    np.testing.assert_allclose(read_sequence(tmp_path / "out.json").frames[0].persons[0].keypoints,
                               original.keypoints)


@pytest.mark.parametrize("layout", ["posetrack18", "posetrack17"])
def test_streamed_file_has_the_bytes_json_dump_gives(public, tmp_path, layout):
    """The frame-by-frame writer joins its spools with json.dump's own separators, ignore regions and
    nframes in place, so a file is the same whether written whole or streamed."""
    sequence = read_sequence(public / "p1_exact_gt" / "gt" / "003418_mpii_test.json")
    assert any(frame.ignore_regions for frame in sequence.frames)
    with SequenceWriter(tmp_path / "out.json", sequence.name, layout=layout) as writer:
        for frame in sequence.frames:
            writer.add(frame)
    text = (tmp_path / "out.json").read_text()
    assert json.dumps(json.loads(text)) == text
    if layout == "posetrack18":
        images = json.loads(text)["images"]
        assert {image["nframes"] for image in images} == {len(sequence.frames)}
        assert list(images[0])[:3] == ["id", "file_name", "frame_id"]
    again = read_sequence(tmp_path / "out.json")
    _same_people(sequence, again, ears=layout == "posetrack18")


def test_streaming_writer_leaves_nothing_when_the_block_fails(public, tmp_path):
    sequence = read_sequence(public / "p1_exact_gt" / "gt" / "003418_mpii_test.json")
    with pytest.raises(RuntimeError), SequenceWriter(tmp_path / "out.json", sequence.name) as writer:
        writer.add(sequence.frames[0])
        raise RuntimeError("stop")
    assert list(tmp_path.iterdir()) == []  # the spools are anonymous files: nothing to clean up even after a kill
