"""Graded intelligence items (values) and the intelligence uplift they give a picture.

An item is a place-and-time claim ("serious violence likely around here, between these
times"): a place (a point and radius, a set of grid cells, or a polygon, in the deployment's
metric CRS), a UTC window, a 3x5x2 grading, an owner (a role or desk, never a subject), a
retention date and a short free-text summary that is checked for personal data
(:mod:`patrolcast.oversight.pii`). There are no fields for people.

The *intelligence uplift* of a unit over a window ``[s, e)`` is::

    uplift(unit) = sum over items of  weight(grading) * coverage(unit, place) * decay(s, e)

- ``weight`` is the grading weight (:mod:`patrolcast.oversight.grading`);
- ``coverage`` is the share of the unit's area inside the item's place (0..1);
- ``decay`` is the time-average over ``[s, e)`` of a factor that falls linearly from 1 at the
  item's start to ``end_fraction`` at its end and is 0 outside the window.

So a 1A item covering a unit for the whole query window adds between ``end_fraction`` and 1.
The uplift is dimensionless and is *never* added to the forecast: :class:`IntelligencePicture`
keeps the data-driven expected harm and the uplift in separate columns, each with its own rank,
so a reader always sees what the data say and what intelligence adds.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.oversight.grading import Grading, GradingWeights, load_weights
from patrolcast.oversight.pii import refuse_personal_data

__all__ = ["IntelligenceItem", "IntelligencePicture", "Place", "intelligence_picture", "uplift"]

FloatArray = npt.NDArray[np.float64]

MAX_SUMMARY_CHARS = 500
_CELL_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:-]{0,31}$")


@dataclass(frozen=True)
class Place:
    """Where an item applies: exactly one of a circle, a set of cells or a polygon (WKT)."""

    x: float | None = None
    y: float | None = None
    radius_m: float | None = None
    cells: tuple[str, ...] = ()
    polygon_wkt: str | None = None

    def __post_init__(self) -> None:
        kinds = sum(
            [self.radius_m is not None, bool(self.cells), self.polygon_wkt is not None]
        )
        if kinds != 1:
            raise InputError("an item's place is exactly one of: point and radius, cells, polygon")
        if self.radius_m is not None:
            if self.x is None or self.y is None:
                raise InputError("a circle needs x and y (metres) as well as a radius")
            if not np.isfinite([self.x, self.y, self.radius_m]).all() or self.radius_m <= 0:
                raise InputError("a circle needs finite coordinates and a positive radius")
        for cell in self.cells:
            # Cell ids are codes (E530000N175000, E01000001): no free text can ride in them.
            if not _CELL_ID.match(cell):
                raise InputError(
                    f"cell id {cell[:1]}... is not a cell code (letters, digits, '_.:-', "
                    "no spaces, at most 32 characters)"
                )
            refuse_personal_data(cell, field="cells")
        if self.polygon_wkt is not None:
            self.geometry()  # validates

    @property
    def kind(self) -> str:
        if self.radius_m is not None:
            return "circle"
        return "cells" if self.cells else "polygon"

    def geometry(self) -> Any:
        """The place as a shapely geometry (``None`` for a set of cells)."""
        import shapely

        if self.radius_m is not None:
            return shapely.Point(self.x, self.y).buffer(self.radius_m, quad_segs=32)
        if self.polygon_wkt is not None:
            try:
                geom = shapely.from_wkt(self.polygon_wkt)
            except shapely.errors.GEOSException:
                raise InputError("the item's polygon is not valid WKT") from None
            if geom.geom_type not in ("Polygon", "MultiPolygon") or not geom.is_valid:
                raise InputError("the item's polygon must be a valid (multi)polygon")
            return geom
        return None

    def as_dict(self) -> dict[str, Any]:
        if self.kind == "circle":
            return {"kind": "circle", "x": self.x, "y": self.y, "radius_m": self.radius_m}
        if self.kind == "cells":
            return {"kind": "cells", "cells": list(self.cells)}
        return {"kind": "polygon", "wkt": self.polygon_wkt}


def _utc(when: datetime, name: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise InputError(f"{name} has no timezone: give an offset (times are stored in UTC)")
    return when.astimezone(UTC)


@dataclass(frozen=True)
class IntelligenceItem:
    """A graded place-and-time claim. Validated on construction (clear one-line errors)."""

    item_id: str
    place: Place
    start: datetime
    end: datetime
    grading: Grading
    owner: str
    retain_until: datetime
    summary: str = ""
    weights: GradingWeights = field(default_factory=load_weights, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "start", _utc(self.start, "start"))
        object.__setattr__(self, "end", _utc(self.end, "end"))
        object.__setattr__(self, "retain_until", _utc(self.retain_until, "retain_until"))
        if self.end <= self.start:
            raise InputError("an intelligence item's window must end after it starts")
        if self.retain_until < self.end:
            raise InputError("retain_until must not be before the end of the item's window")
        if not self.owner.strip():
            raise InputError("an intelligence item needs an owner (a desk or role)")
        refuse_personal_data(self.owner, field="owner")
        if len(self.summary) > MAX_SUMMARY_CHARS:
            raise InputError(f"summary is longer than {MAX_SUMMARY_CHARS} characters")
        refuse_personal_data(self.summary, field="summary")
        if self.place.radius_m is not None and self.place.radius_m > self.weights.max_radius_m:
            raise InputError(
                f"radius {self.place.radius_m:g} m exceeds the {self.weights.max_radius_m:g} m "
                "allowed for a place-based claim"
            )

    @property
    def weight(self) -> float:
        return self.weights.weight(self.grading)

    def decay(self, start: float, end: float) -> float:
        """Time-average over ``[start, end)`` (days since epoch) of the item's decay factor."""
        if end <= start:
            raise ValueError("query window must end after it starts")
        a, b = to_days(self.start), to_days(self.end)
        lo, hi = max(a, start), min(b, end)
        if hi <= lo:
            return 0.0
        f = self.weights.end_fraction

        def level(t: float) -> float:
            return 1.0 - (1.0 - f) * (t - a) / (b - a)

        return (level(lo) + level(hi)) / 2.0 * (hi - lo) / (end - start)

    def is_expired(self, now: datetime) -> bool:
        """True once the retention date has passed (the item must then be purged)."""
        return _utc(now, "now") >= self.retain_until


def _coverage(item: IntelligenceItem, support: Any) -> FloatArray:
    """Share of each unit's area inside the item's place."""
    import shapely

    n = support.n_units
    if item.place.kind == "cells":
        wanted = set(item.place.cells)
        return np.array([1.0 if u in wanted else 0.0 for u in support.unit_ids])
    geom = item.place.geometry()
    if hasattr(support, "cell_size") and hasattr(support, "centroids"):
        half = support.cell_size / 2.0
        c = support.centroids
        boxes = shapely.box(c[:, 0] - half, c[:, 1] - half, c[:, 0] + half, c[:, 1] + half)
    elif hasattr(support, "geometries"):
        boxes = np.asarray(support.geometries, dtype=object)
    else:
        raise InputError("the intelligence uplift needs a grid or an area support")
    out = np.zeros(n)
    tree = shapely.STRtree(boxes)
    hit = tree.query(geom, predicate="intersects")
    if hit.size:
        inter = shapely.area(shapely.intersection(boxes[hit], geom))
        out[hit] = inter / np.asarray(support.unit_area, dtype=np.float64)[hit]
    return np.clip(out, 0.0, 1.0)


def uplift(
    items: list[IntelligenceItem], support: Any, start: float, end: float
) -> tuple[FloatArray, list[list[str]]]:
    """Intelligence uplift per unit over ``[start, end)`` and the ids of the contributing items."""
    total = np.zeros(support.n_units)
    contributors: list[list[str]] = [[] for _ in range(support.n_units)]
    for item in items:
        w = item.weight * item.decay(start, end)
        if w <= 0.0:
            continue
        cov = _coverage(item, support)
        total += w * cov
        for i in np.flatnonzero(cov > 0):
            contributors[i].append(item.item_id)
    return total, contributors


@dataclass(frozen=True)
class IntelligencePicture:
    """The data-driven forecast and the intelligence uplift side by side, never merged."""

    unit_ids: list[str]
    start: float
    end: float
    forecast_method: str
    forecast_harm: FloatArray
    uplift: FloatArray
    contributors: list[list[str]]
    weights: dict[str, Any]

    def to_frame(self) -> pd.DataFrame:
        """One row per unit: forecast and its rank, uplift and its rank, contributing items."""
        frame = pd.DataFrame(
            {
                "unit_id": self.unit_ids,
                "forecast_expected_harm": self.forecast_harm,
                "intelligence_uplift": self.uplift,
                "intelligence_items": [",".join(c) for c in self.contributors],
            }
        )
        frame["forecast_rank"] = (
            frame["forecast_expected_harm"].rank(ascending=False, method="min").astype(int)
        )
        up = frame["intelligence_uplift"].rank(ascending=False, method="min").astype(int)
        frame["intelligence_rank"] = up.where(frame["intelligence_uplift"] > 0).astype("Int64")
        return frame[
            [
                "unit_id",
                "forecast_expected_harm",
                "forecast_rank",
                "intelligence_uplift",
                "intelligence_rank",
                "intelligence_items",
            ]
        ]


def intelligence_picture(
    forecast: Any, items: list[IntelligenceItem], support: Any
) -> IntelligencePicture:
    """Pair a :class:`patrolcast.forecast.base.Forecast` with the uplift of ``items``."""
    if list(forecast.unit_ids) != list(support.unit_ids):
        raise InputError("the forecast and the support describe different units")
    values, contributors = uplift(items, support, forecast.start, forecast.end)
    weights = items[0].weights.as_dict() if items else load_weights().as_dict()
    return IntelligencePicture(
        unit_ids=list(forecast.unit_ids),
        start=forecast.start,
        end=forecast.end,
        forecast_method=forecast.method,
        forecast_harm=np.asarray(forecast.expected_harm, dtype=np.float64),
        uplift=values,
        contributors=contributors,
        weights=weights,
    )
