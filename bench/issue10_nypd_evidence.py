"""What can a near-repeat alert gain on NYPD at all? Hindsight Knox tables and discs (issue 10).

Nothing here is a forecast: every figure is measured *in hindsight* on the period it is about,
to bound what any near-repeat alert zone of a simple shape could reach there. NYPD (2018, the
validation period; 2019 and 2020-03..08, scored) is set against Philadelphia (2020-H1,
validation; 2021-H1, scored), where the model's zone met issue 10's target.

Per period, with the product's own functions and the alert backtest's conventions
(``patrolcast.evaluate.alert_backtest``): the dataset's events inside its study area
(``load_study``: the city limits, NYPD the five boroughs; all offence groups), one record per
incident (``collapse_incidents``: co-victims within 60 minutes and 30 m), periods in the
dataset's local time (``parse_dataset_time``), the 250 m grid clipped to the study area.

1. **Knox tables** (``knox_test``, 999 shuffles, seed 0, the backtest's bands 0/100/200/400 m x
   0/7/14/28 days) on the period's own incidents (pairs inside the period) and on the two years
   before the period (730 days, what the period's first fit saw); and the cumulative ratios
   "within r metres and d days" (r 100/200/400, d 7/14/28), each from ``knox_test`` run with the
   single bands [0, r) x [0, d) (same seed, so the same shuffles), with its Monte Carlo p-value.
2. **Hindsight discs**: for every incident the backtest scores (in the period, inside the grid,
   with its 28-day follow-up inside the data), the incidents following it (``0 < dt <= d``
   days, as the backtest counts an alert's window) within ``r`` metres, for r 100/200/300/400
   and d 3/7/14/28. Two areas: the exact disc (``pi r^2``, clipped to the study area, times d
   days), and the backtest's way, the 250 m cells meeting the disc (a cell whose nearest point
   is within r; full cells, as the backtest counts its 400 m / 14-day rule) times d. The
   backtest's own rule ("400 m / 14 d": cells meeting a 400 m disc, 14 days) is recomputed here
   and checked against the published figures. Each disc's density is compared with that rule on
   the same incidents: ratio of events per km2-day with a paired bootstrap over incidents
   (1,000 resamples, seeded, 95% percentile). The best disc is chosen in hindsight (highest
   ratio) among the 16, so its ratio is an upper bound for a pure near-repeat zone of that shape
   and its nominal interval is optimistic; the interval of the best-of-16 re-chosen in every
   resample is given beside it.

Run (a few minutes on two shared cores)::

    nice -n 10 .venv/bin/python bench/issue10_nypd_evidence.py \\
        --out /tmp/issue10_nypd_evidence.json

Datasets are read from the default home (``--home`` for another): ``nypd-shootings`` and
``philadelphia``, ingested as in ``docs/readme/10-ingest.md`` (``--nypd`` / ``--philadelphia``
for other names).
"""

from __future__ import annotations

import argparse
import json
import math
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from scipy.spatial import cKDTree

from patrolcast.app.times import parse_dataset_time
from patrolcast.evaluate.alert_backtest import AlertBacktestSpec
from patrolcast.evaluate.jobs import open_store
from patrolcast.evaluate.study import load_study
from patrolcast.events import EventSet, from_days, to_days
from patrolcast.forecast.etas import collapse_incidents
from patrolcast.forecast.near_repeat import knox_test

FloatArray = npt.NDArray[np.float64]

SPACE_BANDS = (0.0, 100.0, 200.0, 400.0)
TIME_BANDS = (0.0, 7.0, 14.0, 28.0)
CUM_R = (100.0, 200.0, 400.0)
CUM_D = (7.0, 14.0, 28.0)
DISC_R = (100.0, 200.0, 300.0, 400.0)
DISC_D = (3, 7, 14, 28)
RULE_R, RULE_D = 400.0, 14  # the backtest's fixed rule
HISTORY_DAYS = 730.0
HORIZON = 28.0  # the backtest's longest follow-up: incidents whose 28 days run past the data
SEED = 0


@dataclass(frozen=True)
class Period:
    key: str
    dataset: str  # "nypd" or "philadelphia" (the dataset name is given on the command line)
    start: str  # local time of the dataset
    end: str
    role: str
    published_rule: tuple[float, int] | None = None  # backtest's 400 m / 14 d: km2-days, caught


PERIODS = (
    Period("nypd-2018", "nypd", "2018-01-01T00:00", "2019-01-01T00:00", "validation"),
    Period("nypd-2019", "nypd", "2019-01-01T00:00", "2020-01-01T00:00", "scored", (10491.25, 150)),
    Period(
        "nypd-2020-03..08", "nypd", "2020-03-01T00:00", "2020-09-01T00:00", "scored",
        (12130.125, 580),
    ),
    Period(
        "philadelphia-2020-H1", "philadelphia", "2020-01-01T00:00", "2020-07-01T00:00", "validation"
    ),
    Period(
        "philadelphia-2021-H1",
        "philadelphia",
        "2021-01-01T00:00",
        "2021-07-01T00:00",
        "scored",
        (12132.75, 753),
    ),
)


# --------------------------------------------------------------------------- pure functions


def knox_summary(ev: EventSet, lo: float, hi: float, permutations: int) -> dict[str, Any]:
    """The backtest's Knox table on the incidents with ``lo <= t < hi``, and the cumulative
    "within r and d" ratios (each a ``knox_test`` with the bands [0, r) x [0, d))."""
    sel = (ev.t >= lo) & (ev.t < hi)
    t, x, y = ev.t[sel], ev.x[sel], ev.y[sel]
    kw = dict(permutations=permutations, seed=SEED, time_precision=ev.time_precision)
    table = knox_test(t, x, y, space_bands=SPACE_BANDS, time_bands=TIME_BANDS, **kw)  # type: ignore[arg-type]
    cum = []
    for r in CUM_R:
        for d in CUM_D:
            k = knox_test(t, x, y, space_bands=(0.0, r), time_bands=(0.0, d), **kw)  # type: ignore[arg-type]
            cum.append({
                "within_m": r, "within_days": d, "observed": int(k.observed[0, 0]),
                "expected": float(k.expected[0, 0]), "ratio": float(k.ratio[0, 0]),
                "p_value": float(k.p_value[0, 0]),
            })  # fmt: skip
    bands = table.to_dict()
    return {
        "from": from_days(lo).isoformat(timespec="minutes"),
        "to": from_days(hi).isoformat(timespec="minutes"),
        "incidents": int(table.n_events),
        "first_band": {"observed": int(table.observed[0, 0]),
                       "expected": float(table.expected[0, 0]),
                       "ratio": float(table.ratio[0, 0]), "p_value": float(table.p_value[0, 0])},
        "significant_bands": [
            f"{table.space_labels[s]}, {table.time_labels[q]}"
            for s in range(len(SPACE_BANDS) - 1) for q in range(len(TIME_BANDS) - 1)
            if table.ratio[s, q] > 1.0 and table.p_value[s, q] < 0.05
        ],
        "table": bands,
        "markdown": table.to_markdown(),
        "cumulative": cum,
    }  # fmt: skip


def backtest_triggers(ev: EventSet, unit: npt.NDArray[np.int64], lo: float, hi: float
                      ) -> npt.NDArray[np.int64]:  # fmt: skip
    """The incidents the alert backtest scores: in ``[lo, hi)``, inside the grid, their 28-day
    follow-up inside the data (``run_alert_backtest``'s selection, every incident serious)."""
    spec = AlertBacktestSpec(start=lo, end=hi)
    horizon = max(spec.days, spec.fixed_days, HORIZON, *spec.time_bands[1:])
    data_end = float(ev.t.max())
    ok = (ev.t >= lo) & (ev.t < hi) & (unit >= 0) & ~(ev.t + horizon > data_end)
    return np.flatnonzero(ok)


def follow_ups(ev: EventSet, triggers: npt.NDArray[np.int64], reach: float
               ) -> list[tuple[FloatArray, FloatArray, npt.NDArray[np.int64]]]:  # fmt: skip
    """Per trigger: distance, days after and index of the incidents following it within
    ``reach`` metres and 28 days (``0 < dt <= 28``)."""
    tree = cKDTree(np.column_stack([ev.x, ev.y]))
    out = []
    for i in triggers:
        t0, x0, y0 = float(ev.t[i]), float(ev.x[i]), float(ev.y[i])
        near = np.asarray(tree.query_ball_point([x0, y0], r=reach), dtype=np.int64)
        near = near[(ev.t[near] > t0) & (ev.t[near] <= t0 + HORIZON)]
        out.append((np.hypot(ev.x[near] - x0, ev.y[near] - y0), ev.t[near] - t0, near))
    return out


def cells_meeting_disc(
    centroids: FloatArray, tree: cKDTree, half: float, x0: float, y0: float, r: float
) -> npt.NDArray[np.int64]:
    """Grid cells whose nearest point lies within ``r`` of ``(x0, y0)`` (the alert's "cells
    meeting the disc", ``serious_assault_alert``)."""
    cand = np.asarray(tree.query_ball_point([x0, y0], r=r + half * math.sqrt(2.0) + 1.0),
                      dtype=np.int64)  # fmt: skip
    gx = np.maximum(np.abs(centroids[cand, 0] - x0) - half, 0.0)
    gy = np.maximum(np.abs(centroids[cand, 1] - y0) - half, 0.0)
    return cand[np.hypot(gx, gy) <= r]


def disc_tallies(
    ev: EventSet,
    unit: npt.NDArray[np.int64],
    triggers: npt.NDArray[np.int64],
    centroids: FloatArray,
    cell_size: float,
    area_geometry: Any,
) -> dict[str, FloatArray]:
    """Per trigger, radius and days: events caught and km2-days, for the exact disc (clipped to
    the study area) and the cells meeting it; shapes (triggers, len(DISC_R), len(DISC_D))."""
    n, nr, nd = triggers.size, len(DISC_R), len(DISC_D)
    # as far as a cell meeting the largest disc reaches (the backtest looks 1 km around)
    fol = follow_ups(ev, triggers, max(DISC_R) + cell_size * math.sqrt(2.0) + 1.0)
    ctree = cKDTree(centroids)
    half = cell_size / 2.0
    cell_km2 = cell_size**2 / 1e6
    o_exact = np.zeros((n, nr, nd))
    a_exact = np.zeros((n, nr, nd))
    o_cell = np.zeros((n, nr, nd))
    a_cell = np.zeros((n, nr, nd))
    o_own = np.zeros((n, nd))
    shapely.prepare(area_geometry)
    days = np.asarray(DISC_D, dtype=np.float64)
    for k, i in enumerate(triggers):
        x0, y0 = float(ev.x[i]), float(ev.y[i])
        dist, dt, idx = fol[k]
        o_own[k] = [np.sum((unit[idx] == unit[i]) & (dt <= d)) for d in DISC_D]
        for a, r in enumerate(DISC_R):
            disc = shapely.Point(x0, y0).buffer(r, quad_segs=64)
            km2 = float(shapely.area(shapely.intersection(area_geometry, disc))) / 1e6
            a_exact[k, a] = km2 * days
            o_exact[k, a] = [(np.sum((dist <= r) & (dt <= d))) for d in DISC_D]
            cells = cells_meeting_disc(centroids, ctree, half, x0, y0, r)
            a_cell[k, a] = cells.size * cell_km2 * days
            inside = np.isin(unit[idx], cells)
            o_cell[k, a] = [(np.sum(inside & (dt <= d))) for d in DISC_D]
    a_own = np.broadcast_to(cell_km2 * days, (n, nd)).copy()
    return {"o_exact": o_exact, "a_exact": a_exact, "o_cell": o_cell, "a_cell": a_cell,
            "o_own": o_own, "a_own": a_own}  # fmt: skip


def paired_ratios(
    o: FloatArray, a: FloatArray, o_ref: FloatArray, a_ref: FloatArray, idx: npt.NDArray[np.int64]
) -> tuple[FloatArray, FloatArray]:
    """Density ratio of every zone (``o``, ``a``: triggers x zones) to the reference zone
    (``o_ref``, ``a_ref``: triggers) on the same triggers, and its bootstrap replicates
    (``idx``: resamples x triggers of trigger indices), shapes (zones,) and (resamples, zones)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ref = o_ref.sum() / a_ref.sum()
        point = (o.sum(axis=0) / a.sum(axis=0)) / ref
        so = o[idx].sum(axis=1)  # (resamples, zones)
        sa = a[idx].sum(axis=1)
        sref = o_ref[idx].sum(axis=1) / a_ref[idx].sum(axis=1)
        boot = (so / sa) / sref[:, None]
    return point, boot


def disc_scores(t: dict[str, FloatArray], n_boot: int, seed: int = SEED) -> dict[str, Any]:
    """Every disc against the backtest's 400 m / 14-day rule (cells), paired over triggers."""
    n = t["o_cell"].shape[0]
    ri, di = DISC_R.index(RULE_R), DISC_D.index(RULE_D)
    o_ref, a_ref = t["o_cell"][:, ri, di], t["a_cell"][:, ri, di]
    idx = np.random.default_rng(seed).integers(0, n, size=(n_boot, n))
    out: dict[str, Any] = {
        "triggers": n,
        "rule_400m_14d_cells": {"km2_days": float(a_ref.sum()), "caught": int(o_ref.sum()),
                                "per_km2_day": float(o_ref.sum() / a_ref.sum())},
        "rule_400m_14d_exact_disc": {
            "km2_days": float(t["a_exact"][:, ri, di].sum()),
            "caught": int(t["o_exact"][:, ri, di].sum()),
            "per_km2_day": float(t["o_exact"][:, ri, di].sum() / t["a_exact"][:, ri, di].sum()),
        },
    }  # fmt: skip
    o, a = t["o_own"], t["a_own"]
    point, boot = paired_ratios(o, a, o_ref, a_ref, idx)
    lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
    out["own_cell"] = [
        {"days": d, "caught": int(o[:, z].sum()), "km2_days": float(a[:, z].sum()),
         "per_km2_day": float(o[:, z].sum() / a[:, z].sum()), "vs_rule": float(point[z]),
         "vs_rule_95": [float(lo[z]), float(hi[z])]}
        for z, d in enumerate(DISC_D)
    ]  # fmt: skip
    for kind in ("exact", "cell"):
        o = t[f"o_{kind}"].reshape(n, -1)
        a = t[f"a_{kind}"].reshape(n, -1)
        point, boot = paired_ratios(o, a, o_ref, a_ref, idx)
        lo, hi = np.nanpercentile(boot, [2.5, 97.5], axis=0)
        rows = []
        for z, (r, d) in enumerate((r, d) for r in DISC_R for d in DISC_D):
            rows.append({
                "r_m": r, "days": d, "caught": int(o[:, z].sum()), "km2_days": float(a[:, z].sum()),
                "per_km2_day": float(o[:, z].sum() / a[:, z].sum()),
                "vs_rule": float(point[z]), "vs_rule_95": [float(lo[z]), float(hi[z])],
            })  # fmt: skip
        best = int(np.nanargmax(point))
        best_of_all = np.nanmax(boot, axis=1)  # the best disc re-chosen in every resample
        out[kind] = {
            "discs": rows,
            "best": rows[best],
            "best_by_lower_95": rows[int(np.nanargmax(lo))],  # the surest gain, if any
            "best_rechosen_95": [float(v) for v in np.nanpercentile(best_of_all, [2.5, 97.5])],
            "discs_above_1": [f"{row['r_m']:g} m / {row['days']} d" for row in rows
                              if row["vs_rule_95"][0] > 1.0],
        }  # fmt: skip
    return out


# --------------------------------------------------------------------------- run


def run_period(p: Period, ds: str, study: Any, ev: EventSet, unit: npt.NDArray[np.int64],
               store: Any, permutations: int, n_boot: int) -> dict[str, Any]:  # fmt: skip
    lo = to_days(parse_dataset_time(p.start, store, ds))
    hi = to_days(parse_dataset_time(p.end, store, ds))
    t0 = time.time()
    own = knox_summary(ev, lo, hi, permutations)
    before = knox_summary(ev, lo - HISTORY_DAYS, lo, permutations)
    t_knox = time.time() - t0
    triggers = backtest_triggers(ev, unit, lo, hi)
    grid = study.support
    tallies = disc_tallies(ev, unit, triggers, grid.centroids, float(grid.cell_size),
                           study.study_area.geometry)  # fmt: skip
    scores = disc_scores(tallies, n_boot)
    check = None
    if p.published_rule is not None:
        km2, caught = p.published_rule
        mine = scores["rule_400m_14d_cells"]
        # exact: cells of 1/16 km2, so a one-cell difference shows
        same = abs(mine["km2_days"] - km2) < 1e-6 and mine["caught"] == caught
        check = {
            "published_km2_days": km2,
            "published_caught": caught,
            "km2_days": mine["km2_days"],
            "caught": mine["caught"],
            "same": bool(same),
        }
    return {
        "period": p.key, "dataset": ds, "role": p.role,
        "from": from_days(lo).isoformat(timespec="minutes"),
        "to": from_days(hi).isoformat(timespec="minutes"),
        "knox_period": own, "knox_two_years_before": before, "discs": scores,
        "reproduces_backtest_rule": check,
        "seconds": {"knox": round(t_knox, 1), "total": round(time.time() - t0, 1)},
    }  # fmt: skip


def _fmt_p(p: float) -> str:
    return f"{p:.3f}"


def print_period(res: dict[str, Any]) -> None:
    print(f"\n=== {res['period']} ({res['role']}; {res['dataset']}; {res['from']} to {res['to']})")
    for name in ("knox_period", "knox_two_years_before"):
        k = res[name]
        fb = k["first_band"]
        print(f"{name}: {k['incidents']} incidents; 0-100 m / 0-7 d {fb['ratio']:.2f} "
              f"(obs {fb['observed']}, exp {fb['expected']:.1f}, p {_fmt_p(fb['p_value'])}); "
              f"significant bands: {', '.join(k['significant_bands']) or 'none'}")  # fmt: skip
        print(k["markdown"])
        print("cumulative (within r, d): " + "; ".join(
            f"{c['within_m']:g} m/{c['within_days']:g} d {c['ratio']:.2f} "
            f"({c['observed']}/{c['expected']:.1f}, p {_fmt_p(c['p_value'])})"
            for c in k["cumulative"]))  # fmt: skip
    d = res["discs"]
    rule = d["rule_400m_14d_cells"]
    print(f"triggers {d['triggers']}; backtest rule 400 m / 14 d (cells): {rule['km2_days']:.2f} "
          f"km2-days, {rule['caught']} caught, {rule['per_km2_day']:.4f}/km2-day; "
          f"check: {res['reproduces_backtest_rule']}")  # fmt: skip
    print("  the incident's own cell: " + "; ".join(
        f"{c['days']} d {c['vs_rule']:.2f} ({c['vs_rule_95'][0]:.2f}-{c['vs_rule_95'][1]:.2f}, "
        f"{c['caught']} caught)" for c in d["own_cell"]))  # fmt: skip
    for kind in ("exact", "cell"):
        print(f"  discs ({kind}):  r \\ d " + " ".join(f"{dd:>18d}" for dd in DISC_D))
        rows = d[kind]["discs"]
        for a, r in enumerate(DISC_R):
            cells = rows[a * len(DISC_D) : (a + 1) * len(DISC_D)]
            print(f"  {r:>17g} m " + " ".join(
                f"{c['vs_rule']:5.2f} ({c['vs_rule_95'][0]:.2f}-{c['vs_rule_95'][1]:.2f})"
                for c in cells))  # fmt: skip
        b = d[kind]["best"]
        print(f"  best ({kind}): {b['r_m']:g} m / {b['days']} d: {b['vs_rule']:.2f} "
              f"({b['vs_rule_95'][0]:.2f}-{b['vs_rule_95'][1]:.2f}), {b['caught']} caught, "
              f"{b['km2_days']:.1f} km2-days; best re-chosen per resample "
              f"{d[kind]['best_rechosen_95'][0]:.2f}-{d[kind]['best_rechosen_95'][1]:.2f}; "
              f"intervals above 1: {', '.join(d[kind]['discs_above_1']) or 'none'}")  # fmt: skip
        s = d[kind]["best_by_lower_95"]
        print(f"  highest lower end ({kind}): {s['r_m']:g} m / {s['days']} d: {s['vs_rule']:.2f} "
              f"({s['vs_rule_95'][0]:.2f}-{s['vs_rule_95'][1]:.2f})")  # fmt: skip


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--home", type=Path, default=None, help="data home (default: the default)")
    ap.add_argument("--nypd", default="nypd-shootings")
    ap.add_argument("--philadelphia", default="philadelphia")
    ap.add_argument("--periods", default="", help="comma-separated period keys (default: all)")
    ap.add_argument("--permutations", type=int, default=999)
    ap.add_argument("--boot", type=int, default=1000)
    ap.add_argument("--out", type=Path, default=Path("/tmp/issue10_nypd_evidence.json"))
    args = ap.parse_args()
    wanted = {k.strip() for k in args.periods.split(",") if k.strip()}
    store = open_store(args.home)
    names = {"nypd": args.nypd, "philadelphia": args.philadelphia}
    loaded: dict[str, tuple[Any, EventSet, npt.NDArray[np.int64]]] = {}
    results = []
    for p in PERIODS:
        if wanted and p.key not in wanted:
            continue
        ds = names[p.dataset]
        if ds not in loaded:
            study = load_study(store, ds, level="grid", cell_size=250.0, groups=None)
            ev, merged = collapse_incidents(study.events)
            unit = np.asarray(study.support.assign(ev.x, ev.y), dtype=np.int64)
            print(f"{ds}: {len(study.events)} records, {len(ev)} incidents ({merged} merged), "
                  f"study area {study.study_area_json()}", flush=True)  # fmt: skip
            loaded[ds] = (study, ev, unit)
        study, ev, unit = loaded[ds]
        res = run_period(p, ds, study, ev, unit, store, args.permutations, args.boot)
        print_period(res)
        results.append(res)
    doc = {
        "what": "issue 10: hindsight Knox tables and hindsight disc zones against the alert "
                "backtest's 400 m / 14-day rule (bench/issue10_nypd_evidence.py)",
        "settings": {"space_bands": SPACE_BANDS, "time_bands": TIME_BANDS, "cum_r": CUM_R,
                     "cum_d": CUM_D, "disc_r": DISC_R, "disc_d": DISC_D,
                     "permutations": args.permutations, "bootstrap": args.boot, "seed": SEED,
                     "history_days": HISTORY_DAYS},
        "periods": results,
    }  # fmt: skip
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
