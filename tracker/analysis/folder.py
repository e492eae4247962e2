"""The analysis of one finished run: read its PoseTrack JSON, choose tracks, process them, write the folder.

Every file is written atomically (common.files); the folder holds tracks.csv, frames.csv, README.txt,
selected.json (when tracks were chosen), the PNG plots, report.html and, with --draw, selected.mp4.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from common.config import within
from eval.posetrack.read import read_sequence
from eval.posetrack.write import write_posetrack18
from tracker.analysis.options import MAX_FPS, ProcessOptions
from tracker.analysis.process import TrackAnalysis, process_track
from tracker.analysis.selection import Selection, select
from tracker.analysis.series import track_series
from tracker.analysis.stats import hip_speed, track_statistics
from tracker.analysis.units import Calibration, calibrate
from tracker.errors import TrackerError
from tracker.io.video import VIDEO_SUFFIXES, VideoSource, glob_files
from tracker.outputs.run_record import read_record

log = logging.getLogger(__name__)
DEFAULT_FPS = 30.0  # PoseTrack's videos and tracker.run's image folders
MAX_EMBED_MB = 2000.0  # a data URI above this size is more than a browser keeps in one page


@dataclass(frozen=True)
class AnalyzeOptions:
    """Everything tracker.analyze can be told; None for fps or video means: find it next to the JSON."""

    selection: Selection = field(default_factory=Selection)
    process: ProcessOptions = field(default_factory=ProcessOptions)
    min_score: float = field(default=0.0, metadata=within(0, 1, flag="--kpt-thr"))
    fps: float | None = field(default=None, metadata=within(above=0, high=MAX_FPS, flag="--fps"))
    video: Path | None = None
    scale: float | None = field(default=None, metadata=within(above=0, flag="--scale"))
    height_m: float | None = field(default=None, metadata=within(above=0, high=10, flag="--height-m"))
    height_track: int | None = None
    plots: bool = True
    draw: bool = False
    embed_video_max_mb: float = field(default=20.0, metadata=within(0, MAX_EMBED_MB, flag="--embed-video-max-mb"))


@dataclass
class Analysis:
    """What was analysed: the tracks, their tracks.csv rows, frame rate, calibration, frame count and size."""

    tracks: list[TrackAnalysis]
    rows: list[dict]
    fps: float
    calibration: Calibration
    frame_count: int
    size: tuple[int, int]


@dataclass(frozen=True)
class Frames:
    """Where the run's frames can be read again: a video file, image folder or glob, and the range taken from it
    (the run's --start, --end, --stride); frame k of the JSON is the k-th frame of that range."""

    source: str
    start: int = 0
    end: int | None = None
    stride: int = 1
    annotated: bool = False  # the tracker's own NAME.mp4: boxes and ids are drawn on it already


def find_frames(json_path: Path, video: Path | None = None) -> Frames | None:
    """The frames to draw over: `video` when given; else the source NAME.run.json records (the original clip or
    folder); else the annotated NAME.mp4 (or another usual suffix) beside the JSON; None when there is none."""
    if video is not None:
        if not video.exists():
            raise TrackerError(f"--video {video} does not exist.")
        return Frames(str(video))
    record = read_record(json_path)
    if record is not None and not record.stream:
        if Path(record.source).exists() or glob_files(record.source):
            return Frames(record.source, record.start, record.end, record.stride)
        log.warning("%s, the source of %s, is no longer there; looking for the video beside it", record.source,
                    json_path.name)
    for suffix in VIDEO_SUFFIXES:
        candidate = json_path.with_suffix(suffix)
        if candidate.is_file():
            log.info("using the annotated %s (no source recorded beside %s): its boxes and ids show under the "
                     "drawings; give --video with the original clip", candidate.name, json_path.name)
            return Frames(str(candidate), annotated=True)
    return None


def open_frames(frames: Frames, **options) -> VideoSource:
    """The VideoSource of `frames`' range (`options`: VideoSource's other keywords)."""
    return VideoSource(frames.source, start=frames.start, end=frames.end, stride=frames.stride, **options)


def _first_frame(frames: Frames | None) -> tuple[np.ndarray | None, float | None]:
    """(RGB first frame of the run, its frame rate) from the source, (None, None) without one."""
    if frames is None:
        return None, None
    source = open_frames(frames, prefetch=1)
    try:
        frame = next(iter(source))
    finally:
        source.close()
    return frame.image, source.info.fps or None


def analyze(json_path: Path, out_dir: Path, options: AnalyzeOptions) -> Analysis:
    """Analyse the run in `json_path` and write its folder `out_dir`; returns what was analysed."""
    if not json_path.is_file():
        what = "is a folder" if json_path.is_dir() else "does not exist"
        raise TrackerError(f"{json_path} {what}; give the PoseTrack JSON a tracker run wrote (OUT/NAME.json).")
    sequence = read_sequence(json_path)
    if not sequence.frames:
        raise TrackerError(f"{json_path} holds no frames; give the PoseTrack JSON a tracker run wrote.")
    _warn_untracked(json_path, sequence)
    chosen = select(sequence, options.selection)
    video = find_frames(json_path, options.video)
    background, video_fps = _first_frame(video)
    fps = options.fps or video_fps or DEFAULT_FPS
    if options.fps is None and video_fps is None:
        log.info("no video found beside %s: taking %g frames/s (give --fps)", json_path.name, fps)
    series = track_series(chosen, options.min_score)
    tracks = [process_track(item, fps, options.process) for item in series.values()]
    calibration = _calibration(options, tracks)
    rows = [track_statistics(track, fps, calibration) for track in tracks]
    size = _frame_size(sequence, background)
    result = Analysis(tracks, rows, fps, calibration, len(sequence.frames), size)
    _write(out_dir, json_path.stem, chosen, result, options, background, video)
    return result


def _warn_untracked(json_path: Path, sequence) -> None:
    """Say so when persons are left out for want of an integer track id (a file tracker.run did not write)."""
    persons = [person for frame in sequence.frames for person in frame.persons]
    untracked = sum(person.track_id is None for person in persons)
    if untracked:
        reasons = [problem for problem in sequence.problems if "track_id" in problem]
        log.warning("%s: %d of the %d persons have no integer track id, so they are left out of the analysis%s",
                    json_path.name, untracked, len(persons), f" (first: {reasons[0]})" if reasons else "")


def analyze_run_outputs(names: list[str], output: str | Path) -> None:
    """`tracker.run --analyze`: the default analysis of each of this rank's outputs (`names`, as
    `tracker.io.naming.output_names` gives them) from NAME.json in `output`."""
    from tracker.runner import my_share

    for name in my_share(names):
        json_path = Path(output) / f"{name}.json"
        if not json_path.is_file():
            raise TrackerError(f"--analyze needs {json_path.name}, which this run did not write; "
                               "keep the JSON output on.")
        analyze(json_path, json_path.with_name(f"{json_path.stem}_analysis"), AnalyzeOptions())
        log.info("analysis of %s written to %s_analysis", json_path.name, json_path.with_suffix(""))


def _calibration(options: AnalyzeOptions, tracks: list[TrackAnalysis]) -> Calibration:
    if options.height_m is None:
        return calibrate(options.scale, None)
    by_id = {track.series.track_id: track for track in tracks}
    if options.height_track is not None and options.height_track not in by_id:
        raise TrackerError(f"--height-track {options.height_track} is not among the analysed tracks "
                           f"({', '.join(map(str, by_id)) or 'none'}).")
    if not by_id:
        raise TrackerError("--height-m needs a track to measure, and no track is left to analyse.")
    chosen = by_id[options.height_track] if options.height_track is not None else max(
        tracks, key=lambda track: (track.series.present.sum(), -track.series.track_id))
    return calibrate(options.scale, options.height_m, chosen.positions, chosen.series.track_id)


def _frame_size(sequence, background: np.ndarray | None) -> tuple[int, int]:
    """(width, height) of the frames: the video's, else the file's, else the extent of the joints."""
    if background is not None:
        return background.shape[1], background.shape[0]
    frame = sequence.frames[0]
    if frame.width and frame.height:
        return int(frame.width), int(frame.height)
    points = [p.keypoints[:, :2].max(axis=0) for f in sequence.frames for p in f.persons]
    extent = np.max(points, axis=0) if points else np.array([640.0, 480.0])
    return int(extent[0]) + 1, int(extent[1]) + 1


def _write(out_dir: Path, name: str, chosen, result: Analysis, options: AnalyzeOptions,
           background: np.ndarray | None, video: Frames | None) -> None:
    from common.files import atomic_open
    from tracker.analysis import plots, report, tables

    try:
        out_dir.mkdir(parents=True, exist_ok=True)
    except OSError as error:
        raise TrackerError(f"cannot create the analysis folder {out_dir}: {error.strerror}.") from None
    tables.write_tracks_csv(out_dir / "tracks.csv", result.rows)
    tables.write_frames_csv(out_dir / "frames.csv", result.tracks, result.fps)
    settings = _settings(options)
    with atomic_open(out_dir / "README.txt", "w", encoding="utf-8") as handle:
        handle.write(tables.readme_text(result.calibration, result.fps, settings))
    if options.selection != Selection():
        write_posetrack18(chosen, out_dir / "selected.json")
    figures: list[report.Figure] = []
    if options.plots:
        axis = plots.plot_timeline(out_dir / "timeline.png", result.tracks, result.fps, result.frame_count)
        figures.append(report.Figure(out_dir / "timeline.png", axis))
        axis = plots.plot_speeds(out_dir / "speeds.png", result.tracks, result.fps, result.calibration,
                                 result.frame_count)
        figures.append(report.Figure(out_dir / "speeds.png", axis))
        plots.plot_trajectories(out_dir / "trajectories.png", result.tracks, result.size, background)
        figures.append(report.Figure(out_dir / "trajectories.png"))
        for track in result.tracks:
            track_id = track.series.track_id
            axis = plots.plot_angles(out_dir / f"angles_track_{track_id}.png", track, result.fps)
            figures.append(report.Figure(out_dir / f"angles_track_{track_id}.png", axis, track_id))
    drawn = None
    if options.draw:
        if video is None:
            raise TrackerError("--draw needs the video: none was found beside the JSON; give --video.")
        from tracker.analysis.drawing import draw_video

        drawn = out_dir / "selected.mp4"
        draw_video(drawn, open_frames(video), result.tracks, result.fps)
    pictures = {figure.path for figure in figures}
    for stale in set(out_dir.glob("angles_track_*.png")) - pictures:  # from an earlier run with other tracks
        stale.unlink()
    notes = [f"{len(result.tracks)} track(s) over {result.frame_count} frames at {result.fps:g} frames/s.",
             f"Calibration: {result.calibration.source}.", f"Settings: {settings}.",
             "Column meanings and angle conventions: README.txt in this folder; every value per frame: frames.csv."]
    data = report.plot_data(result.tracks, result.fps, result.calibration.unit,
                            {t.series.track_id: plots.angles_to_plot(t) for t in result.tracks},
                            {t.series.track_id: hip_speed(t, result.fps, result.calibration) for t in result.tracks})
    report.write_report(out_dir / "report.html", f"hrtrack analysis: {name}", result.rows, figures, notes,
                        data=data, video=drawn, embed_max_mb=options.embed_video_max_mb)


def _settings(options: AnalyzeOptions) -> str:
    """The processing settings in one line, for README.txt and the report."""
    process, chosen = options.process, options.process.filter
    parameters = {"butterworth": f"order {chosen.order}, cutoff {chosen.cutoff_hz:g} Hz",
                  "savgol": f"window {chosen.window}, polynomial order {chosen.polyorder}",
                  "gaussian": f"sigma {chosen.sigma:g} frames, window {chosen.window}",
                  "one-euro": f"min_cutoff {chosen.min_cutoff_hz:g} Hz, beta {chosen.beta:g}, "
                              f"d_cutoff {chosen.d_cutoff_hz:g} Hz",
                  "kalman": f"process noise {chosen.process_noise:g}, measurement noise {chosen.measurement_noise:g}",
                  "rts": f"process noise {chosen.process_noise:g}, measurement noise {chosen.measurement_noise:g}",
                  "none": "no filtering"}[chosen.name]
    hampel = (f"Hampel {process.hampel_half_window} frames either side, {process.hampel_sigmas:g} sigmas"
              if process.hampel_half_window > 0 else "no outlier rejection")
    return (f"{hampel}; {process.interpolation} interpolation of gaps up to {process.max_gap} frames; "
            f"filter {chosen.name} ({parameters}); joints scoring at or below {options.min_score:g} unseen")
