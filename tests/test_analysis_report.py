"""The analysis folder of the real clip (tests/golden's tracker output, tiny reference model) and its
report.html, parsed and opened in a real headless Chromium.

Chromium is Debian's `chromium` package (.ci/run installs it). Without it the browser test skips,
unless HRTRACK_REQUIRE_REFERENCE=1 (CI), where it fails.
"""
from __future__ import annotations

import base64
import csv
import os
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import cv2
import numpy as np
import pytest

from eval.posetrack.read import read_sequence
from tracker.analyze import main

GOLDEN_JSON = Path(__file__).resolve().parent / "golden" / "000001_mpiinew_test.json"


@pytest.fixture(scope="module")
def folder(reference_dir, tmp_path_factory) -> Path:
    """The analysis folder of the clip, with the video for the trajectory background."""
    video = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    out = tmp_path_factory.mktemp("analysis") / "000001_mpiinew_test_analysis"
    assert main([str(GOLDEN_JSON), "-o", str(out), "--video", str(video), "--quiet"]) == 0
    return out


class _Page(HTMLParser):
    """Collects the report's table rows and cells, images and any reference to another file."""

    def __init__(self):
        super().__init__()
        self.rows: list[list[str]] = []
        self.images: list[str] = []
        self.external: list[str] = []
        self._cell = False

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "tr":
            self.rows.append([])
        self._cell = tag in ("td", "th")
        if tag == "img":
            self.images.append(attrs.get("src", ""))
        for key in ("src", "href"):
            if key in attrs and not attrs[key].startswith("data:"):
                self.external.append(attrs[key])

    def handle_data(self, data):
        if self._cell and self.rows:
            self.rows[-1].append(data)

    def handle_endtag(self, tag):
        self._cell = False


def _tracks(folder: Path) -> list[dict]:
    with open(folder / "tracks.csv", encoding="utf-8", newline="") as handle:
        return list(csv.DictReader(handle))


def test_the_folder_holds_tables_that_match_the_run(folder):
    sequence = read_sequence(GOLDEN_JSON)
    ids = sorted({p.track_id for frame in sequence.frames for p in frame.persons})
    tracks = _tracks(folder)
    assert [int(row["track_id"]) for row in tracks] == ids
    for row in tracks:
        seen = [i for i, frame in enumerate(sequence.frames) if any(p.track_id == int(row["track_id"])
                                                                     for p in frame.persons)]
        span = (int(row["first_frame"]), int(row["last_frame"]), int(row["frames_seen"]))
        assert span == (seen[0], seen[-1], len(seen))
        assert float(row["duration_s"]) == pytest.approx((seen[-1] - seen[0] + 1) / 30.0, abs=1e-4)  # the video's fps
    with open(folder / "frames.csv", encoding="utf-8", newline="") as handle:
        frames = list(csv.DictReader(handle))
    assert len(frames) == sum(int(row["last_frame"]) - int(row["first_frame"]) + 1 for row in tracks)
    first = next(r for r in frames if r["track_id"] == "0" and r["frame"] == "0")
    person = next(p for p in sequence.frames[0].persons if p.track_id == 0)
    assert float(first["left_shoulder_x"]) == pytest.approx(person.keypoints[5, 0], abs=0.01)
    assert first["left_hip_visible"] == "0" and first["left_hip_x"] == ""
    readme = (folder / "README.txt").read_text(encoding="utf-8")
    assert "atan2(-dy, dx)" in readme and "unwrapped" in readme and "distances in pixels" in readme
    assert not (folder / "selected.json").exists()  # written only when tracks are chosen


def test_report_is_self_contained_with_the_table_and_every_picture(folder):
    page = _Page()
    page.feed((folder / "report.html").read_text(encoding="utf-8"))
    assert page.external == []
    tracks = _tracks(folder)
    assert page.rows[0][:2] == ["track_id", "first_frame"] and len(page.rows) == 1 + len(tracks)
    assert [row[0] for row in page.rows[1:]] == [row["track_id"] for row in tracks]
    assert len(page.images) == 2 + len(tracks)  # timeline, trajectories, one angle plot per track
    for source in page.images:
        header, data = source.split(",", 1)
        assert header == "data:image/png;base64"
        image = cv2.imdecode(np.frombuffer(base64.b64decode(data), np.uint8), cv2.IMREAD_COLOR)
        assert image is not None and image.shape[0] > 100 and image.shape[1] > 100


def _chromium() -> str:
    for name in ("chromium", "chromium-browser"):
        if shutil.which(name):
            return shutil.which(name)
    message = "chromium not found (apt-get install -y chromium)"
    if os.environ.get("HRTRACK_REQUIRE_REFERENCE") == "1":
        pytest.fail(message + " and HRTRACK_REQUIRE_REFERENCE=1")
    pytest.skip(message)


def _headless(browser: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run([browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                           "--no-first-run", f"--user-data-dir={profile}", *args],
                          capture_output=True, text=True, timeout=120, check=False)


def test_report_opens_in_headless_chromium(folder, tmp_path):
    browser = _chromium()
    url = (folder / "report.html").resolve().as_uri()
    dom = _headless(browser, tmp_path / "profile", "--dump-dom", url)
    assert dom.returncode == 0, dom.stderr[-500:]
    page = _Page()
    page.feed(dom.stdout)  # the document as the browser built it
    assert len(page.rows) == 1 + len(_tracks(folder)) and len(page.images) == 2 + len(_tracks(folder))
    shot = tmp_path / "shot.png"
    result = _headless(browser, tmp_path / "profile", f"--screenshot={shot}", "--window-size=1200,2400", url)
    assert result.returncode == 0 and shot.is_file(), result.stderr[-500:]
    image = cv2.imread(str(shot), cv2.IMREAD_COLOR)
    assert image.shape[:2] == (2400, 1200)
    assert image.std() > 20  # not a blank page
    hsv = cv2.cvtColor(image, cv2.COLOR_BGR2HSV)
    colourful = (hsv[:, :, 1] > 100) & (hsv[:, :, 2] > 60)
    # the plots drew: track colours and the video frame fill far more than the black-on-white table could
    assert colourful.mean() > 0.05
    table_band = image[:600]  # the table sits above the pictures: dark text on light cells
    assert (table_band.mean(axis=2) < 100).mean() > 0.005


def test_draw_writes_the_chosen_tracks_over_the_video(reference_dir, tmp_path):
    video = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    assert main([str(GOLDEN_JSON), "-o", str(tmp_path), "--video", str(video), "--tracks", "0,2", "--draw",
                 "--no-plots", "--quiet"]) == 0
    drawn, source = cv2.VideoCapture(str(tmp_path / "selected.mp4")), cv2.VideoCapture(str(video))
    assert int(drawn.get(cv2.CAP_PROP_FRAME_COUNT)) == 5
    ours, original = drawn.read()[1].astype(int), source.read()[1].astype(int)
    drawn.release(), source.release()
    changed = np.abs(ours - original).sum(axis=2) > 90
    person = next(p for p in read_sequence(GOLDEN_JSON).frames[0].persons if p.track_id == 0)
    x1, y1, x2, y2 = (int(v) for v in person.box)
    assert changed[y1 - 5:y2 + 5, x1 - 5:x2 + 5].mean() > 0.02  # drawn where track 0 is
    assert changed[660:, 1000:].mean() < 0.005                  # and not where no chosen track is
    assert main([str(GOLDEN_JSON), "-o", str(tmp_path / "none"), "--draw"]) == 1  # no video beside tests/golden
