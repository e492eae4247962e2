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
from tracker.analysis.stats import track_statistics
from tracker.analysis.units import Calibration, calibrate
from tracker.errors import TrackerError

log = logging.getLogger(__name__)
VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm")
DEFAULT_FPS = 30.0  # PoseTrack's videos and tracker.run's image folders


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


@dataclass
class Analysis:
    """What was analysed: the tracks, their tracks.csv rows, frame rate, calibration, frame count and size."""

    tracks: list[TrackAnalysis]
    rows: list[dict]
    fps: float
    calibration: Calibration
    frame_count: int
    size: tuple[int, int]


def find_video(json_path: Path) -> Path | None:
    """The video beside a run's JSON (NAME.mp4 or another usual suffix), if there is one."""
    for suffix in VIDEO_SUFFIXES:
        candidate = json_path.with_suffix(suffix)
        if candidate.is_file():
            return candidate
    return None


def _first_frame(video: Path | None) -> tuple[np.ndarray | None, float | None]:
    """(RGB first frame, fps) of the video, (None, None) without one."""
    if video is None:
        return None, None
    from tracker.io.video import VideoSource

    source = VideoSource(video, end=1, prefetch=1)
    frame = next(iter(source))
    return frame.image, source.source_info.fps or None


def analyze(json_path: Path, out_dir: Path, options: AnalyzeOptions) -> Analysis:
    """Analyse the run in `json_path` and write its folder `out_dir`; returns what was analysed."""
    if not json_path.is_file():
        what = "is a folder" if json_path.is_dir() else "does not exist"
        raise TrackerError(f"{json_path} {what}; give the PoseTrack JSON a tracker run wrote (OUT/NAME.json).")
    sequence = read_sequence(json_path)
    if not sequence.frames:
        raise TrackerError(f"{json_path} holds no frames; give the PoseTrack JSON a tracker run wrote.")
    chosen = select(sequence, options.selection)
    video = options.video if options.video is not None else find_video(json_path)
    if video is not None and not video.exists():
        raise TrackerError(f"--video {video} does not exist.")
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
           background: np.ndarray | None, video: Path | None) -> None:
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
    images: list[Path] = []
    if options.plots:
        images.append(out_dir / "timeline.png")
        plots.plot_timeline(images[-1], result.tracks, result.fps, result.frame_count)
        images.append(out_dir / "trajectories.png")
        plots.plot_trajectories(images[-1], result.tracks, result.size, background)
        for track in result.tracks:
            images.append(out_dir / f"angles_track_{track.series.track_id}.png")
            plots.plot_angles(images[-1], track, result.fps)
    if options.draw:
        if video is None:
            raise TrackerError("--draw needs the video: none was found beside the JSON; give --video.")
        from tracker.analysis.drawing import draw_video

        draw_video(out_dir / "selected.mp4", video, result.tracks, result.fps)
    for stale in set(out_dir.glob("angles_track_*.png")) - set(images):  # from an earlier run with other tracks
        stale.unlink()
    notes = [f"{len(result.tracks)} track(s) over {result.frame_count} frames at {result.fps:g} frames/s.",
             f"Calibration: {result.calibration.source}.", f"Settings: {settings}.",
             "Column meanings and angle conventions: README.txt in this folder; every value per frame: frames.csv."]
    report.write_report(out_dir / "report.html", f"hrtrack analysis: {name}", result.rows, images, notes)


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
