"""Area counts as events: one record per area and month, at the area's representative point.

Aggregated sources (London Datastore MPS recorded crime by LSOA / ward / borough) give counts
per area per month, not points. :func:`events_from_area_counts` turns such a long table into an
:class:`~patrolcast.events.EventSet` that every forecaster accepts: each row becomes one record
at the area's representative point (always inside its polygon), at the month's first day
(``time_precision="month"``), with ``count`` and ``harm`` the row's totals. Rows whose area code is
not in the support are left out and reported, never silently dropped.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.events import SECONDS_PER_DAY, EventSet
from patrolcast.geo.support import AreaSupport

REQUIRED = ("area_code", "month", "count")


class AreaEvents(NamedTuple):
    """The events made from area counts, and what did not match the areas."""

    events: EventSet
    unmatched_codes: tuple[str, ...]
    unmatched_rows: int
    unmatched_count: float


def month_start_days(month: pd.Series) -> np.ndarray:
    """Days since the epoch (UTC) of each month's first day.

    Accepts ``"YYYY-MM"``, ``"YYYYMM"`` (text or integer), dates, timestamps and periods.
    """
    if isinstance(month.dtype, pd.PeriodDtype):
        stamps = month.dt.to_timestamp()
    elif pd.api.types.is_datetime64_any_dtype(month.dtype):
        stamps = month
    else:
        text = month.astype(str).str.strip()
        compact = text.str.fullmatch(r"\d{6}")
        text = text.where(~compact, text.str[:4] + "-" + text.str[4:6])
        stamps = pd.to_datetime(text.str[:7], format="%Y-%m", errors="coerce")
        if stamps.isna().any():
            bad = month[stamps.isna()].iloc[0]
            raise InputError(f"cannot read month {bad!r}: use YYYY-MM or YYYYMM")
    stamps = pd.to_datetime(stamps)
    if stamps.dt.tz is not None:
        stamps = stamps.dt.tz_convert("UTC").dt.tz_localize(None)
    firsts = stamps.dt.to_period("M").dt.to_timestamp()
    seconds = (firsts - pd.Timestamp("1970-01-01")).dt.total_seconds().to_numpy()
    return np.asarray(seconds / SECONDS_PER_DAY, dtype=np.float64)


def events_from_area_counts(frame: pd.DataFrame, support: AreaSupport) -> AreaEvents:
    """An EventSet from a long table ``area_code, month, count[, harm]`` over ``support``.

    ``harm`` defaults to ``count`` when absent. Rows with a zero count are kept out (they carry
    no events); negative or missing counts are refused.
    """
    missing = [c for c in REQUIRED if c not in frame.columns]
    if missing:
        raise InputError(
            f"area counts need columns {', '.join(REQUIRED)}; missing {', '.join(missing)}"
        )
    count = pd.to_numeric(frame["count"], errors="coerce").to_numpy(dtype=np.float64)
    harm = (
        pd.to_numeric(frame["harm"], errors="coerce").to_numpy(dtype=np.float64)
        if "harm" in frame.columns
        else count.copy()
    )
    if not np.all(np.isfinite(count)) or (count < 0).any():
        raise InputError(
            "area counts must be non-negative numbers (found a missing or negative count)"
        )
    if not np.all(np.isfinite(harm)) or (harm < 0).any():
        raise InputError("area harm must be non-negative numbers")
    # work on the distinct codes and months (a long table repeats each many times)
    code_of_row, distinct_codes = pd.factorize(frame["area_code"].astype(str).str.strip())
    index = support.index_of(np.asarray(distinct_codes))[code_of_row]
    matched = index >= 0
    unmatched_codes = tuple(sorted(set(np.asarray(distinct_codes)[code_of_row[~matched]].tolist())))
    keep = matched & (count > 0)
    month_of_row, distinct_months = pd.factorize(frame["month"], sort=False)
    if (month_of_row < 0).any():
        raise InputError("area counts have a row with no month")
    t = month_start_days(pd.Series(distinct_months))[month_of_row]
    points = support.centroids[index[keep]]
    events = EventSet.from_arrays(
        t[keep],
        points[:, 0],
        points[:, 1],
        crs=support.crs,
        count=count[keep],
        harm=harm[keep],
        time_precision="month",
    )
    return AreaEvents(
        events=events,
        unmatched_codes=unmatched_codes,
        unmatched_rows=int((~matched).sum()),
        unmatched_count=float(count[~matched].sum()),
    )
