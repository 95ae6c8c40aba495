"""Small-number protection: line-by-line suppression against the whole-table check.

Run: ``nice -n 10 .venv/bin/python bench/small_numbers_bench.py [--tables 1000] [--seed 7]``

Draws random count tables (shapes 2x2 to 5x5, each cell 0 with probability 0.3, 1 or 2 with
probability 0.35, otherwise 3 + a geometric count with mean about 5), suppresses each with

- the line-by-line method this project used before (``_line_by_line`` below, the module as it
  was at commit 967eeaa: each row or column checked on its own, small totals marked ``"<3"``),
- :func:`patrolcast.oversight.suppression.suppress` (whole table, integer programming),

at the default threshold 3, and judges both publications with the whole-table attacker of
:mod:`patrolcast.oversight.disclosure` (every published number, every line together, the
marks' ranges; the old publications with their ``"<3"`` totals). Prints how many tables had
any hidden count solved, and the information loss (share of cells withheld).
"""

from __future__ import annotations

import argparse
import json
import math
import time

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.oversight.disclosure import table_lines, unprotected
from patrolcast.oversight.suppression import suppress

_PUB, _PRI, _SEC = 0, 1, 2


# ------------------------------------------------ the line-by-line method, as it was before
def _bounds(value: int, status: int, threshold: int) -> tuple[float, float]:
    if status == _PUB:
        return float(value), float(value)
    return (1.0, threshold - 1.0) if status == _PRI else (float(threshold), math.inf)


def _line_discloses(values: npt.NDArray[np.int64], status: npt.NDArray[np.int64],
                    cells: list[tuple[int, int]], total: tuple[int, int],
                    threshold: int) -> bool:
    members = [(c, 1.0) for c in cells] + [(total, -1.0)]
    if all(status[c] == _PUB for c, _ in members):
        return False
    if not any(status[c] == _PUB and values[c] > 0 for c, _ in members):
        return False
    bounds = [_bounds(int(values[c]), int(status[c]), threshold) for c, _ in members]
    terms = [(a * lo, a * hi) if a > 0 else (a * hi, a * lo)
             for (_, a), (lo, hi) in zip(members, bounds, strict=True)]
    for k, ((cell, a), (lo, hi)) in enumerate(zip(members, bounds, strict=True)):
        if status[cell] == _PUB:
            continue
        rest_lo = sum(t[0] for j, t in enumerate(terms) if j != k)
        rest_hi = sum(t[1] for j, t in enumerate(terms) if j != k)
        lower, upper = (-rest_hi, -rest_lo) if a > 0 else (rest_lo, rest_hi)
        if max(lo, lower) >= min(hi, upper):
            return True
    return False


def _line_by_line(values: npt.NDArray[np.int64], threshold: int) -> npt.NDArray[np.int64]:
    status = np.where((values > 0) & (values < threshold), _PRI, _PUB).astype(np.int64)
    lines = table_lines(values.shape)
    changed = True
    while changed:
        changed = False
        for cells, total in lines:
            if not _line_discloses(values, status, cells, total, threshold):
                continue
            candidates = [c for c in cells + [total] if status[c] == _PUB and values[c] > 0]
            if not candidates:
                continue
            status[min(candidates, key=lambda c: (c == total, values[c], c))] = _SEC
            changed = True
    return status


# ------------------------------------------------------------------------------ the run
def random_table(rng: np.random.Generator) -> npt.NDArray[np.int64]:
    rows, cols = int(rng.integers(2, 6)), int(rng.integers(2, 6))
    u = rng.random((rows, cols))
    small = rng.integers(1, 3, size=(rows, cols))
    large = 3 + rng.geometric(0.2, size=(rows, cols)) - 1
    return np.where(u < 0.3, 0, np.where(u < 0.65, small, large)).astype(np.int64)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tables", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--threshold", type=int, default=3)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    t = args.threshold
    stats = {k: 0 for k in ("old_tables_solved", "new_tables_solved", "old_cells_solved",
                            "new_cells_solved", "cells", "inner_cells", "old_hidden",
                            "new_hidden", "old_inner_hidden", "new_inner_hidden",
                            "primary_inner")}
    elapsed = 0.0
    for _ in range(args.tables):
        inner = random_table(rng)
        out_start = time.perf_counter()
        new = suppress(pd.DataFrame(inner), threshold=t)
        elapsed += time.perf_counter() - out_start
        values = new.counts.to_numpy().astype(np.int64)
        old = _line_by_line(values, t)
        old_bad = unprotected(values, old, t, small_totals_marked_small=True)
        new_bad = unprotected(values, new.status, t)
        is_inner = np.zeros(values.shape, dtype=bool)
        is_inner[:-1, :-1] = True
        stats["old_tables_solved"] += bool(old_bad)
        stats["new_tables_solved"] += bool(new_bad)
        stats["old_cells_solved"] += len(old_bad)
        stats["new_cells_solved"] += len(new_bad)
        stats["cells"] += values.size
        stats["inner_cells"] += int(is_inner.sum())
        stats["old_hidden"] += int((old != _PUB).sum())
        stats["new_hidden"] += int(new.suppressed.sum())
        stats["old_inner_hidden"] += int(((old != _PUB) & is_inner).sum())
        stats["new_inner_hidden"] += int((new.suppressed & is_inner).sum())
        stats["primary_inner"] += int(((values > 0) & (values < t) & is_inner).sum())
    report = {
        **stats,
        "tables": args.tables,
        "old_share_hidden": round(stats["old_hidden"] / stats["cells"], 3),
        "new_share_hidden": round(stats["new_hidden"] / stats["cells"], 3),
        "old_share_inner_hidden": round(stats["old_inner_hidden"] / stats["inner_cells"], 3),
        "new_share_inner_hidden": round(stats["new_inner_hidden"] / stats["inner_cells"], 3),
        "primary_share_inner": round(stats["primary_inner"] / stats["inner_cells"], 3),
        "suppress_seconds_per_table": round(elapsed / args.tables, 3),
    }
    print(json.dumps(report, indent=1))


if __name__ == "__main__":
    main()
