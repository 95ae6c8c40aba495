"""Values and counting helpers shared by the outcome, displacement and simulation modules.

A deployment is evaluated as a value: its treated area (a shapely polygon in a metric CRS), its
window ``[start, end)`` in days since the epoch (UTC), and the events (an
:class:`~patrolcast.events.EventSet`) around it. Nothing here reads a database or a file, so the
API can call the same functions with whatever it loads.

Periods (all half-open, days since epoch, UTC)::

    pre      [start - pre_days, start)         what the area looked like before
    during   [start, end)                      the authorised window
    post     [end, end + residual_days)        residual deterrence (Sherman 1990; Koper 1995)
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.events import EventSet

__all__ = [
    "DeploymentArea",
    "Periods",
    "Window",
    "count_in_geometry",
    "count_per_unit",
    "expected_in_area",
    "unit_polygons",
]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class Window:
    """A half-open time window ``[start, end)`` in days since the epoch (UTC)."""

    start: float
    end: float

    def __post_init__(self) -> None:
        if not (np.isfinite(self.start) and np.isfinite(self.end)) or self.end <= self.start:
            raise InputError("a window needs a finite start before its end")

    @property
    def days(self) -> float:
        return self.end - self.start


@dataclass(frozen=True)
class Periods:
    """The pre, during and post windows of one deployment."""

    pre: Window
    during: Window
    post: Window

    @classmethod
    def around(
        cls, start: float, end: float, *, pre_days: float = 365.0, residual_days: float = 7.0
    ) -> Periods:
        if pre_days <= 0 or residual_days <= 0:
            raise InputError("pre_days and residual_days must be positive")
        return cls(
            Window(start - pre_days, start), Window(start, end), Window(end, end + residual_days)
        )

    def pre_halves(self) -> tuple[Window, Window]:
        mid = (self.pre.start + self.pre.end) / 2.0
        return Window(self.pre.start, mid), Window(mid, self.pre.end)


@dataclass(frozen=True)
class DeploymentArea:
    """One deployment as evaluation needs it: where (metric polygon), when, and its buffer.

    ``buffer`` defaults to a ring of ``buffer_m`` metres around ``treated`` (the catchment of
    displacement and diffusion, Bowers & Johnson 2003). ``forecast_expected`` is the expected
    count the authorisation relied on for the window (sum over the area's cells), if known.
    """

    deployment_id: str
    treated: Any
    start: float
    end: float
    crs: str
    buffer_m: float = 500.0
    buffer: Any = None
    forecast_expected: float | None = None

    def __post_init__(self) -> None:
        import shapely

        if not isinstance(self.treated, shapely.Geometry) or self.treated.is_empty:
            raise InputError("a deployment's treated area must be a non-empty polygon")
        if self.treated.area <= 0:
            raise InputError("a deployment's treated area has no area")
        if self.end <= self.start:
            raise InputError("a deployment must end after it starts")
        if self.buffer_m <= 0:
            raise InputError("the buffer width must be positive (metres)")
        if self.forecast_expected is not None and not (
            np.isfinite(self.forecast_expected) and self.forecast_expected >= 0
        ):
            raise InputError("the forecast's expected count must be a non-negative number")

    @property
    def buffer_area(self) -> Any:
        if self.buffer is not None:
            return self.buffer.difference(self.treated)
        return self.treated.buffer(self.buffer_m).difference(self.treated)

    @property
    def footprint(self) -> Any:
        """Treated area plus buffer: no control may touch it."""
        return self.treated.union(self.buffer_area)


def count_in_geometry(
    events: EventSet, geometry: Any, window: Window, *, measure: str = "count"
) -> float:
    """Events (``measure="count"``) or harm (``"harm"``) inside ``geometry`` during ``window``."""
    import shapely

    sel = events.between(window.start, window.end)
    if len(sel) == 0:
        return 0.0
    inside = shapely.contains_xy(geometry, sel.x, sel.y)
    return float(_weights(sel, measure)[inside].sum())


def count_per_unit(
    events: EventSet, support: Any, window: Window, *, measure: str = "count"
) -> FloatArray:
    """Events or harm per unit of a support (grid or areas) during ``window``."""
    sel = events.between(window.start, window.end)
    out = np.zeros(support.n_units)
    if len(sel) == 0:
        return out
    unit = np.asarray(support.assign(sel.x, sel.y))
    ok = unit >= 0
    np.add.at(out, unit[ok], _weights(sel, measure)[ok])
    return out


def unit_polygons(support: Any) -> npt.NDArray[np.object_]:
    """The polygon of every unit of a :class:`Grid` or :class:`AreaSupport`."""
    if hasattr(support, "cell_polygons"):
        return np.asarray(support.cell_polygons(), dtype=object)
    if hasattr(support, "geometry_array"):
        return np.asarray(support.geometry_array, dtype=object)
    raise InputError("the control pool must be a grid or a set of areas")


def _weights(events: EventSet, measure: str) -> FloatArray:
    if measure == "count":
        return events.count
    if measure == "harm":
        return events.harm
    raise InputError(f"unknown measure {measure!r}: use 'count' or 'harm'")


def expected_in_area(forecast: Any, support: Any, area: Any, window: Window | None = None) -> float:
    """The expected count a forecast gives an area: the sum over units of ``expected_count``
    times the share of each unit's area inside ``area``, scaled to ``window`` when the
    deployment's window is shorter or longer than the forecast's (a uniform rate within it).

    ``forecast`` is a :class:`~patrolcast.forecast.base.Forecast` on ``support`` (read through
    its public fields only: ``unit_ids``, ``expected_count``, ``start``, ``end``).
    """
    import shapely

    if list(forecast.unit_ids) != list(support.unit_ids):
        raise InputError("the forecast was not made on this support (unit ids differ)")
    polys = unit_polygons(support)
    overlap = shapely.area(shapely.intersection(polys, area)) / np.asarray(support.unit_area)
    total = float((np.asarray(forecast.expected_count, dtype=float) * overlap).sum())
    if window is not None:
        total *= window.days / (forecast.end - forecast.start)
    return total
