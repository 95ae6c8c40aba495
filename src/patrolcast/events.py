"""Events as the forecasting layer sees them: places, times, offence groups and harm.

An :class:`EventSet` is a frozen bundle of aligned numpy arrays. It is the one value that
flows from the analytical store (``patrolcast.io.store``) into every forecaster, backtest and
near-repeat analysis. Times are float days since 1970-01-01T00:00Z (UTC); coordinates are
metres in one projected CRS (``crs``), never degrees.

Aggregated sources (London Datastore counts per LSOA per month) become an EventSet too: one
record per area and month, placed at the area's representative point, with ``count`` holding
the number of offences and ``harm`` their total harm.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
import numpy.typing as npt

FloatArray = npt.NDArray[np.float64]

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
SECONDS_PER_DAY = 86_400.0


def to_days(when: datetime) -> float:
    """Convert an aware datetime to float days since the Unix epoch (UTC).

    Naive datetimes are refused: a time without a zone is ambiguous, and the product stores UTC.
    """
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"naive datetime {when!r}: give a timezone (times are stored in UTC)")
    return (when - EPOCH).total_seconds() / SECONDS_PER_DAY


def from_days(days: float) -> datetime:
    """Inverse of :func:`to_days`: an aware UTC datetime."""
    return datetime.fromtimestamp(days * SECONDS_PER_DAY, tz=UTC)


@dataclass(frozen=True)
class EventSet:
    """Aligned arrays describing events (or aggregated counts) in one metric CRS.

    Attributes
    ----------
    t : days since epoch (UTC) of each record; for month-precision data, the month's start.
    x, y : metres in ``crs``.
    count : how many events the record stands for (1 for point data).
    harm : total harm of the record (``count`` times the offence's harm weight).
    crs : the projected CRS, e.g. ``"EPSG:27700"``.
    time_precision : ``"month"``, ``"day"`` or ``"minute"``: the coarsest precision present.
    mark : optional small integer mark per record (e.g. 1 for a fatal shooting), -1 if none.
    """

    t: FloatArray
    x: FloatArray
    y: FloatArray
    count: FloatArray
    harm: FloatArray
    crs: str
    time_precision: str = "minute"
    mark: npt.NDArray[np.int64] = field(default_factory=lambda: np.zeros(0, dtype=np.int64))

    def __post_init__(self) -> None:
        n = len(self.t)
        for name in ("x", "y", "count", "harm"):
            if len(getattr(self, name)) != n:
                raise ValueError(f"EventSet.{name} has {len(getattr(self, name))} rows, t has {n}")
        if len(self.mark) not in (0, n):
            raise ValueError("EventSet.mark must be empty or aligned with t")
        if self.time_precision not in ("month", "day", "minute"):
            raise ValueError(f"unknown time_precision {self.time_precision!r}")

    @classmethod
    def from_arrays(
        cls,
        t: npt.ArrayLike,
        x: npt.ArrayLike,
        y: npt.ArrayLike,
        *,
        crs: str,
        count: npt.ArrayLike | None = None,
        harm: npt.ArrayLike | None = None,
        time_precision: str = "minute",
        mark: npt.ArrayLike | None = None,
    ) -> EventSet:
        t_ = np.asarray(t, dtype=np.float64)
        c_ = np.ones_like(t_) if count is None else np.asarray(count, dtype=np.float64)
        h_ = c_.copy() if harm is None else np.asarray(harm, dtype=np.float64)
        m_ = np.zeros(0, np.int64) if mark is None else np.asarray(mark, dtype=np.int64)
        order = np.argsort(t_, kind="stable")
        return cls(
            t=t_[order],
            x=np.asarray(x, dtype=np.float64)[order],
            y=np.asarray(y, dtype=np.float64)[order],
            count=c_[order],
            harm=h_[order],
            crs=crs,
            time_precision=time_precision,
            mark=m_[order] if len(m_) else m_,
        )

    def __len__(self) -> int:
        return len(self.t)

    def select(self, mask: npt.NDArray[np.bool_]) -> EventSet:
        """The records where ``mask`` is true."""
        return EventSet(
            t=self.t[mask],
            x=self.x[mask],
            y=self.y[mask],
            count=self.count[mask],
            harm=self.harm[mask],
            crs=self.crs,
            time_precision=self.time_precision,
            mark=self.mark[mask] if len(self.mark) else self.mark,
        )

    def before(self, cutoff: float) -> EventSet:
        """Records strictly before ``cutoff`` (days since epoch)."""
        return self.select(self.t < cutoff)

    def between(self, start: float, end: float) -> EventSet:
        """Records in the half-open window ``[start, end)``."""
        return self.select((self.t >= start) & (self.t < end))

    @property
    def total_count(self) -> float:
        return float(self.count.sum())
