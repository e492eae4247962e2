"""The joint-score threshold sweep of ``python -m eval sweep``: threshold lists, the printed table,
the best threshold of each metric and the JSON layout (percent, as on screen)."""
from __future__ import annotations

import math

from eval.errors import EvalError
from eval.posetrack.evaluate import METRICS, PoseTrackResult, format_cell

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


def best(thresholds: list[float], results: list[PoseTrackResult], metric: str) -> tuple[float, float] | None:
    """(threshold, total) with the highest total of ``metric``, the lowest threshold on ties;
    None when the metric is NaN at every threshold."""
    scored = [(result.total.total(metric), -index) for index, result in enumerate(results)
              if not math.isnan(result.total.total(metric))]
    if not scored:
        return None
    value, negative_index = max(scored)
    return thresholds[-negative_index], value


def format_sweep(thresholds: list[float], results: list[PoseTrackResult]) -> str:
    """mAP and MOTA totals (percent) per threshold, then the best threshold of each."""
    lines = [f"{'kpt-thr':>9}{'mAP':>7}{'MOTA':>7}"]
    for threshold, result in zip(thresholds, results):
        cells = "".join(format_cell(result.total.total(metric)) for metric in ("mAP", "MOTA"))
        lines.append(f"{threshold:>9g}{cells}")
    lines.append("")
    for metric in ("mAP", "MOTA"):
        found = best(thresholds, results, metric)
        lines.append(f"best {metric}: " + ("- (NaN at every threshold)" if found is None
                                           else f"{found[1]:.1f} at kpt-thr {found[0]:g}"))
    return "\n".join(lines)


def sweep_json(thresholds: list[float], results: list[PoseTrackResult]) -> dict:
    """The JSON of ``python -m eval sweep --json``: every metric's total per threshold and the best
    threshold of each, in percent (NaN as null when written)."""
    rows = [{"kpt_thr": threshold, **{metric: result.total.total(metric) for metric in METRICS}}
            for threshold, result in zip(thresholds, results)]
    best_of = {}
    for metric in METRICS:
        found = best(thresholds, results, metric)
        best_of[metric] = None if found is None else {"kpt_thr": found[0], "total": found[1]}
    warnings = list(dict.fromkeys(text for result in results for text in result.warnings))
    return {"unit": "percent", "thresholds": rows, "best": best_of, "warnings": warnings}
