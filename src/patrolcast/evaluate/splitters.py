"""Rolling-origin splits for forecast backtests (Tashman 2000).

An *origin* is the instant a forecast is made. For each origin the model is fitted on the
training window ``[origin - lookback, origin)`` and scored on ``[origin, origin + horizon)``.
The origins move back from the end of the data by ``step`` (default: the horizon), so the
scoring windows of consecutive origins abut and never overlap a training window of the same
fold. Horizons and steps are written ``<n><unit>``: ``d`` days, ``w`` weeks, ``M`` calendar
months (months are calendar months, so that month-precision data such as the London Datastore
counts score whole months).

References
----------
Tashman, L. J. (2000). Out-of-sample tests of forecasting accuracy: an analysis and review.
International Journal of Forecasting 16, 437-450.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import UTC, datetime

from patrolcast.errors import InputError
from patrolcast.events import from_days, to_days

__all__ = ["Period", "Fold", "RollingOrigin", "parse_period", "data_end"]

_PERIOD = re.compile(r"^\s*(\d+)\s*([hdwM])\s*$")


@dataclass(frozen=True)
class Period:
    """A length of time: ``n`` days, weeks or calendar months."""

    n: int
    unit: str  # "h", "d", "w" or "M"

    def __str__(self) -> str:
        return f"{self.n}{self.unit}"

    def add(self, t: float, times: int = 1) -> float:
        """``t`` (days since epoch) moved by ``times`` periods (negative moves back)."""
        if self.unit == "h":
            return t + self.n * times / 24.0
        if self.unit == "d":
            return t + self.n * times
        if self.unit == "w":
            return t + 7 * self.n * times
        when = from_days(t)
        month = when.year * 12 + (when.month - 1) + self.n * times
        moved = when.replace(year=month // 12, month=month % 12 + 1, day=1)
        if when.day != 1 or (when.hour, when.minute, when.second) != (0, 0, 0):
            raise ValueError(f"month periods need month-start instants, got {when.isoformat()}")
        return to_days(moved)

    @property
    def approx_days(self) -> float:
        return {"h": 1.0 / 24.0, "d": 1.0, "w": 7.0, "M": 30.44}[self.unit] * self.n

    def add_local(
        self, t: float, times: int, timezone: str | None, *, keep_day: bool = False
    ) -> float:
        """Like :meth:`add`, but days, weeks and months are calendar steps in ``timezone``:
        local midnight stays local midnight across a clock change (hours stay elapsed hours).

        Months step to the first of the month (calendar months, as backtest origins use) unless
        ``keep_day``: then to the same day of the month (its last day if shorter), so a month
        window starting on the 30th of June ends on the 30th of July, not the 1st."""
        if timezone is None or timezone == "UTC" or self.unit == "h":
            return self.add(t, times)
        from datetime import timedelta
        from zoneinfo import ZoneInfo

        zone = ZoneInfo(timezone)
        local = from_days(t).astimezone(zone)
        if self.unit == "M":
            import calendar

            month = local.year * 12 + (local.month - 1) + self.n * times
            year, month_no = month // 12, month % 12 + 1
            day = min(local.day, calendar.monthrange(year, month_no)[1]) if keep_day else 1
            moved = local.replace(year=year, month=month_no, day=day, tzinfo=None)
        else:
            days = self.n * times * (7 if self.unit == "w" else 1)
            moved = local.replace(tzinfo=None) + timedelta(days=days)
        return to_days(moved.replace(tzinfo=zone))


def parse_period(text: str, *, what: str = "period") -> Period:
    """``"8h"`` -> 8 hours, ``"7d"`` -> 7 days, ``"1w"`` -> 1 week, ``"1M"`` -> 1 month."""
    m = _PERIOD.match(str(text))
    if not m or int(m.group(1)) <= 0:
        raise InputError(f"{what} {text!r} is not like 8h, 1d, 7d, 2w or 1M")
    return Period(int(m.group(1)), m.group(2))


def data_end(t_max: float, time_precision: str) -> float:
    """The end (exclusive) of the data, on a UTC day (or month) boundary.

    Month data: the end of the month of ``t_max``. Day data: the end of its day. Timestamped
    data: the end of the last UTC day the data covers to within an hour (a US city's data
    ending at local midnight stops a few hours into a UTC day; that partial day is left out,
    so that the last scoring window is complete).
    """
    if time_precision == "month":
        when = from_days(t_max)
        month = when.year * 12 + when.month  # the month after
        return to_days(datetime(month // 12, month % 12 + 1, 1, tzinfo=UTC))
    if time_precision == "day":
        return float(math.floor(t_max + 1e-9)) + 1.0
    return float(math.floor(t_max + 1.0 / 24.0))


def local_midnight_floor(t: float, timezone: str | None) -> float:
    """The last local midnight in ``timezone`` at or before ``t`` (UTC midnight without one)."""
    if timezone is None or timezone == "UTC":
        return float(math.floor(t + 1e-9))
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    local = from_days(t + 1e-9).astimezone(zone)
    midnight = datetime(local.year, local.month, local.day, tzinfo=zone)
    return to_days(midnight)


def local_data_end(t_max: float, time_precision: str, timezone: str | None) -> float:
    """The end of the data on a local midnight (month data: the UTC month end, as stored).

    Timestamped data ending at local midnight have their last event minutes before it; the
    end is the first local midnight after the last event unless that is more than an hour
    away, in which case the partial last day is left out."""
    if time_precision == "month" or timezone is None or timezone == "UTC":
        return data_end(t_max, time_precision)
    return local_midnight_floor(t_max + 1.0 / 24.0, timezone)


@dataclass(frozen=True)
class Fold:
    """One origin: fit on ``[train_start, origin)``, score on ``[origin, score_end)``."""

    index: int
    origin: float
    train_start: float  # -inf when the lookback is unlimited
    score_end: float

    @property
    def train_end(self) -> float:
        return self.origin


@dataclass(frozen=True)
class RollingOrigin:
    """Rolling-origin splitter.

    Parameters
    ----------
    horizon : length of each scoring window.
    n_origins : how many origins.
    step : distance between consecutive origins (default: ``horizon``).
    lookback : length of each training window (``None``: everything before the origin).
    last_end : the end of the last scoring window; by default the end of the data.
    """

    horizon: Period
    n_origins: int
    step: Period | None = None
    lookback: Period | None = None
    last_end: float | None = None
    timezone: str | None = None  # origins at local midnight in this zone (None: UTC)

    def folds(self, t_min: float, end: float) -> list[Fold]:
        """Folds for data covering ``[t_min, end)``, oldest origin first.

        Raises :class:`InputError` when the data cannot hold ``n_origins`` scoring windows
        after at least one horizon of history. A lookback longer than the history before an
        origin is cut at ``t_min`` (see :meth:`short_folds`).
        """
        if self.n_origins < 1:
            raise InputError("need at least one origin")
        step = self.step or self.horizon
        if (self.horizon.unit == "M") != (step.unit == "M") or (
            self.lookback is not None and self.lookback.unit == "M" and self.horizon.unit != "M"
        ):
            raise InputError(
                "calendar-month steps and lookbacks go with a month horizon (origins on month "
                f"starts): horizon {self.horizon}, step {step}, lookback {self.lookback}; give "
                "the others in days or weeks"
            )
        if self.last_end is not None and self.last_end > end + 1e-9:
            raise InputError(
                f"the backtest end {from_days(self.last_end).date()} is after the end of the "
                f"data ({from_days(end).date()})"
            )
        stop = self.last_end if self.last_end is not None else end
        tz = self.timezone
        if self.horizon.unit == "M":
            stop = _month_floor(stop) if tz in (None, "UTC") else _local_month_floor(stop, tz)
        elif tz not in (None, "UTC") and self.horizon.unit != "h":
            stop = local_midnight_floor(stop, tz)
        last_origin = self.horizon.add_local(stop, -1, tz)
        origins = [step.add_local(last_origin, -k, tz) for k in range(self.n_origins)][::-1]
        first = origins[0]
        # At least one horizon of history before the first origin. A lookback reaching
        # before the data start is cut there (early folds then train on less).
        need = self.horizon.add_local(first, -1, tz)
        if need < t_min - 1e-9:
            raise InputError(
                f"not enough history for {self.n_origins} origins every {step} with a "
                f"{self.horizon} horizon: data start {from_days(t_min).date()}, the first "
                f"origin would be {from_days(first).date()} with less than one horizon before it"
            )
        return [
            Fold(
                index=i,
                origin=o,
                train_start=self.lookback.add_local(o, -1, tz) if self.lookback else -math.inf,
                score_end=self.horizon.add_local(o, 1, tz),
            )
            for i, o in enumerate(origins)
        ]


def short_folds(folds: list[Fold], t_min: float) -> int:
    """How many folds have a training window cut short by the start of the data."""
    return sum(1 for f in folds if f.train_start < t_min - 1e-9 and math.isfinite(f.train_start))


def _local_month_floor(t: float, timezone: str) -> float:
    from zoneinfo import ZoneInfo

    zone = ZoneInfo(timezone)
    local = from_days(t + 1e-9).astimezone(zone)
    return to_days(datetime(local.year, local.month, 1, tzinfo=zone))


def _month_floor(t: float) -> float:
    when = from_days(t)
    return to_days(datetime(when.year, when.month, 1, tzinfo=UTC))
