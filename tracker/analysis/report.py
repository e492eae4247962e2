"""report.html: one self-contained page an analyst works in; it opens from disk with no server and no network.

The page holds the video of the analysed tracks (selected.mp4, embedded when small enough, else linked
beside the page), the table of tracks.csv's main columns with a link to each track's plots, and the
PNG plots embedded as data URIs. A cursor on every time plot follows the video; clicking a time plot
seeks the video there. Under each track's angle plot a line reads the plotted values at the cursor,
from the same numbers frames.csv holds (embedded as JSON, `PlotData`).
"""
from __future__ import annotations

import base64
import html
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from common.files import atomic_open
from tracker.analysis.plots import TimeAxis
from tracker.analysis.process import TrackAnalysis

# Columns of the page's table; every column is in tracks.csv.
TABLE_COLUMNS = ("track_id", "first_frame", "last_frame", "duration_s", "coverage", "joints_filled", "mean_score")
DEFAULT_EMBED_MB = 20.0
_STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222;max-width:1400px}table{border-collapse:collapse;
margin:1em 0}td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}th{background:#eee}
figure{margin:1em 0}.plot{position:relative;display:inline-block;max-width:100%}.plot img{max-width:100%;
display:block;border:1px solid #ddd}.time img{cursor:crosshair}.cursor{position:absolute;top:0;bottom:0;width:2px;
margin-left:-1px;background:#d00;pointer-events:none;display:none}video{max-width:100%;max-height:70vh;
background:#000}.readout{font-family:monospace;font-size:.9em;min-height:1.2em;white-space:pre-wrap}"""
_SCRIPT = """
(() => {
  const video = document.getElementById("video");
  const data = JSON.parse(document.getElementById("plot-data").textContent);
  const plots = [...document.querySelectorAll("figure.time")];
  const number = (value, digits) => value === null ? "-" : value.toFixed(digits);
  function show(t) {
    for (const figure of plots) {
      const d = figure.dataset, cursor = figure.querySelector(".cursor");
      const [start, end, left, right] = [+d.start, +d.end, +d.left, +d.right];
      const inside = t >= start && t <= end;
      cursor.style.display = inside ? "block" : "none";
      if (inside) cursor.style.left = (100 * (left + (right - left) * (t - start) / (end - start))) + "%";
      const track = data.tracks[d.track];
      const readout = figure.querySelector(".readout");
      if (!track || !readout) continue;
      const row = Math.floor(t * data.fps + 1e-6) - track.first;
      if (row < 0 || row >= track.speed.length) { readout.textContent = ""; continue; }
      const parts = Object.entries(track.angles).map(([name, values]) => name + " " + number(values[row], 1) + " deg");
      parts.push("hip speed " + number(track.speed[row], 2) + " " + data.unit + "/s");
      readout.textContent = "frame " + (row + track.first) + ": " + parts.join(", ");
    }
    document.body.dataset.time = t.toFixed(4);
  }
  for (const figure of plots) {
    figure.querySelector("img").addEventListener("click", (event) => {
      const d = figure.dataset, box = event.target.getBoundingClientRect();
      const fraction = ((event.clientX - box.left) / box.width - d.left) / (d.right - d.left);
      const t = Math.min(Math.max(+d.start + fraction * (d.end - d.start), 0), +d.end);
      if (video) video.currentTime = Math.min(t, video.duration || t); else show(t);
      show(t);
    });
  }
  if (video) {
    const follow = () => { show(video.currentTime); if (!video.paused) requestAnimationFrame(follow); };
    for (const name of ["timeupdate", "seeked", "play", "loadedmetadata"]) video.addEventListener(name, follow);
  }
  show(0);
})();
"""


@dataclass(frozen=True)
class Figure:
    """One picture of the page: the PNG, where its time axis lies (None: not a time plot), the track it belongs to."""

    path: Path
    axis: TimeAxis | None = None
    track: int | None = None


def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def _finite(values: np.ndarray) -> list[float | None]:
    """Floats for JSON: NaN (undefined) as null, rounded as frames.csv writes them (0.01)."""
    return [None if not math.isfinite(v) else round(float(v), 2) for v in values]


def plot_data(tracks: list[TrackAnalysis], fps: float, unit: str, angle_names: dict[int, list[str]],
              speeds: dict[int, np.ndarray]) -> dict:
    """What the page reads at the cursor: per track id its first frame, the plotted angles and the hip speed per
    frame (the arrays frames.csv and tracks.csv are written from)."""
    return {"fps": fps, "unit": unit, "tracks": {
        str(track.series.track_id): {"first": int(track.series.first),
                                     "angles": {name: _finite(track.angles[name])
                                                for name in angle_names[track.series.track_id]},
                                     "speed": _finite(speeds[track.series.track_id])}
        for track in tracks}}


def _image(figure: Figure) -> str:
    data = base64.b64encode(figure.path.read_bytes()).decode("ascii")
    image = (f'<div class="plot"><img alt="{html.escape(figure.path.stem)}" src="data:image/png;base64,{data}">'
             '<div class="cursor"></div></div>')
    if figure.axis is None:
        return f"<figure>{image}</figure>"
    axis = figure.axis
    anchor = f' id="track-{figure.track}"' if figure.track is not None else ""
    readout = '<div class="readout"></div>' if figure.track is not None else ""
    return (f'<figure class="time"{anchor} data-left="{axis.left:.5f}" data-right="{axis.right:.5f}" '
            f'data-start="{axis.start:.5f}" data-end="{axis.end:.5f}" data-track="{figure.track}">'
            f"{image}{readout}</figure>")


def _video(video: Path | None, embed_max_mb: float) -> str:
    """The video element: the file embedded when at most `embed_max_mb` MB, else linked by name (kept beside)."""
    if video is None:
        return "<p>No video: tracker.analyze --draw adds the analysed tracks' video here.</p>\n"
    if video.stat().st_size <= embed_max_mb * 1e6:
        source = "data:video/mp4;base64," + base64.b64encode(video.read_bytes()).decode("ascii")
    else:
        source = html.escape(video.name)
    return (f'<video id="video" controls preload="auto" src="{source}"></video>\n'
            f'<p>{html.escape(video.name)}: the cursor on the time plots follows it; click a plot to go there.</p>\n')


def write_report(path: Path, title: str, rows: list[dict], figures: list[Figure], notes: list[str], *,
                 data: dict, video: Path | None = None, embed_max_mb: float = DEFAULT_EMBED_MB) -> None:
    """The page: title, notes, the video, the table of `rows` (TABLE_COLUMNS plus the motion columns, whose names
    carry the unit, and a link to each track's plots) and every figure in order."""
    columns = [c for c in rows[0] if c in TABLE_COLUMNS or c.startswith("hip_")] if rows else list(TABLE_COLUMNS)
    anchors = {figure.track for figure in figures if figure.track is not None}
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns) + "<th>plots</th>"
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns)
                   + (f'<td><a href="#track-{row["track_id"]}">angles</a></td>' if row["track_id"] in anchors
                      else "<td></td>") + "</tr>" for row in rows)
    payload = json.dumps(data, allow_nan=False).replace("</", "<\\/")
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
            + "".join(f"<p>{html.escape(note)}</p>\n" for note in notes)
            + _video(video, embed_max_mb)
            + f'<table id="tracks"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n'
            + "\n".join(_image(figure) for figure in figures)
            + f'\n<script type="application/json" id="plot-data">{payload}</script>\n<script>{_SCRIPT}</script>\n'
            + "</body></html>\n")
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
