"""The naive forecast: what happened in the last period is what will happen next.

For a window ``[start, end)`` of length ``W`` days, the naive forecaster counts, in each unit,
the events (and their harm) of the *lookback period* ``[cutoff - L, cutoff)`` and scales them to
the window: ``expected = observed * W / L``. By default ``L = W`` (the last period of the same
length as the forecast window: last week for next week, last month for next month); a fixed
``lookback_days`` can be set instead.

It is the baseline every hotspot method must beat (the "last period" benchmark used with
the prediction accuracy index, Chainey, Tompson & Uhlig 2008).

Month-precision data (data.police.uk, London Datastore counts) carry the month's first day as
their time. A lookback of "31 days before 1 March" would then start on 29 January and miss
January's records, so for such data the lookback start is moved to the nearest month start
(and is never shorter than one month); the scale factor uses the true length of the period.
"""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np

from patrolcast.events import EventSet, from_days, to_days
from patrolcast.forecast.base import FloatArray, Forecaster
from patrolcast.geo.support import Support


def _month_start(year: int, month: int) -> float:
    year += (month - 1) // 12
    month = (month - 1) % 12 + 1
    return to_days(datetime(year, month, 1, tzinfo=UTC))


def lookback_start(cutoff: float, days: float, time_precision: str) -> float:
    """Start of the lookback period ``[start, cutoff)`` of about ``days`` days.

    For ``time_precision == "month"`` the start is the month start nearest ``cutoff - days``
    and at least one month before the month start at or before ``cutoff``.
    """
    if days <= 0:
        raise ValueError("a lookback period must be positive")
    raw = cutoff - days
    if time_precision != "month":
        return raw
    when = from_days(raw)
    here = _month_start(when.year, when.month)
    nxt = _month_start(when.year, when.month + 1)
    snapped = here if raw - here <= nxt - raw else nxt
    last = from_days(cutoff)
    latest = _month_start(last.year, last.month)
    if latest >= cutoff:  # cutoff on a month start: the latest full month begins one month before
        latest = _month_start(last.year, last.month - 1)
    return min(snapped, latest)


def recent(history: EventSet, cutoff: float, days: float) -> tuple[EventSet, float]:
    """The records of the lookback period before ``cutoff`` and the period's length in days."""
    start = lookback_start(cutoff, days, history.time_precision)
    return history.between(start, cutoff), cutoff - start


def counts_per_unit(support: Support, events: EventSet) -> tuple[FloatArray, FloatArray]:
    """Total count and harm of ``events`` in each unit of ``support`` (events outside dropped)."""
    unit = support.assign(events.x, events.y)
    ok = unit >= 0
    n = support.n_units
    count = np.bincount(unit[ok], weights=events.count[ok], minlength=n).astype(np.float64)
    harm = np.bincount(unit[ok], weights=events.harm[ok], minlength=n).astype(np.float64)
    return count, harm


class NaiveForecaster(Forecaster):
    """Last period's counts and harm per unit, scaled to the forecast window.

    Parameters
    ----------
    lookback_days : length ``L`` of the period counted, in days; ``None`` (default) uses the
        forecast window's own length; ``"all"`` counts every record before the cut-off (the
        long-run rate, ``L`` = from the first record to the cut-off).
    """

    name = "naive"

    def __init__(self, *, lookback_days: float | str | None = None) -> None:
        self.lookback_days = lookback_days

    def _validate_params(self) -> None:
        if self.lookback_days is None or self.lookback_days == "all":
            return
        if isinstance(self.lookback_days, str) or not float(self.lookback_days) > 0:
            raise ValueError(
                f"lookback_days must be positive, None or 'all', got {self.lookback_days!r}"
            )

    def lookback_used(self, window_days: float) -> float:
        if self.lookback_days == "all":
            return float("inf")
        return window_days if self.lookback_days is None else float(self.lookback_days)

    def _fit(self, history: EventSet, cutoff: float) -> None:
        self.history_ = history
        self.fit_cutoff_ = cutoff  # the end of the known data (a month start for month data)

    def _predict(
        self, support: Support, start: float, end: float
    ) -> tuple[FloatArray, FloatArray, dict[str, FloatArray]]:
        window = end - start
        if self.lookback_days == "all":
            events = self.history_
            first = float(events.t.min()) if len(events) else self.fit_cutoff_ - window
            length = max(self.fit_cutoff_ - first, window)
        else:
            days = window if self.lookback_days is None else float(self.lookback_days)
            events, length = recent(self.history_, self.fit_cutoff_, days)
        count, harm = counts_per_unit(support, events)
        scale = window / length
        return count * scale, harm * scale, {}
