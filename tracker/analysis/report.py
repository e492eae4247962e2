"""report.html: one self-contained page (table and PNGs embedded as base64 data URIs) that opens with no server."""
from __future__ import annotations

import base64
import html
import math
from pathlib import Path

from common.files import atomic_open

# Columns of the page's table; every column is in tracks.csv.
TABLE_COLUMNS = ("track_id", "first_frame", "last_frame", "duration_s", "coverage", "joints_filled", "mean_score")
_STYLE = """body{font-family:sans-serif;margin:1.5em;color:#222}table{border-collapse:collapse;margin:1em 0}
td,th{border:1px solid #bbb;padding:.25em .6em;text-align:right}th{background:#eee}img{max-width:100%;
display:block;margin:1em 0;border:1px solid #ddd}"""


def _image(path: Path) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return f'<img alt="{html.escape(path.stem)}" src="data:image/png;base64,{data}">'


def _cell(value) -> str:
    if isinstance(value, float):
        return "–" if math.isnan(value) else f"{value:.3f}"
    return str(value)


def write_report(path: Path, title: str, rows: list[dict], images: list[Path], notes: list[str]) -> None:
    """The page: title, notes (one paragraph each), the table of `rows` (TABLE_COLUMNS plus the motion
    columns, whose names carry the unit) and every image in order."""
    columns = [c for c in rows[0] if c in TABLE_COLUMNS or c.startswith("hip_")] if rows else list(TABLE_COLUMNS)
    head = "".join(f"<th>{html.escape(column)}</th>" for column in columns)
    body = "".join("<tr>" + "".join(f"<td>{html.escape(_cell(row[c]))}</td>" for c in columns) + "</tr>"
                   for row in rows)
    page = (f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
            f"<style>{_STYLE}</style></head><body>\n<h1>{html.escape(title)}</h1>\n"
            + "".join(f"<p>{html.escape(note)}</p>\n" for note in notes)
            + f'<table id="tracks"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>\n'
            + "\n".join(_image(image) for image in images) + "\n</body></html>\n")
    with atomic_open(path, "w", encoding="utf-8") as handle:
        handle.write(page)
