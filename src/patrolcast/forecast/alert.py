"""Serious-assault alert: where, by how much and for how long one new incident raises risk.

Given an ETAS model fitted on the history up to the incident (:mod:`patrolcast.forecast.etas`)
and, optionally, the area's near-repeat (Knox) table (:mod:`patrolcast.forecast.near_repeat`),
the alert lists the cells whose expected count over the coming ``days`` the incident raises by at
least ``min_ratio`` of the background, with, for each cell:

- the daily series of the incident's added expected events, ``theta_m * (e^{-omega k} -
  e^{-omega (k+1)}) * G(cell)`` for day ``k`` (``G`` the share of the Gaussian triggering kernel
  over the cell, exact for square cells via the normal CDF), and its ratio to the cell's
  background per day;
- what else raises the cell: the model terms (background, triggering by earlier events, this
  incident) and the earlier events that contribute most (their time and distance only; the
  product holds places and times, never people);
- the empirical near-repeat row for the cell's distance from the incident: Knox ratios and
  p-values per time band, a model-free cross-check of the ETAS decay.

The alert supports a decision by a named person; it decides nothing (domain notes, section 6).
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.special import ndtr

from patrolcast.errors import InputError
from patrolcast.events import from_days
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.near_repeat import KnoxResult
from patrolcast.geo.support import Support

FloatArray = npt.NDArray[np.float64]

__all__ = ["CellAlert", "Alert", "serious_assault_alert", "mark_of_offence"]

FATAL_WORDS = ("fatal", "homicide", "murder")


def mark_of_offence(offence: str) -> int:
    """Mark of an offence description: 1 for a fatal shooting / homicide, else 0."""
    text = offence.strip().lower()
    if not text:
        raise InputError("give the offence of the new incident, e.g. 'shooting'")
    return 1 if any(w in text for w in FATAL_WORDS) else 0


def gaussian_cell_mass(
    cx: FloatArray, cy: FloatArray, half: FloatArray, px: FloatArray, py: FloatArray, sigma: float
) -> FloatArray:
    """Share of an isotropic Gaussian at each ``(px, py)`` falling in square cells.

    Shapes broadcast: cells ``(c, 1)`` against points ``(1, p)`` give ``(c, p)``.
    """
    mx = ndtr((cx + half - px) / sigma) - ndtr((cx - half - px) / sigma)
    my = ndtr((cy + half - py) / sigma) - ndtr((cy - half - py) / sigma)
    return np.asarray(mx * my, dtype=np.float64)


@dataclass(frozen=True)
class CellAlert:
    """One cell raised by the incident."""

    unit_id: str
    unit_index: int
    x: float
    y: float
    distance_m: float
    background_per_day: float
    added_total: float
    ratio_total: float
    added_by_day: list[float]
    past_triggered_by_day: list[float]
    relative_risk_by_day: list[float]
    terms: dict[str, float]
    top_past_events: list[dict[str, Any]]
    near_repeat: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


@dataclass(frozen=True)
class Alert:
    """The alert for one incident: raised cells, model parameters and the near-repeat table."""

    incident: dict[str, Any]
    days: int
    model: dict[str, Any]
    cells: list[CellAlert]
    crs: str
    cell_size: float
    knox: dict[str, Any] | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "incident": self.incident,
            "days": self.days,
            "model": self.model,
            "crs": self.crs,
            "n_cells": len(self.cells),
            "cells": [c.to_dict() for c in self.cells],
            "near_repeat": self.knox,
            "note": "decision support for a named officer; places and times only",
        }

    def to_geojson(self) -> dict[str, Any]:
        """Cell squares as an RFC 7946 FeatureCollection (WGS84 lon/lat)."""
        from pyproj import Transformer

        to_wgs84 = Transformer.from_crs(self.crs, "EPSG:4326", always_xy=True)
        half = self.cell_size / 2.0
        features = []
        for c in self.cells:
            xs = [c.x - half, c.x + half, c.x + half, c.x - half, c.x - half]
            ys = [c.y - half, c.y - half, c.y + half, c.y + half, c.y - half]
            lon, lat = to_wgs84.transform(xs, ys)
            ring = [[round(a, 7), round(b, 7)] for a, b in zip(lon, lat, strict=True)]
            props = {
                k: v
                for k, v in c.to_dict().items()
                if k not in ("top_past_events", "near_repeat", "terms")
            }
            props.update({f"term_{k}": v for k, v in c.terms.items()})
            features.append(
                {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]},
                 "properties": props}
            )  # fmt: skip
        return {"type": "FeatureCollection", "features": features}

    def write_geojson(self, path: Path) -> Path:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(self.to_geojson()), encoding="utf-8")
        return path


def _cell_geometry(support: Support) -> tuple[FloatArray, FloatArray, FloatArray, float]:
    cent = support.centroids
    size = getattr(support, "cell_size", None)
    side = np.full(support.n_units, float(size)) if size else np.sqrt(support.unit_area)
    return cent[:, 0], cent[:, 1], side / 2.0, float(size or np.median(side))


def serious_assault_alert(
    model: ETASForecaster,
    support: Support,
    *,
    x: float,
    y: float,
    t: float,
    mark: int | None = None,
    days: int = 14,
    knox: KnoxResult | None = None,
    min_ratio: float = 0.02,
    max_cells: int = 50,
    top_events: int = 3,
) -> Alert:
    """Cells whose risk a new incident at ``(x, y)``, time ``t`` (days) raises over ``days`` days.

    ``model`` must be fitted with a cut-off at or before ``t``. Cells are kept when the incident
    adds at least ``min_ratio`` times their background expectation over the period; at most
    ``max_cells``, largest added expectation first.
    """
    model._check_fitted()
    if not (isinstance(days, int) and 1 <= days <= 365):
        raise InputError(f"days must be a whole number from 1 to 365, got {days!r}")
    if t < model.cutoff_ - 1e-9:
        raise InputError("the incident is before the model's fit cut-off: refit on earlier data")
    if support.assign(np.array([x]), np.array([y]))[0] < 0:
        raise InputError(f"the incident at ({x:.0f}, {y:.0f}) lies outside the study area")
    theta = model.theta_for(mark)
    omega, sigma = model.omega_, model.sigma_
    cx, cy, half, cell_size = _cell_geometry(support)
    reach = model.max_distance + half
    near = np.flatnonzero(np.hypot(cx - x, cy - y) <= reach)
    k = np.arange(days, dtype=np.float64)
    hi = np.minimum(k + 1.0, model.max_days)
    share = np.where(hi > k, np.exp(-omega * k) - np.exp(-omega * hi), 0.0)
    mass = gaussian_cell_mass(cx[near], cy[near], half[near], np.array(x), np.array(y), sigma)
    added = theta * mass[:, None] * share[None, :]  # (cells, days)
    background_day = model.predict(support, t, t + 1.0).terms["background"][near]
    bg_total = background_day * days
    ratio_total = added.sum(axis=1) / np.maximum(bg_total, 1e-12)
    keep = np.flatnonzero(ratio_total >= min_ratio)
    keep = keep[np.argsort(-added[keep].sum(axis=1))][:max_cells]

    # earlier events still within reach in space and time
    recent = (model.t_ < t) & (model.t_ > t - model.max_days)
    px, py, pt = model.x_[recent], model.y_[recent], model.t_[recent]
    ptheta = model.theta_[model.mark_index_[recent]]
    ids = support.unit_ids
    cells: list[CellAlert] = []
    for c in keep:
        u = int(near[c])
        close = np.hypot(px - cx[u], py - cy[u]) <= model.max_distance + half[u]
        m = gaussian_cell_mass(
            np.array(cx[u]), np.array(cy[u]), np.array(half[u]), px[close], py[close], sigma
        )
        lag0 = t - pt[close]
        a = lag0[:, None] + k[None, :]
        b = np.minimum(a + 1.0, model.max_days)
        per_day = np.where(b > a, np.exp(-omega * a) - np.exp(-omega * b), 0.0)
        contrib = (ptheta[close] * m)[:, None] * per_day  # (events, days)
        past_by_day = contrib.sum(axis=0)
        order = np.argsort(-contrib.sum(axis=1))[:top_events]
        top = [
            {
                "days_before": round(float(lag0[i]), 2),
                "when": from_days(float(pt[close][i])).isoformat(timespec="minutes"),
                "distance_m": round(float(np.hypot(px[close][i] - cx[u], py[close][i] - cy[u]))),
                "expected_events": float(contrib[i].sum()),
            }
            for i in order
            if contrib[i].sum() > 0
        ]
        dist = float(math.hypot(cx[u] - x, cy[u] - y))
        bg = float(background_day[c])
        rr = (bg + past_by_day + added[c]) / max(bg, 1e-12)
        nr: list[dict[str, Any]] = []
        if knox is not None:
            s, _ = knox.band_of(dist, 0.0)
            for q, label in enumerate(knox.time_labels):
                r = knox.ratio[s, q]
                nr.append(
                    {
                        "space_band": knox.space_labels[s],
                        "time_band": label,
                        "knox_ratio": None if not np.isfinite(r) else round(float(r), 3),
                        "p_value": float(knox.p_value[s, q]),
                    }
                )
        cells.append(
            CellAlert(
                unit_id=ids[u],
                unit_index=u,
                x=float(cx[u]),
                y=float(cy[u]),
                distance_m=round(dist, 1),
                background_per_day=bg,
                added_total=float(added[c].sum()),
                ratio_total=float(ratio_total[c]),
                added_by_day=[float(v) for v in added[c]],
                past_triggered_by_day=[float(v) for v in past_by_day],
                relative_risk_by_day=[round(float(v), 4) for v in rr],
                terms={
                    "background": bg * days,
                    "triggered_by_past_events": float(past_by_day.sum()),
                    "triggered_by_this_incident": float(added[c].sum()),
                },
                top_past_events=top,
                near_repeat=nr,
            )
        )
    incident = {
        "x": x,
        "y": y,
        "time": from_days(t).isoformat(timespec="minutes"),
        "mark": mark,
        "branching_ratio_used": theta,
        "expected_direct_offspring_in_period": float(
            theta * (1 - math.exp(-omega * min(days, model.max_days)))
        ),
    }
    return Alert(
        incident=incident,
        days=days,
        model=model.params_summary(),
        cells=cells,
        crs=model.crs_,
        cell_size=cell_size,
        knox=knox.to_dict() if knox is not None else None,
    )
