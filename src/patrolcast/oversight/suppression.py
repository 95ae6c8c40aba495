"""Small-count suppression for published tables, with secondary suppression.

Primary suppression: a count of 1 or 2 (below ``threshold``, default 3) is shown as ``"<3"``.
Zeros are shown: they identify nobody. Secondary suppression: a table is published with its row
and column totals, so a hidden count could be worked out by subtraction. For every line (a row
or a column with its total) the published values give the sum ``S`` of the hidden cells; each
hidden cell is known to lie in ``[1, threshold-1]`` (primary) or ``[threshold, inf)``
(secondary). A hidden cell is *disclosed* when those bounds leave it one possible value::

    lower_k = max(lo_k, S - sum_{j != k} hi_j),   upper_k = min(hi_k, S - sum_{j != k} lo_j)

While any line discloses a cell, the smallest published non-zero cell of that line is hidden as
well (shown ``"[c]"``), or, if there is none, the line's total. This is the cell-suppression
practice of the ONS (*Statistical Disclosure Control Policy for Tables*, GSS 2014), with the
interval check made explicit so that tests can prove no hidden count is recoverable from a
single line. A line in which every non-zero count is hidden is not counted as disclosing (a
total of 2 split into two hidden cells is necessarily 1 and 1, but only through the rule, not
through any published number). Limits: each line is checked on its own; joint inference that
combines several lines (solving the whole table as a system) is not ruled out in general,
which is why counts are published per month only, never per day or per deployment.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

__all__ = ["PRIMARY", "SECONDARY", "TOTAL", "SuppressedTable", "disclosed_cells", "suppress"]

PRIMARY = "<3"
SECONDARY = "[c]"
TOTAL = "Total"

_PUB, _PRI, _SEC = 0, 1, 2


@dataclass(frozen=True)
class SuppressedTable:
    """A count table with margins: true counts, the status of each cell and display strings."""

    counts: pd.DataFrame  # with a "Total" row and column
    status: npt.NDArray[np.int64]  # 0 published, 1 primary, 2 secondary
    threshold: int

    @property
    def display(self) -> pd.DataFrame:
        shown = self.counts.astype(object).copy()
        values = self.counts.to_numpy()
        for (i, j), s in np.ndenumerate(self.status):
            shown.iat[i, j] = (
                PRIMARY if s == _PRI else SECONDARY if s == _SEC else int(values[i, j])
            )
        return shown

    @property
    def suppressed(self) -> npt.NDArray[np.bool_]:
        return self.status != _PUB


def _lines(shape: tuple[int, int]) -> list[tuple[list[tuple[int, int]], tuple[int, int]]]:
    """Every row and column of a table with margins: (cells, total cell)."""
    rows, cols = shape
    lines = []
    for i in range(rows):
        lines.append(([(i, j) for j in range(cols - 1)], (i, cols - 1)))
    for j in range(cols):
        lines.append(([(i, j) for i in range(rows - 1)], (rows - 1, j)))
    return lines


def _bounds(value: int, status: int, threshold: int) -> tuple[float, float]:
    if status == _PUB:
        return float(value), float(value)
    return (1.0, threshold - 1.0) if status == _PRI else (float(threshold), math.inf)


def _line_discloses(
    values: npt.NDArray[np.int64],
    status: npt.NDArray[np.int64],
    cells: list[tuple[int, int]],
    total: tuple[int, int],
    threshold: int,
) -> bool:
    """Whether the line ``sum(cells) - total = 0`` pins any hidden value (cells or total)."""
    members = [(c, 1.0) for c in cells] + [(total, -1.0)]
    if all(status[c] == _PUB for c, _ in members):
        return False
    if not any(status[c] == _PUB and values[c] > 0 for c, _ in members):
        return False  # nothing published to subtract: every non-zero count here is hidden
    bounds = [_bounds(int(values[c]), int(status[c]), threshold) for c, _ in members]
    # range of each signed term a * x
    terms = [(a * lo, a * hi) if a > 0 else (a * hi, a * lo) for (_, a), (lo, hi) in
             zip(members, bounds, strict=True)]
    lo_sum = sum(t[0] for t in terms)
    hi_sum = sum(t[1] for t in terms)
    for k, ((cell, a), (lo, hi)) in enumerate(zip(members, bounds, strict=True)):
        if status[cell] == _PUB:
            continue
        rest_lo = lo_sum - terms[k][0] if math.isfinite(terms[k][0]) else sum(
            t[0] for j, t in enumerate(terms) if j != k)
        rest_hi = hi_sum - terms[k][1] if math.isfinite(terms[k][1]) else sum(
            t[1] for j, t in enumerate(terms) if j != k)
        # a * x = -rest  =>  x in [-rest_hi / a, -rest_lo / a] (a = +1) or the reverse (a = -1)
        lower, upper = (-rest_hi, -rest_lo) if a > 0 else (rest_lo, rest_hi)
        if max(lo, lower) >= min(hi, upper):
            return True
    return False


def disclosed_cells(table: SuppressedTable) -> list[tuple[int, int]]:
    """Lines (as their total cell) where some hidden count could be recovered (should be [])."""
    values = table.counts.to_numpy().astype(np.int64)
    return [
        total
        for cells, total in _lines(values.shape)
        if _line_discloses(values, table.status, cells, total, table.threshold)
    ]


def suppress(
    table: pd.DataFrame,
    *,
    threshold: int = 3,
    locked_totals: dict[str, bool] | None = None,
) -> SuppressedTable:
    """Add totals to a table of counts and suppress small counts (primary and secondary).

    Parameters
    ----------
    table : non-negative integer counts (rows x columns), without totals.
    threshold : counts from 1 to ``threshold - 1`` are hidden.
    locked_totals : for columns (or ``"Total"``) whose total is also published elsewhere,
        whether that total is hidden there (``True``) or shown (``False``); it is kept the same
        here, so linked tables cannot be played against each other.
    """
    counts = table.astype(np.int64).copy()
    if (counts.to_numpy() < 0).any():
        raise ValueError("counts must not be negative")
    counts[TOTAL] = counts.sum(axis=1)
    counts.loc[TOTAL] = counts.sum(axis=0)
    values = counts.to_numpy().astype(np.int64)
    status = np.where((values > 0) & (values < threshold), _PRI, _PUB).astype(np.int64)
    locked: set[tuple[int, int]] = set()
    last = values.shape[0] - 1
    for col, hidden in (locked_totals or {}).items():
        j = int(counts.columns.get_loc(col))  # type: ignore[arg-type]
        cell = (last, j)
        locked.add(cell)
        if hidden and status[cell] == _PUB:
            status[cell] = _SEC
        elif not hidden and status[cell] != _PUB:
            raise ValueError(f"total of {col!r} is small here but shown elsewhere")
    lines = _lines(values.shape)
    changed = True
    while changed:
        changed = False
        for cells, total in lines:
            if not _line_discloses(values, status, cells, total, threshold):
                continue
            free = [c for c in cells + [total] if c not in locked]
            candidates = [c for c in free if status[c] == _PUB and values[c] > 0]
            if not candidates:
                continue  # nothing left to hide here: reported by disclosed_cells
            status[min(candidates, key=lambda c: (c == total, values[c], c))] = _SEC
            changed = True
    return SuppressedTable(counts=counts, status=status, threshold=threshold)
