"""Small-count suppression for published tables, with secondary suppression checked on the
whole table.

Primary suppression: a count of 1 or 2 (from 1 to ``threshold - 1``, default threshold 3) is
shown as ``"<3"``; a row, column or grand total that small is shown ``"[c]"`` (a ``"<3"``
total over two ``"<3"`` counts would announce 1 + 1 = 2), and so is every small count of a
table with a single row or column, which repeats its totals. Zeros are shown: they identify
nobody. A table is published with its row totals, column totals and grand total, so a hidden
count could be worked out by subtraction, line by line or by solving several lines together.
Secondary suppression hides further
counts, shown ``"[c]"``, until no hidden count can be solved.

"Solved" is decided by :mod:`patrolcast.oversight.disclosure`: for every hidden cell an integer
program finds the smallest and largest value it can take in any table that agrees with every
published number, adds up, and respects the marks (``"<3"`` is in ``[1, threshold - 1]``,
``"[c]"`` is at least ``threshold``). A ``"<3"`` cell is protected when no value within one of
the truth that the mark allows can be ruled out (at threshold 3: both 1 and 2 stay possible);
a ``"[c]"`` cell when it is not pinned to one value.

Secondary suppression is greedy and deterministic, least information loss first. While some
hidden cell is not protected (primary cells first, then in row-major order), the candidate
cells (published, non-zero, not locked) are tried cheapest first: inner cells before totals,
then smaller counts before larger ones, then position. The first whose hiding protects the
cell is hidden; if none does on its own, the cheapest candidate sharing a row or column with
the cell is hidden and the search continues. A final pass then tries to show again each
``"[c]"`` cell, the most informative first, and keeps it shown when the table stays protected.

Some disclosures come from the marks alone and no suppression can prevent them (a row whose
total is ``"<3"`` and which has two non-zero counts is necessarily 1 + 1 = 2, because zeros are
shown); :func:`inherent_cells` lists them and :func:`disclosed_cells` excludes them.
This is the cell-suppression practice of the ONS (*Statistical Disclosure Control Policy for
Tables*, GSS 2014) with the attacker modelled as in Hundepool et al., *Statistical Disclosure
Control* (2012), section 4.3. Limits: the attacker is assumed not to reverse-engineer the
greedy choice of ``"[c]"`` cells, and tables are checked one at a time (linked totals are kept
hidden or shown alike across tables by ``locked_totals``).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.oversight.disclosure import (
    PRIMARY_HIDDEN,
    PUBLISHED,
    SECONDARY_HIDDEN,
    WITHHELD,
    audit,
    fully_hidden,
    is_margin,
    table_lines,
    unprotected,
)

__all__ = [
    "PRIMARY",
    "SECONDARY",
    "TOTAL",
    "SuppressedTable",
    "disclosed_cells",
    "inherent_cells",
    "suppress",
]

PRIMARY = "<3"  # the mark at the default threshold; "<t" at threshold t
SECONDARY = "[c]"
TOTAL = "Total"

_PUB, _PRI, _SEC = PUBLISHED, PRIMARY_HIDDEN, SECONDARY_HIDDEN
Cell = tuple[int, int]


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
            small_inner = s == _PRI and not is_margin((i, j), values.shape)
            shown.iat[i, j] = (
                f"<{self.threshold}" if small_inner
                else SECONDARY if s != _PUB else int(values[i, j])
            )
        return shown

    @property
    def suppressed(self) -> npt.NDArray[np.bool_]:
        return self.status != _PUB

    def withhold(self, cells: list[Cell]) -> SuppressedTable:
        """This table with ``cells`` withheld as ``[c]`` whatever their value, zeros included
        (status 3: the public is told that ``[c]`` there may stand for any count, even 0)."""
        status = self.status.copy()
        for cell in cells:
            status[cell] = WITHHELD
        return SuppressedTable(counts=self.counts, status=status, threshold=self.threshold)


def disclosed_cells(table: SuppressedTable) -> list[Cell]:
    """Hidden cells an attacker can solve from the published table (should be ``[]``).

    Solved on the whole table (every row, column and total together); cells disclosed by the
    marks alone, which no suppression can protect, are in :func:`inherent_cells` instead.
    """
    values = table.counts.to_numpy().astype(np.int64)
    return audit(values, table.status, table.threshold).disclosed


def inherent_cells(table: SuppressedTable) -> list[Cell]:
    """Hidden cells disclosed by the marks alone (see the module notes)."""
    values = table.counts.to_numpy().astype(np.int64)
    return audit(values, table.status, table.threshold).inherent


def _cost(cell: Cell, values: npt.NDArray[np.int64]) -> tuple[bool, int, Cell]:
    last_row, last_col = values.shape[0] - 1, values.shape[1] - 1
    return (cell[0] == last_row or cell[1] == last_col, int(values[cell]), cell)


def _target_ok(values: npt.NDArray[np.int64], status: npt.NDArray[np.int64], threshold: int,
               cell: Cell) -> bool:
    return not unprotected(values, status, threshold, [cell])


def _same_line(a: Cell, b: Cell, lines: list[tuple[list[Cell], Cell]]) -> bool:
    return any(a in m and b in m for m in ([*cells, total] for cells, total in lines))


def _secondary(
    values: npt.NDArray[np.int64],
    status: npt.NDArray[np.int64],
    threshold: int,
    locked: set[Cell],
) -> npt.NDArray[np.int64]:
    lines = table_lines(values.shape)
    # What no suppression can protect does not depend on the choice of [c] cells.
    inherent = set(unprotected(values, fully_hidden(values, status), threshold))

    def disclosed(st: npt.NDArray[np.int64]) -> list[Cell]:
        return [c for c in unprotected(values, st, threshold) if c not in inherent]

    while found := disclosed(status):
        target = min(found, key=lambda c: (status[c] != _PRI, c))
        candidates = sorted(
            ((int(i), int(j)) for i, j in zip(*np.nonzero((status == _PUB) & (values > 0)),
                                              strict=True)
             if (int(i), int(j)) not in locked),
            key=lambda c: _cost(c, values),
        )
        if not candidates:
            break  # nothing left to hide: reported by disclosed_cells
        choice = None
        for cand in candidates:
            trial = status.copy()
            trial[cand] = _SEC
            if _target_ok(values, trial, threshold, target):
                choice = cand
                break
        if choice is None:
            near = [c for c in candidates if _same_line(c, target, lines)]
            choice = (near or candidates)[0]
        status[choice] = _SEC
    # Show again what is not needed, the most informative first.
    before = set(disclosed(status))
    secondary = [(int(i), int(j)) for i, j in zip(*np.nonzero(status == _SEC), strict=True)]
    for cell in sorted((c for c in secondary if c not in locked),
                       key=lambda c: _cost(c, values), reverse=True):
        trial = status.copy()
        trial[cell] = _PUB
        if set(disclosed(trial)) <= before:
            status = trial
    return status


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
    if threshold < 2:
        raise ValueError("threshold must be at least 2")
    counts = table.astype(np.int64).copy()
    if (counts.to_numpy() < 0).any():
        raise ValueError("counts must not be negative")
    counts[TOTAL] = counts.sum(axis=1)
    counts.loc[TOTAL] = counts.sum(axis=0)
    values = counts.to_numpy().astype(np.int64)
    status = np.where((values > 0) & (values < threshold), _PRI, _PUB).astype(np.int64)
    locked: set[Cell] = set()
    last = values.shape[0] - 1
    for col, hidden in (locked_totals or {}).items():
        j = int(counts.columns.get_loc(col))  # type: ignore[arg-type]
        cell = (last, j)
        locked.add(cell)
        if hidden and status[cell] == _PUB:
            status[cell] = _SEC
        elif not hidden and status[cell] != _PUB:
            raise ValueError(f"total of {col!r} is small here but shown elsewhere")
    status = _secondary(values, status, threshold, locked)
    return SuppressedTable(counts=counts, status=status, threshold=threshold)
