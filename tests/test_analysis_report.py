"""The analysis folder of the real clip (tests/golden's tracker output, tiny reference model) and its
report.html, parsed and opened in a real headless Chromium (the video plays, the cursor follows it, a
click seeks); a run with known angles and paths whose plots, CSVs and report table agree; legends
with 100 tracks; drawing over the source NAME.run.json records.

Chromium is Debian's `chromium` package (.ci/run installs it). Without it the browser test skips,
unless HRTRACK_REQUIRE_REFERENCE=1 (CI), where it fails.
"""
from __future__ import annotations

import base64
import csv
import json
import os
import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from eval.posetrack.read import read_sequence
from eval.posetrack.types import Frame, Person, Sequence
from eval.posetrack.write import write_posetrack18
from pose.skeleton import POSETRACK18
from tracker.analysis.options import ProcessOptions
from tracker.analysis.plots import PLOTTED_ANGLES
from tracker.analyze import main
from tracker.io.video_writer import VideoWriter
from tracker.outputs.run_record import RunRecord, write_record

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
            if key in attrs and not attrs[key].startswith(("data:", "#")):
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
    assert len(page.images) == 3 + len(tracks)  # timeline, speeds, trajectories, one angle plot per track
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
    assert len(page.rows) == 1 + len(_tracks(folder)) and len(page.images) == 3 + len(_tracks(folder))
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


def _plot_data(folder: Path) -> dict:
    page = (folder / "report.html").read_text(encoding="utf-8")
    return json.loads(re.search(r'<script type="application/json" id="plot-data">(.*?)</script>', page, re.DOTALL)[1])


def _column(rows: list[dict], name: str) -> list[float | None]:
    return [float(row[name]) if row[name] else None for row in rows]


def test_the_plots_draw_the_angles_frames_csv_has_even_when_the_usual_ones_are_undefined(folder):
    """The tiny model's hips and elbows score below 0, so knee, elbow and hip angles are undefined; the plots
    then draw the angles that are (the shanks), with frames.csv's numbers, instead of saying none is."""
    data = _plot_data(folder)
    with open(folder / "frames.csv", encoding="utf-8", newline="") as handle:
        frames = list(csv.DictReader(handle))
    for track_id, track in data["tracks"].items():
        assert track["angles"], track_id
        rows = [row for row in frames if row["track_id"] == track_id]
        for name, values in track["angles"].items():
            assert values == _column(rows, f"{name}_deg"), (track_id, name)


def _walker(track_id: int, frame: int, step: float, left: float) -> Person:
    """A person whose left knee is bent 90 degrees and right knee straight, moving right `step` px a frame."""
    x = left + step * frame
    points = {"nose": (x + 10, 60), "head_bottom": (x + 10, 80), "head_top": (x + 10, 40), "left_ear": (x + 5, 60),
              "right_ear": (x + 15, 60), "left_shoulder": (x, 100), "right_shoulder": (x + 20, 100),
              "left_elbow": (x, 150), "right_elbow": (x + 20, 150), "left_wrist": (x, 200),
              "right_wrist": (x + 20, 200),
              "left_hip": (x, 200), "right_hip": (x + 20, 200), "left_knee": (x, 250), "right_knee": (x + 20, 250),
              "left_ankle": (x + 50, 250), "right_ankle": (x + 20, 300)}
    keypoints = np.array([[*points[name], 1.0] for name in POSETRACK18.joints])
    return Person(track_id, keypoints, np.full(17, 0.9))


def test_plot_data_tracks_csv_frames_csv_and_the_report_table_agree(tmp_path):
    frames = []
    for index in range(20):
        persons = [_walker(0, index, 3.0, 100.0)]
        if not 5 <= index <= 7:  # track 1 is missed for 3 frames, filled by linear interpolation
            persons.append(_walker(1, index, 2.0, 400.0))
        frames.append(Frame(f"{index:06d}.jpg", index, persons, width=640, height=360))
    run = tmp_path / "walk.json"
    write_posetrack18(Sequence("walk", frames), run)
    out = tmp_path / "analysis"
    assert main([str(run), "-o", str(out), "--fps", "30", "--filter", "none", "--hampel-window", "0", "--quiet"]) == 0
    tracks = {row["track_id"]: row for row in _tracks(out)}
    with open(out / "frames.csv", encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    data, page = _plot_data(out), _Page()
    page.feed((out / "report.html").read_text(encoding="utf-8"))
    table = {row[0]: dict(zip(page.rows[0], row)) for row in page.rows[1:]}
    for track_id, step in (("0", 3.0), ("1", 2.0)):
        assert float(tracks[track_id]["hip_path_px"]) == pytest.approx(19 * step)
        assert float(tracks[track_id]["hip_mean_speed_px_per_s"]) == pytest.approx(30 * step)
        assert table[track_id]["hip_path_px"] == f"{19 * step:.3f}"
        assert table[track_id]["hip_mean_speed_px_per_s"] == f"{30 * step:.3f}"
        plotted = data["tracks"][track_id]
        assert list(plotted["angles"]) == list(PLOTTED_ANGLES)
        assert plotted["speed"] == [None] + [30 * step] * 19
        mine = [row for row in rows if row["track_id"] == track_id]
        for name, values in plotted["angles"].items():
            assert values == _column(mine, f"{name}_deg"), name
            finite = [v for v in values if v is not None]
            assert float(tracks[track_id][f"{name}_mean_deg"]) == pytest.approx(np.mean(finite), abs=0.01)
        assert set(plotted["angles"]["left_knee_flexion"]) == {90.0}
        assert set(plotted["angles"]["right_knee_flexion"]) == {0.0}


def test_legends_stay_inside_the_picture_with_100_tracks(monkeypatch, tmp_path):
    from tracker.analysis import plots
    from tracker.analysis.process import process_track
    from tracker.analysis.series import track_series
    from tracker.analysis.units import PIXELS

    frames = [Frame(f"{index:06d}.jpg", index, [_walker(t, index, 1.0, 5.0 * t) for t in range(100)])
              for index in range(3)]
    tracks = [process_track(series, 30.0, ProcessOptions(hampel_half_window=0))
              for series in track_series(Sequence("crowd", frames)).values()]
    seen = []
    saved = plots._save

    def check(figure, path, *args):
        figure.canvas.draw()
        whole, legend = figure.bbox, figure.legends[0]
        box = legend.get_window_extent()
        assert whole.x0 <= box.x0 and box.x1 <= whole.x1 + 1 and whole.y0 <= box.y0 and box.y1 <= whole.y1 + 1
        labels = [text.get_text() for text in legend.get_texts()]
        assert labels[-1] == "track 99" and len(labels) == 100
        seen.append(path.name)
        return saved(figure, path, *args)

    monkeypatch.setattr(plots, "_save", check)
    plots.plot_speeds(tmp_path / "speeds.png", tracks, 30.0, PIXELS, 3)
    plots.plot_trajectories(tmp_path / "trajectories.png", tracks, (640, 360), None)
    assert seen == ["speeds.png", "trajectories.png"]


@pytest.fixture(scope="module")
def drawn(reference_dir, tmp_path_factory) -> Path:
    """The clip's analysis with --draw: selected.mp4 and the page that plays it."""
    video = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    out = tmp_path_factory.mktemp("drawn")
    assert main([str(GOLDEN_JSON), "-o", str(out), "--video", str(video), "--draw", "--quiet"]) == 0
    return out


# Waits for the video, sets its time, and reports the duration, cursor positions and a seek by clicking a plot.
_PROBE = """new Promise((resolve) => {
  const video = document.getElementById("video");
  const cursor = () => document.querySelector("figure.time[data-track='0'] .cursor").style.left;
  const ready = () => video.readyState >= 1 ? Promise.resolve() :
    new Promise((ok) => video.addEventListener("loadedmetadata", ok, {once: true}));
  const seek = (t) => new Promise((ok) => {
    video.addEventListener("seeked", ok, {once: true});
    video.currentTime = t;
  });
  ready().then(async () => {
    await seek(0.02); await new Promise((ok) => setTimeout(ok, 50));
    const early = cursor();
    await seek(0.12); await new Promise((ok) => setTimeout(ok, 50));
    const late = cursor();
    const figure = document.querySelector("figure.time[data-track='0']"), image = figure.querySelector("img");
    figure.scrollIntoView();
    const box = image.getBoundingClientRect(), d = figure.dataset;
    const x = box.left + box.width * (+d.left + (+d.right - +d.left) * (0.11 - d.start) / (d.end - d.start));
    image.dispatchEvent(new MouseEvent("click", {clientX: x, clientY: box.top + box.height / 2, bubbles: true}));
    await new Promise((ok) => setTimeout(ok, 100));
    resolve({duration: video.duration, error: video.error && video.error.code, early, late, clicked: video.currentTime,
             readout: figure.querySelector(".readout").textContent});
  });
})"""


def test_the_report_plays_the_video_and_its_cursor_follows_it_in_chromium(drawn, tmp_path):
    from headless_page import evaluate

    browser = _chromium()
    with av.open(str(drawn / "selected.mp4")) as container:
        assert container.streams.video[0].codec_context.name == "h264"
    result, errors = evaluate(browser, (drawn / "report.html").resolve().as_uri(), _PROBE, tmp_path / "profile")
    assert errors == []
    assert result["error"] is None and result["duration"] == pytest.approx(5 / 30, abs=0.02)
    early, late = (float(result[key].rstrip("%")) for key in ("early", "late"))
    assert 0 < early < late < 100  # the cursor moved right as the video's time went on
    assert result["clicked"] == pytest.approx(0.11, abs=0.005)  # a click on the plot seeked the video
    assert result["readout"].startswith("frame 3:")


def test_a_video_over_the_embedding_limit_is_linked_beside_the_page(drawn, reference_dir, tmp_path):
    video = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    assert main([str(GOLDEN_JSON), "-o", str(tmp_path), "--video", str(video), "--draw", "--no-plots",
                 "--embed-video-max-mb", "0", "--quiet"]) == 0
    page = _Page()
    page.feed((tmp_path / "report.html").read_text(encoding="utf-8"))
    assert page.external == ["selected.mp4"] and (tmp_path / "selected.mp4").is_file()
    embedded = (drawn / "report.html").read_text(encoding="utf-8")
    assert 'src="data:video/mp4;base64,' in embedded
    assert main([str(GOLDEN_JSON), "-o", str(tmp_path), "--embed-video-max-mb", "-1"]) == 1


def test_draw_takes_the_source_the_run_recorded_not_the_annotated_video(reference_dir, tmp_path):
    """NAME.run.json names the original clip: selected.mp4 is drawn over it, not over NAME.mp4's drawings."""
    clip = reference_dir / "posetrack/data/videos/000001_mpiinew_test/000001_mpiinew_test.mp4"
    run = tmp_path / "run"
    run.mkdir()
    shutil.copy(GOLDEN_JSON, run / GOLDEN_JSON.name)
    with VideoWriter(run / f"{GOLDEN_JSON.stem}.mp4", 30.0, 1280, 720) as annotated:  # a stand-in: all magenta
        for _ in range(5):
            annotated.write(np.full((720, 1280, 3), (255, 0, 255), np.uint8))
    write_record(run, GOLDEN_JSON.stem, RunRecord(str(clip), False, 0, None, 1, 30.0))
    assert main([str(run / GOLDEN_JSON.name), "--tracks", "0", "--draw", "--no-plots", "--quiet"]) == 0
    drawn = cv2.VideoCapture(str(run / f"{GOLDEN_JSON.stem}_analysis" / "selected.mp4"))
    source = cv2.VideoCapture(str(clip))
    ours, original = drawn.read()[1].astype(int), source.read()[1].astype(int)
    drawn.release(), source.release()
    assert np.abs(ours[400:, 900:] - original[400:, 900:]).mean() < 4  # the original clip, not the magenta one
