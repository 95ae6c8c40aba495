"""The field's protocol beside ours: study mask, fixed tie-break, baselines, recommendation,
interval coverage, origins at local midnight, each method's own history, nested selection."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from patrolcast.evaluate.backtest import BacktestResult, run_backtest
from patrolcast.evaluate.jobs import with_baselines
from patrolcast.evaluate.metrics import flag_top, interval_coverage, tiebreak_key
from patrolcast.evaluate.report import recommendations
from patrolcast.evaluate.selection import select_params
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.events import EventSet, to_days
from patrolcast.forecast.naive import NaiveForecaster
from patrolcast.forecast.registry import make_forecaster
from tests.evaluate.synthetic import grid, hotspot_events


def test_flag_top_takes_k_cells_and_breaks_ties_by_the_key_not_the_order() -> None:
    score = np.array([5.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0])
    key = tiebreak_key(10, seed=3)
    w = flag_top(score, None, 0.2, key)
    assert w.sum() == pytest.approx(2.0)
    assert w[0] == 1.0
    tied = np.flatnonzero(w[1:] > 0)[0] + 1
    assert tied == 1 + int(np.argmin(key[1:]))  # the zero with the smallest key, whatever its id
    assert flag_top(score, None, 0.25, key).sum() == pytest.approx(2.5)  # last cell in part


def test_interval_coverage_of_a_true_poisson_mean_is_about_right() -> None:
    rng = np.random.default_rng(0)
    mu = rng.uniform(0.5, 20.0, 20_000)
    cover = interval_coverage(mu, rng.poisson(mu))
    assert 0.8 <= cover["units_0.8"] <= 0.9
    assert 0.95 <= cover["units_0.95"] <= 0.99
    assert interval_coverage(mu * 3, rng.poisson(mu))["total_0.95"] == 0.0


def test_mask_protocol_scores_only_cells_seen_before_the_origin() -> None:
    events = hotspot_events(days=120)
    g = grid()
    methods = {"naive-365": make_forecaster("naive-365"), "naive": NaiveForecaster()}
    splitter = RollingOrigin(horizon=parse_period("7d"), n_origins=3)
    masked = run_backtest(events, g, methods, splitter, protocol="mask")
    whole = run_backtest(events, g, methods, splitter, protocol="area")
    assert (masked.rows["n_units_scored"] <= g.n_units).all()
    assert masked.meta["protocol"] == "mask" and "study mask" in masked.meta["protocol_note"]
    assert (whole.rows["n_units_scored"] == g.n_units).all()
    # each method's own history, said in the meta: a year, and one horizon
    assert masked.meta["history_used_days"] == {"naive-365": 365.0, "naive": 7.0}
    assert masked.meta["lookback"] == "all"
    for col in ("cover80_units", "cover95_total", "events_in_lookback"):
        assert masked.rows[col].notna().all()


def test_empty_look_back_is_counted_in_the_meta() -> None:
    ev = hotspot_events(days=120)
    gap = EventSet.from_arrays(ev.t[ev.t < 19_080], ev.x[ev.t < 19_080], ev.y[ev.t < 19_080],
                               crs=ev.crs)
    tail = EventSet.from_arrays(np.r_[gap.t, 19_110.0], np.r_[gap.x, 600.0],
                                np.r_[gap.y, 600.0], crs=ev.crs)
    result = run_backtest(tail, grid(), {"naive": NaiveForecaster()},
                          RollingOrigin(horizon=parse_period("7d"), n_origins=2))
    assert result.meta["empty_lookback"]["naive"] >= 1


def test_baselines_are_always_added() -> None:
    assert with_baselines(("kde",)) == ("kde", "naive-365", "naive-all")
    assert with_baselines(("naive-all", "kde")) == ("naive-all", "kde", "naive-365")


def _result(diffs: dict[str, list[float]]) -> BacktestResult:
    rows = []
    for method, values in diffs.items():
        for i, v in enumerate(values):
            rows.append({"origin_days": float(i), "method": method, "fraction": 0.05,
                         "hit_rate": v, "pai": v / 0.05, "pei_star": v})
    return BacktestResult(pd.DataFrame(rows), pd.DataFrame(), {})


def test_recommended_only_when_the_paired_interval_is_above_zero() -> None:
    base = [0.20, 0.25, 0.22, 0.30, 0.18, 0.26, 0.21, 0.24]
    result = _result({
        "naive-365": base,
        "naive-all": [b - 0.02 for b in base],
        "better": [b + 0.03 for b in base],
        "noisy": [b + (0.05 if i % 2 else -0.045) for i, b in enumerate(base)],
    })
    rec = recommendations(result, n_boot=500)
    assert rec["best_baseline"] == "naive-365"
    assert rec["methods"]["better"]["recommended"] is True
    assert rec["methods"]["noisy"]["recommended"] is False
    assert "naive-all" not in rec["methods"]


def test_origins_sit_at_local_midnight_across_a_clock_change() -> None:
    chicago = ZoneInfo("America/Chicago")
    end = to_days(datetime(2017, 11, 15, tzinfo=chicago))
    splitter = RollingOrigin(horizon=parse_period("7d"), n_origins=4, timezone="America/Chicago")
    folds = splitter.folds(end - 400, end)
    for f in folds:
        local = datetime.fromtimestamp(f.origin * 86400, tz=chicago)
        assert (local.hour, local.minute) == (0, 0)
    # the week holding the end of daylight saving time (5 November 2017) lasts 7 days + 1 h
    lengths = sorted(round((f.score_end - f.origin) * 24) for f in folds)
    assert lengths == [168, 168, 168, 169]


def test_shift_horizons_in_hours() -> None:
    h = parse_period("8h")
    assert h.approx_days == pytest.approx(1 / 3)
    folds = RollingOrigin(horizon=h, n_origins=3).folds(0.0, 10.0)
    assert [round(f.origin * 24) for f in folds] == [216, 224, 232]


def test_naive_all_counts_every_record_before_the_cutoff() -> None:
    ev = hotspot_events(days=100)
    g = grid()
    cutoff = float(ev.t.min()) + 80.0
    fc = NaiveForecaster(lookback_days="all").fit(ev, cutoff=cutoff).predict(g, cutoff,
                                                                             cutoff + 8.0)
    n_before = float((ev.t < cutoff).sum())
    assert fc.expected_count.sum() == pytest.approx(n_before * 8.0 / 80.0, rel=1e-6)
    with pytest.raises(ValueError, match="lookback_days"):
        NaiveForecaster(lookback_days="some").fit(ev, cutoff=cutoff)


def test_selection_never_sees_the_evaluation_period() -> None:
    ev = hotspot_events(days=200)
    g = grid()
    before = float(ev.t.min()) + 150.0
    sel = select_params(ev, g, "kde", horizon=parse_period("7d"), before=before, n_origins=3)
    assert len(sel.curve) == 12 and sel.chosen in [
        {k: c[k] for k in sel.chosen} for c in sel.curve
    ]
    # scramble everything from `before` on: the choice and the curve do not move
    late = ev.t >= before
    rng = np.random.default_rng(1)
    x = np.where(late, rng.uniform(0, 2000, ev.t.size), ev.x)
    y = np.where(late, rng.uniform(0, 2000, ev.t.size), ev.y)
    scrambled = EventSet.from_arrays(ev.t, x, y, crs=ev.crs)
    again = select_params(scrambled, g, "kde", horizon=parse_period("7d"), before=before,
                          n_origins=3)
    assert again.chosen == sel.chosen and again.curve == sel.curve
    assert sel.validation_origins[1] < datetime.fromtimestamp(before * 86400).date().isoformat()
