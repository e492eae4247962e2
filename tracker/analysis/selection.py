"""Choosing athletes in a PoseTrack sequence: join fragments of one person, keep chosen or the longest/largest tracks.

Steps run in a fixed order: merges first (`--merge 3=7` gives track 3's persons id 7), then
`--tracks` (ids after merging), then `--longest N` and `--largest N`. The result is a new
Sequence, so it can be written as PoseTrack JSON and drawn like any tracker output.
"""
from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass, field

import numpy as np

from common.config import within
from eval.posetrack.types import Person, Sequence
from tracker.errors import TrackerError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Selection:
    """What to keep: merges (source id -> target id), ids to keep (empty: all), longest / largest N (0: all)."""

    merges: dict[int, int] = field(default_factory=dict)
    tracks: tuple[int, ...] = ()
    longest: int = field(default=0, metadata=within(0, flag="--longest"))
    largest: int = field(default=0, metadata=within(0, flag="--largest"))


def parse_ids(text: str) -> tuple[int, ...]:
    """`3,7` -> (3, 7); TrackerError naming the bad part otherwise."""
    try:
        return tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError:
        raise TrackerError(f"--tracks {text!r} is not a comma-separated list of track ids, e.g. 3,7.") from None


def parse_merges(text: str) -> dict[int, int]:
    """`3=7,12=7` -> {3: 7, 12: 7}; TrackerError naming the bad part otherwise."""
    merges = {}
    for part in filter(None, (piece.strip() for piece in text.split(","))):
        source, equals, target = part.partition("=")
        try:
            merges[int(source)] = int(target)
        except ValueError:
            raise TrackerError(f"--merge part {part!r} is not SOURCE=TARGET track ids, e.g. 3=7.") from None
        if not equals:
            raise TrackerError(f"--merge part {part!r} is not SOURCE=TARGET track ids, e.g. 3=7.")
    return merges


def select(sequence: Sequence, selection: Selection) -> Sequence:
    """A copy of `sequence` with merges applied and only the chosen tracks' persons kept.

    Persons without a track id are dropped. Where a merge puts two persons of one id in a frame,
    the one with the higher score stays (logged once with the number of such frames).
    """
    merged = _merged(sequence, selection.merges)
    ids = _track_ids(merged)
    missing = sorted(set(selection.tracks) - ids)
    if missing:
        raise TrackerError(f"--tracks names {', '.join(map(str, missing))}, not a track of {sequence.name} "
                           f"(its tracks: {', '.join(map(str, sorted(ids))) or 'none'}).")
    keep = set(selection.tracks) or ids
    if selection.longest:
        keep = set(_ranked(merged, keep, _frames_seen)[:selection.longest])
    if selection.largest:
        keep = set(_ranked(merged, keep, _mean_area)[:selection.largest])
    frames = [dataclasses.replace(frame, persons=[p for p in frame.persons if p.track_id in keep])
              for frame in merged.frames]
    return dataclasses.replace(merged, frames=frames, problems=[])


def _merged(sequence: Sequence, merges: dict[int, int]) -> Sequence:
    ids = _track_ids(sequence)
    unknown = sorted(set(merges) - ids)
    if unknown:
        raise TrackerError(f"--merge names {', '.join(map(str, unknown))}, not a track of {sequence.name} "
                           f"(its tracks: {', '.join(map(str, sorted(ids))) or 'none'}).")
    frames, clashes = [], 0
    for frame in sequence.frames:
        best: dict[int, Person] = {}
        for person in frame.persons:
            if person.track_id is None:
                continue
            target = _final_id(int(person.track_id), merges)
            renamed = dataclasses.replace(person, track_id=target)
            if target in best:
                clashes += 1
                if _score(renamed) <= _score(best[target]):
                    continue
            best[target] = renamed
        frames.append(dataclasses.replace(frame, persons=list(best.values())))
    if clashes:
        log.warning("merging put two persons of one track in %d frame(s); the higher-scoring one was kept", clashes)
    return dataclasses.replace(sequence, frames=frames)


def _final_id(track_id: int, merges: dict[int, int]) -> int:
    """Follow merge chains (3=7, 7=9 sends 3 to 9); a cycle is an error."""
    seen = {track_id}
    while track_id in merges:
        track_id = merges[track_id]
        if track_id in seen:
            raise TrackerError(f"--merge has a cycle through track {track_id}; each id may only point onward.")
        seen.add(track_id)
    return track_id


def _track_ids(sequence: Sequence) -> set[int]:
    return {int(p.track_id) for frame in sequence.frames for p in frame.persons if p.track_id is not None}


def _score(person: Person) -> float:
    if person.score is not None:
        return float(person.score)
    return float(np.mean(person.scores)) if person.scores is not None and len(person.scores) else 0.0


def _frames_seen(sequence: Sequence, track_id: int) -> float:
    return float(sum(any(p.track_id == track_id for p in frame.persons) for frame in sequence.frames))


def _mean_area(sequence: Sequence, track_id: int) -> float:
    """Mean box area in pixels² (the box around the present joints where the file has no box)."""
    areas = []
    for frame in sequence.frames:
        for person in frame.persons:
            if person.track_id != track_id:
                continue
            if person.box is not None:
                x1, y1, x2, y2 = person.box
            else:
                seen = np.asarray(person.keypoints)[~(np.asarray(person.keypoints) == 0).all(axis=1), :2]
                if not len(seen):
                    continue
                (x1, y1), (x2, y2) = seen.min(axis=0), seen.max(axis=0)
            areas.append(max(x2 - x1, 0.0) * max(y2 - y1, 0.0))
    return float(np.mean(areas)) if areas else 0.0


def _ranked(sequence: Sequence, ids: set[int], measure) -> list[int]:
    """Ids from the highest measure down; ties by the smaller id."""
    return sorted(ids, key=lambda track_id: (-measure(sequence, track_id), track_id))
