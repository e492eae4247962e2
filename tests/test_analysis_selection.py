"""Choosing athletes on real PoseTrack annotations: the p3 ground truth, its ids stripped and given back
by `tracker.associate`, then merged and selected by `tracker.analyze`.

The association fragments some GT persons (a person away for a while comes back under a new id);
which of our ids belong to which GT person is read off by matching poses, so the test knows the
merges that must restore the GT's tracks, without hard-coding them.
"""
from __future__ import annotations

import csv

import numpy as np
import pytest

from eval.posetrack.read import read_folder, read_sequence
from tracker.analysis.selection import Selection, select
from tracker.analyze import main as analyze_main
from tracker.associate import main as associate_main
from tracker.errors import TrackerError

NAME = "012834_mpii_test"


@pytest.fixture(scope="module")
def sequences(reference_dir, tmp_path_factory):
    """(GT, our tracked copy, tracked file) of the sequence with the most persons."""
    gt_dir = reference_dir / "posetrack" / "public" / "p3_tracking_errors" / "gt"
    out = tmp_path_factory.mktemp("tracked")
    assert associate_main([str(gt_dir), "-o", str(out)]) == 0
    return read_folder(gt_dir)[NAME], read_folder(out)[NAME], out / f"{NAME}.json"


def _owners(gt, tracked) -> dict[int, set[int]]:
    """GT id -> our ids given to its poses (poses are matched by their keypoints, which associate keeps)."""
    owners: dict[int, set[int]] = {}
    for gt_frame, frame in zip(gt.frames, tracked.frames):
        for person in frame.persons:
            match = [p.track_id for p in gt_frame.persons if np.array_equal(p.keypoints, person.keypoints)]
            owners.setdefault(match[0], set()).add(person.track_id)
    return owners


def _frames_of(sequence) -> dict[int, list[int]]:
    frames: dict[int, list[int]] = {}
    for index, frame in enumerate(sequence.frames):
        for person in frame.persons:
            frames.setdefault(person.track_id, []).append(index)
    return frames


def _merges(owners: dict[int, set[int]]) -> dict[int, int]:
    return {ours: min(ids) for ids in owners.values() for ours in ids if ours != min(ids)}


def test_merging_the_fragments_gives_back_the_ground_truth_tracks(sequences):
    gt, tracked, _ = sequences
    owners = _owners(gt, tracked)
    merges = _merges(owners)
    assert merges, "the association kept every GT person in one track: nothing to merge"
    merged = _frames_of(select(tracked, Selection(merges=merges)))
    expected = {min(owners[gt_id]): frames for gt_id, frames in _frames_of(gt).items()}
    assert merged == expected


def test_longest_and_largest_pick_the_same_persons_as_in_the_ground_truth(sequences):
    gt, tracked, _ = sequences
    owners = _owners(gt, tracked)
    merged = select(tracked, Selection(merges=_merges(owners)))
    counts = sorted(((len(f), gt_id) for gt_id, f in _frames_of(gt).items()), reverse=True)
    n = next(i for i in range(1, len(counts)) if counts[i - 1][0] > counts[i][0])  # no tie at the cut
    kept = set(_frames_of(select(merged, Selection(longest=n))))
    assert kept == {min(owners[gt_id]) for _, gt_id in counts[:n]}
    areas = {}
    for frame in gt.frames:
        for person in frame.persons:
            x1, y1, x2, y2 = person.box
            areas.setdefault(person.track_id, []).append((x2 - x1) * (y2 - y1))
    biggest = sorted(areas, key=lambda gt_id: -np.mean(areas[gt_id]))[:2]
    assert set(_frames_of(select(merged, Selection(largest=2)))) == {min(owners[gt_id]) for gt_id in biggest}


def test_analyze_merges_and_keeps_the_chosen_tracks(sequences, tmp_path):
    gt, tracked, path = sequences
    owners = _owners(gt, tracked)
    merges = _merges(owners)
    target = min(owners[next(gt_id for gt_id, ids in owners.items() if len(ids) > 1)])
    other = min(owners[next(gt_id for gt_id, ids in owners.items() if len(ids) == 1)])
    out = tmp_path / "analysis"
    status = analyze_main([str(path), "-o", str(out), "--no-plots", "--quiet",
                           "--merge", ",".join(f"{a}={b}" for a, b in merges.items()),
                           "--tracks", f"{target},{other}"])
    assert status == 0
    selected = read_sequence(out / "selected.json")
    assert set(_frames_of(selected)) == {target, other}
    with open(out / "tracks.csv", encoding="utf-8") as handle:
        rows = {int(row["track_id"]): row for row in csv.DictReader(handle)}
    gt_frames = _frames_of(gt)
    for ours in (target, other):
        gt_id = next(gt_id for gt_id, ids in owners.items() if min(ids) == ours)
        assert int(rows[ours]["frames_seen"]) == len(gt_frames[gt_id])
        assert int(rows[ours]["first_frame"]) == gt_frames[gt_id][0]


def test_selection_errors_name_the_bad_ids(sequences, tmp_path, capsys):
    _, tracked, path = sequences
    with pytest.raises(TrackerError, match="not a track of"):
        select(tracked, Selection(tracks=(999,)))
    with pytest.raises(TrackerError, match="cycle"):
        select(tracked, Selection(merges={0: 1, 1: 0}))
    assert analyze_main([str(path), "-o", str(tmp_path), "--merge", "3-7"]) == 1
    assert "is not SOURCE=TARGET track ids" in capsys.readouterr().err
