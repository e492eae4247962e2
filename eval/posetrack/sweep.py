"""The joint-score threshold sweep of ``python -m eval sweep``: threshold lists, the printed table of
PoseTrack mAP/MOTA and/or PoseTrack21 HOTA, the best threshold of each metric and the JSON layout
(percent, as on screen)."""
from __future__ import annotations

import math
from typing import TYPE_CHECKING

from eval.errors import EvalError
from eval.posetrack.evaluate import METRICS, PoseTrackResult, format_cell

if TYPE_CHECKING:  # the HOTA modules load SciPy, which --help must not
    from eval.posetrack.evaluate21 import HotaResult

# Thresholds are rounded to this many decimals, so 0.1:0.9:0.05 gives 0.15, not 0.15000000000000002.
_DECIMALS = 10
# The largest sweep one command takes (0:1:0.001 is 1,001 thresholds).
MAX_THRESHOLDS = 1001


def parse_thresholds(text: str) -> list[float]:
    """Thresholds from ``START:STOP:STEP`` (STOP included when the steps reach it), single numbers,
    or a comma-separated mix of both, in the order given; EvalError naming the bad part."""
    values: list[float] = []
    for part in text.split(","):
        pieces = part.strip().split(":")
        try:
            numbers = [float(piece) for piece in pieces]
        except ValueError:
            raise EvalError(f"--kpt-thr {part.strip()!r} is not a number or START:STOP:STEP "
                            "(e.g. 0.1:0.9:0.05).") from None
        if len(numbers) not in (1, 3) or not all(math.isfinite(number) for number in numbers):
            raise EvalError(f"--kpt-thr {part.strip()!r} is not a number or START:STOP:STEP "
                            "(e.g. 0.1:0.9:0.05).")
        if len(numbers) == 1:
            values.append(numbers[0])
            continue
        start, stop, step = numbers
        if step <= 0 or stop < start:
            raise EvalError(f"--kpt-thr {part.strip()!r} needs STEP > 0 and STOP >= START.")
        count = math.floor((stop - start) / step + 1e-9) + 1
        if len(values) + count > MAX_THRESHOLDS:
            raise EvalError(f"--kpt-thr {text!r} gives more than {MAX_THRESHOLDS} thresholds; use a larger step.")
        values += [round(start + index * step, _DECIMALS) for index in range(count)]
    return values


# The PoseTrack21 fields a HOTA sweep reports per threshold.
HOTA_METRICS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "LocA")
_SHOWN = {"mota": ("mAP", "MOTA"), "hota": ("HOTA", "DetA", "AssA")}


def _totals(results: list[PoseTrackResult] | None, hota: list[HotaResult] | None) -> list[dict[str, float]]:
    """Per threshold, the total of every metric of the results given."""
    count = len(results if results is not None else hota or [])
    rows: list[dict[str, float]] = [{} for _ in range(count)]
    for row, result in zip(rows, results or []):
        row.update({metric: result.total.total(metric) for metric in METRICS})
    for row, scores in zip(rows, hota or []):
        row.update({metric: scores.value(metric) for metric in HOTA_METRICS})
    return rows


def best(thresholds: list[float], rows: list[dict[str, float]], metric: str) -> tuple[float, float] | None:
    """(threshold, total) with the highest total of ``metric``, the lowest threshold on ties;
    None when the metric is NaN at every threshold."""
    scored = [(row[metric], -index) for index, row in enumerate(rows) if not math.isnan(row[metric])]
    if not scored:
        return None
    value, negative_index = max(scored)
    return thresholds[-negative_index], value


def format_sweep(thresholds: list[float], results: list[PoseTrackResult] | None,
                 hota: list[HotaResult] | None = None) -> str:
    """mAP and MOTA and/or HOTA, DetA and AssA totals (percent) per threshold, then the best threshold of
    MOTA, mAP and HOTA."""
    shown = (_SHOWN["mota"] if results is not None else ()) + (_SHOWN["hota"] if hota is not None else ())
    rows = _totals(results, hota)
    lines = [f"{'kpt-thr':>9}" + "".join(f"{metric:>7}" for metric in shown)]
    for threshold, row in zip(thresholds, rows):
        lines.append(f"{threshold:>9g}" + "".join(format_cell(row[metric]) for metric in shown))
    lines.append("")
    for metric in (name for name in shown if name in ("mAP", "MOTA", "HOTA")):
        found = best(thresholds, rows, metric)
        lines.append(f"best {metric}: " + ("- (NaN at every threshold)" if found is None
                                           else f"{found[1]:.1f} at kpt-thr {found[0]:g}"))
    return "\n".join(lines)


def sweep_json(thresholds: list[float], results: list[PoseTrackResult] | None,
               hota: list[HotaResult] | None = None) -> dict:
    """The JSON of ``python -m eval sweep --json``: every metric's total per threshold and the best
    threshold of each, in percent (NaN as null when written)."""
    rows = _totals(results, hota)
    metrics = list(rows[0]) if rows else []
    best_of = {}
    for metric in metrics:
        found = best(thresholds, rows, metric)
        best_of[metric] = None if found is None else {"kpt_thr": found[0], "total": found[1]}
    texts = [text for result in (results or []) + (hota or []) for text in result.warnings]
    per_threshold = [{"kpt_thr": threshold, **row} for threshold, row in zip(thresholds, rows)]
    return {"unit": "percent", "thresholds": per_threshold, "best": best_of, "warnings": list(dict.fromkeys(texts))}
