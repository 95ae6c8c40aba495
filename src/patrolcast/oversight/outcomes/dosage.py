"""Dosage: how much patrol was delivered where and when, against what was authorised.

From a :class:`~patrolcast.oversight.outcomes.traces.Trace` (and manual
:class:`~patrolcast.oversight.outcomes.traces.PatrolLogEntry` entries) clipped to the
authorised area and window:

- the time between two consecutive fixes of one unit is spent at the first fix's place, if the
  fixes are at most ``max_gap_minutes`` apart; a longer interval is a *signal gap* (unknown
  whereabouts, never counted as patrol);
- **dosage** = unit-minutes per cell per hour of the window (a patrol-log entry counts its whole
  interval at its place);
- a **visit** is an unbroken run of in-area presence of one unit; its **dwell** is its length.
  Koper (1995) found that stops of about 10-15 minutes produced the longest residual deterrence
  (the "Koper curve"), so visits are banded: under 10, 10-15 and over 15 minutes;
- **delivered against authorised**: unit-hours in the area against the authorised hours (the
  window's length, one unit present throughout), and the hours of the window with no unit
  present (**gaps**);
- **outside the area**: unit-minutes during the window at fixes outside the authorised area,
  and fixes before or after the window, are flagged, never counted as dosage.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.oversight.outcomes.counts import Window
from patrolcast.oversight.outcomes.traces import PatrolLogEntry, Trace

__all__ = ["KOPER_MINUTES", "Dosage", "Visit", "compute_dosage"]

KOPER_MINUTES = (10.0, 15.0)
MINUTES_PER_DAY = 1440.0


@dataclass(frozen=True)
class Visit:
    unit: str
    start: float
    end: float

    @property
    def minutes(self) -> float:
        return (self.end - self.start) * MINUTES_PER_DAY


@dataclass(frozen=True)
class Dosage:
    """Delivered patrol for one deployment."""

    window: Window
    per_cell_hour: pd.DataFrame  # cell, hour (from the window start), minutes
    visits: tuple[Visit, ...]
    delivered_unit_hours: float
    authorised_hours: float
    hours_without_patrol: tuple[int, ...]
    outside_area_unit_minutes: float
    fixes_outside_window: int
    signal_gaps: tuple[tuple[str, float, float], ...]
    notes: tuple[str, ...] = field(default=())

    @property
    def per_cell(self) -> pd.Series:
        if self.per_cell_hour.empty:
            return pd.Series(dtype=float, name="minutes")
        return self.per_cell_hour.groupby("cell")["minutes"].sum()

    def dwell_bands(self) -> dict[str, int]:
        lo, hi = KOPER_MINUTES
        m = np.array([v.minutes for v in self.visits])
        return {
            f"under {lo:g} min": int((m < lo).sum()),
            f"{lo:g}-{hi:g} min (Koper)": int(((m >= lo) & (m <= hi)).sum()),
            f"over {hi:g} min": int((m > hi).sum()),
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "window": [self.window.start, self.window.end],
            "delivered_unit_hours": self.delivered_unit_hours,
            "authorised_hours": self.authorised_hours,
            "delivered_share": self.delivered_unit_hours / self.authorised_hours
            if self.authorised_hours > 0 else None,
            "visits": len(self.visits),
            "dwell_bands": self.dwell_bands(),
            "median_dwell_minutes": float(np.median([v.minutes for v in self.visits]))
            if self.visits else None,
            "hours_without_patrol": list(self.hours_without_patrol),
            "outside_area_unit_minutes": self.outside_area_unit_minutes,
            "fixes_outside_window": self.fixes_outside_window,
            "signal_gaps": [list(g) for g in self.signal_gaps],
            "per_cell_minutes": {str(k): float(v) for k, v in self.per_cell.items()},
            "notes": list(self.notes),
        }  # fmt: skip


def _spread(cell: str, a: float, b: float, window: Window,
            acc: dict[tuple[str, int], float]) -> None:  # fmt: skip
    """Add ``[a, b)`` (days) to ``acc[(cell, hour)]``, split at hour boundaries."""
    h0 = (a - window.start) * 24.0
    h1 = (b - window.start) * 24.0
    hour = int(np.floor(h0 + 1e-9))
    while h0 < h1 - 1e-12:
        edge = min(float(hour + 1), h1)
        acc[(cell, hour)] = acc.get((cell, hour), 0.0) + (edge - h0) * 60.0
        h0, hour = edge, hour + 1


def compute_dosage(
    trace: Trace | None,
    area: Any,
    window: Window,
    grid: Any,
    *,
    log: Sequence[PatrolLogEntry] = (),
    max_gap_minutes: float = 5.0,
) -> Dosage:
    """Dosage of one deployment (module docstring). ``area`` is the authorised polygon and
    ``grid`` the cells (a :class:`~patrolcast.geo.support.Grid`) in the trace's CRS."""
    import shapely

    if trace is None and not log:
        raise InputError("give a trace or patrol-log entries")
    if trace is not None and trace.crs != grid.crs:
        raise InputError(f"the trace ({trace.crs}) and the grid ({grid.crs}) differ in CRS")
    if max_gap_minutes <= 0:
        raise InputError("max_gap_minutes must be positive")
    gap = max_gap_minutes / MINUTES_PER_DAY
    ids = grid.unit_ids
    acc: dict[tuple[str, int], float] = {}
    visits: list[Visit] = []
    gaps: list[tuple[str, float, float]] = []
    outside = 0.0
    outside_window = 0
    if trace is not None and len(trace):
        frame = trace.frame().sort_values(["unit", "t"], kind="stable")
        inside_win = (frame["t"] >= window.start) & (frame["t"] < window.end)
        outside_window = int((~inside_win).sum())
        for unit, fixes in frame.groupby("unit", sort=True):
            t = fixes["t"].to_numpy(float)
            x, y = fixes["x"].to_numpy(float), fixes["y"].to_numpy(float)
            in_area = shapely.contains_xy(area, x, y)
            cell = np.asarray(grid.assign(x, y))
            open_visit: float | None = None
            last_end = window.start
            for i in range(len(t) - 1):
                a, b = max(t[i], window.start), min(t[i + 1], window.end)
                linked = t[i + 1] - t[i] <= gap + 1e-12
                present = linked and in_area[i] and b > a
                if not linked and b > a:
                    gaps.append((str(unit), float(a), float(b)))
                if present and cell[i] >= 0:
                    _spread(ids[cell[i]], a, b, window, acc)
                elif linked and b > a and not in_area[i]:
                    outside += (b - a) * MINUTES_PER_DAY
                if present and open_visit is None:
                    open_visit = a
                if present:
                    last_end = b
                if open_visit is not None and not present:
                    visits.append(Visit(str(unit), open_visit, last_end))
                    open_visit = None
            if open_visit is not None:
                visits.append(Visit(str(unit), open_visit, last_end))
    notes: list[str] = []
    for entry in log:
        a, b = max(entry.start, window.start), min(entry.end, window.end)
        if b <= a:
            notes.append(f"a patrol-log entry of {entry.unit} lies outside the window")
            continue
        if not shapely.contains_xy(area, entry.x, entry.y):
            outside += (b - a) * MINUTES_PER_DAY
            notes.append(f"a patrol-log entry of {entry.unit} lies outside the area")
            continue
        c = int(grid.assign([entry.x], [entry.y])[0])
        if c >= 0:
            _spread(ids[c], a, b, window, acc)
            visits.append(Visit(entry.unit, a, b))
    rows = [(c, h, m) for (c, h), m in sorted(acc.items())]
    per = pd.DataFrame(rows, columns=["cell", "hour", "minutes"])
    n_hours = int(np.ceil(window.days * 24.0 - 1e-9))
    covered = set(per["hour"].tolist()) if len(per) else set()
    empty = tuple(h for h in range(n_hours) if h not in covered)
    delivered = float(per["minutes"].sum() / 60.0) if len(per) else 0.0
    return Dosage(
        window=window, per_cell_hour=per, visits=tuple(sorted(visits, key=lambda v: v.start)),
        delivered_unit_hours=delivered, authorised_hours=window.days * 24.0,
        hours_without_patrol=empty, outside_area_unit_minutes=outside,
        fixes_outside_window=outside_window, signal_gaps=tuple(gaps), notes=tuple(notes),
    )  # fmt: skip
