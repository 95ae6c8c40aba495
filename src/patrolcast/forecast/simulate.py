"""Draw events from a known ETAS model on a real study area (branching construction).

The model is the one :class:`patrolcast.forecast.etas.ETASForecaster` fits: background events
arrive as a Poisson process in time at ``mu`` a day (homogeneous, or ``mu * g(t)`` with a
seasonal cycle and a step surge, drawn by thinning), placed by a spatial density on
the study area (a share uniform over the polygon, the rest in Gaussian hotspots inside it); each
event then has a Poisson(``theta[mark]``) number of direct offspring, delayed by Exp(``omega``)
days (or, with ``long_share``, a share of them by Exp(``omega_long``): two time scales)
and displaced by an isotropic Gaussian of ``sigma`` metres; offspring have offspring in
turn (the cluster, or branching, representation of Hawkes 1974; simulation as in Zhuang,
Ogata & Vere-Jones 2004). Offspring falling outside the polygon or after the end are not
observed and are dropped with their descendants, as happens with real boundaries.

References
----------
Lewis, P. A. W., & Shedler, G. S. (1979). Simulation of nonhomogeneous Poisson processes by
thinning. *Naval Research Logistics Quarterly* 26(3), 403-413.
Hawkes, A. G., & Oakes, D. (1974). A cluster process representation of a self-exciting process.
*Journal of Applied Probability* 11(3), 493-503.
Zhuang, J., Ogata, Y., & Vere-Jones, D. (2004). Analyzing earthquake clustering features by
using stochastic reconstruction. *Journal of Geophysical Research* 109, B05301.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.events import EventSet

FloatArray = npt.NDArray[np.float64]
IntArray = npt.NDArray[np.int64]

__all__ = ["ETASModel", "SimulatedEvents", "simulate_etas", "london_area"]


@dataclass(frozen=True)
class ETASModel:
    """Known parameters of an ETAS model.

    ``theta`` holds one branching ratio per mark ``0..k-1``; ``mark_probs`` the probability of
    each mark (independent of the parent's).
    """

    mu: float = 10.0  # background events per day
    theta: tuple[float, ...] = (0.5,)
    omega: float = 0.1  # per day
    sigma: float = 100.0  # metres
    mark_probs: tuple[float, ...] = (1.0,)
    hotspots: int = 40
    hotspot_sd: float = 1500.0  # metres
    hotspot_share: float = 0.7
    # background varying in time: mu * g(t), g(t) = 1 + a cos(2 pi (t - peak) / 365.25) with t
    # the absolute day (days since the epoch, so the season follows the calendar), times a
    # step by ``surge_factor`` from day ``surge_day`` on (NYC shootings doubled in mid-2020)
    season_amplitude: float = 0.0
    season_peak_day: float = 196.0  # mid-July (day of the year)
    surge_day: float | None = None
    surge_factor: float = 1.0
    # two time scales: a share ``long_share`` of offspring delayed by Exp(``omega_long``) instead
    omega_long: float = 0.01  # per day
    long_share: float = 0.0

    def __post_init__(self) -> None:
        if len(self.theta) != len(self.mark_probs):
            raise ValueError("theta and mark_probs need one entry per mark")
        if not np.isclose(sum(self.mark_probs), 1.0):
            raise ValueError("mark_probs must sum to 1")
        if self.mu <= 0 or self.omega <= 0 or self.sigma <= 0:
            raise ValueError("mu, omega and sigma must be positive")
        if any(th < 0 for th in self.theta) or self.branching_ratio >= 1:
            raise ValueError("theta must be non-negative with a branching ratio below 1")
        if not 0.0 <= self.season_amplitude < 1.0:
            raise ValueError("season_amplitude must be in [0, 1)")
        if not 0.0 <= self.long_share < 1.0 or not self.omega_long > 0:
            raise ValueError("long_share must be in [0, 1) and omega_long positive")
        if not self.surge_factor > 0:
            raise ValueError("surge_factor must be positive")

    def background_profile(self, t: npt.ArrayLike) -> FloatArray:
        """``g(t)``: the background rate at absolute day ``t`` relative to ``mu``."""
        t = np.asarray(t, dtype=np.float64)
        g = 1.0 + self.season_amplitude * np.cos(2.0 * np.pi * (t - self.season_peak_day)
                                                 / 365.25)  # fmt: skip
        if self.surge_day is not None:
            g = g * np.where(t >= self.surge_day, self.surge_factor, 1.0)
        return np.asarray(g, dtype=np.float64)

    @property
    def varies_in_time(self) -> bool:
        return self.season_amplitude > 0 or (self.surge_day is not None and self.surge_factor != 1)

    @property
    def branching_ratio(self) -> float:
        """Mean number of direct offspring of an event."""
        return float(np.dot(self.theta, self.mark_probs))


@dataclass(frozen=True)
class SimulatedEvents:
    """Simulated events (time-sorted) and the true parent of each (-1: background)."""

    events: EventSet
    parent: IntArray
    model: ETASModel

    @property
    def triggered_share(self) -> float:
        return float(np.mean(self.parent >= 0)) if len(self.parent) else 0.0


def _points_in(area: object, n: int, rng: np.random.Generator, model: ETASModel) -> FloatArray:
    """``n`` background points from the hotspot mixture, restricted to ``area``."""
    import shapely

    xmin, ymin, xmax, ymax = shapely.bounds(area)
    centres = np.empty((0, 2))
    while len(centres) < model.hotspots:  # hotspot centres uniform over the polygon
        c = rng.uniform((xmin, ymin), (xmax, ymax), size=(4 * model.hotspots, 2))
        centres = np.vstack([centres, c[shapely.contains_xy(area, c[:, 0], c[:, 1])]])
    centres = centres[: model.hotspots]
    out = np.empty((0, 2))
    while len(out) < n:
        m = 2 * (n - len(out)) + 16
        hot = rng.uniform(size=m) < model.hotspot_share
        pts = rng.uniform((xmin, ymin), (xmax, ymax), size=(m, 2))
        k = rng.integers(0, len(centres), size=int(hot.sum()))
        pts[hot] = centres[k] + rng.normal(0.0, model.hotspot_sd, size=(int(hot.sum()), 2))
        out = np.vstack([out, pts[shapely.contains_xy(area, pts[:, 0], pts[:, 1])]])
    return out[:n]


def simulate_etas(
    model: ETASModel,
    area: object,
    *,
    days: float,
    seed: int,
    crs: str = "EPSG:27700",
    start: float = 0.0,
) -> SimulatedEvents:
    """Simulate ``days`` days of events from ``model`` on the polygon ``area`` (shapely, metres).

    Times are days since ``start`` (days since the epoch); seeded and reproducible.
    """
    import shapely

    if days <= 0:
        raise InputError("days must be positive")
    rng = np.random.default_rng(seed)
    # a background varying in time is drawn by thinning (Lewis & Shedler 1979): candidates at
    # the largest rate, each kept with probability g(t) / max g
    top = 1.0
    if model.varies_in_time:
        top = (1.0 + model.season_amplitude) * max(model.surge_factor, 1.0)
    n_bg = int(rng.poisson(model.mu * top * days))
    pts = _points_in(area, n_bg, rng, model)
    n_marks = len(model.theta)
    theta = np.asarray(model.theta)
    t_bg = rng.uniform(0.0, days, n_bg)
    m_bg = rng.choice(n_marks, size=n_bg, p=model.mark_probs)
    if model.varies_in_time:
        keep_bg = rng.uniform(size=n_bg) * top < model.background_profile(t_bg + start)
        pts, t_bg, m_bg = pts[keep_bg], t_bg[keep_bg], m_bg[keep_bg]
        n_bg = int(keep_bg.sum())
    t_all = [t_bg]
    x_all, y_all = [pts[:, 0]], [pts[:, 1]]
    m_all = [m_bg]
    parent_all = [np.full(n_bg, -1, dtype=np.int64)]
    offset = 0
    gen_t, gen_x, gen_y, gen_m = t_all[0], x_all[0], y_all[0], m_all[0]
    while gen_t.size:
        kids = rng.poisson(theta[gen_m])
        par = np.repeat(np.arange(gen_t.size), kids)
        k = par.size
        if model.long_share > 0:  # two time scales (one draw more: only then)
            slow = rng.uniform(size=k) < model.long_share
            mean = np.where(slow, 1.0 / model.omega_long, 1.0 / model.omega)
            ct = gen_t[par] + rng.exponential(1.0, k) * mean
        else:
            ct = gen_t[par] + rng.exponential(1.0 / model.omega, k)
        cx = gen_x[par] + rng.normal(0.0, model.sigma, k)
        cy = gen_y[par] + rng.normal(0.0, model.sigma, k)
        cm = rng.choice(n_marks, size=k, p=model.mark_probs)
        keep = (ct < days) & shapely.contains_xy(area, cx, cy)
        parent_all.append(offset + par[keep])
        offset += gen_t.size
        gen_t, gen_x, gen_y, gen_m = ct[keep], cx[keep], cy[keep], cm[keep]
        t_all.append(gen_t)
        x_all.append(gen_x)
        y_all.append(gen_y)
        m_all.append(gen_m)
    t = np.concatenate(t_all)
    parent = np.concatenate(parent_all)
    order = np.argsort(t, kind="stable")
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    parent_sorted = np.where(parent[order] >= 0, rank[np.maximum(parent[order], 0)], -1)
    events = EventSet(
        t=t[order] + start,
        x=np.concatenate(x_all)[order],
        y=np.concatenate(y_all)[order],
        count=np.ones(t.size),
        harm=np.ones(t.size),
        crs=crs,
        time_precision="minute",
        mark=np.concatenate(m_all)[order].astype(np.int64),
    )
    return SimulatedEvents(events=events, parent=parent_sorted.astype(np.int64), model=model)


def london_area(boroughs_gpkg: Path, names: list[str] | None = None) -> object:
    """The union of London boroughs (all, or those ``names``) from the boroughs GeoPackage.

    The GeoPackage is in British National Grid (EPSG:27700), so the polygon is in metres.
    """
    import geopandas as gpd

    if not boroughs_gpkg.exists():
        raise InputError(f"boundary file {boroughs_gpkg} does not exist")
    frame = gpd.read_file(boroughs_gpkg)
    if names:
        unknown = sorted(set(names) - set(frame["name"]))
        if unknown:
            raise InputError(f"unknown borough(s): {', '.join(unknown)}")
        frame = frame[frame["name"].isin(names)]
    if frame.crs is None or frame.crs.to_epsg() != 27700:
        frame = frame.to_crs(27700)
    return frame.geometry.union_all()
