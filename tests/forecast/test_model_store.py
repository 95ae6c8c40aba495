"""Fitted-model store: a fit read back forecasts as the fit did; reuse is bounded in age and
refused when the events it saw have changed; alerts say which fit they used."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.forecast.alert import alert_model
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.model_store import ModelStore, events_digest, fit_key
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 531000, 181000)
START = 18_000.0
DAYS = 240.0
KEY = fit_key("sim", {"source": "test box", "km2": 36.0, "crs": CRS}, {"history_days": 180})


@pytest.fixture(scope="module")
def events() -> EventSet:
    model = ETASModel(mu=5.0, theta=(0.4, 0.7), mark_probs=(0.8, 0.2), omega=0.25, sigma=80.0)
    return simulate_etas(model, AREA, days=DAYS, seed=3, crs=CRS, start=START).events


def test_a_fit_read_back_forecasts_exactly_as_the_fit(tmp_path: Path, events: EventSet) -> None:
    cutoff = START + 200.0
    fit = ETASForecaster(history_days=180.0, marked=True, scales=2).fit(events, cutoff=cutoff)
    store = ModelStore(tmp_path / "models")
    window = events.select((events.t >= cutoff - 180.0) & (events.t < cutoff))
    saved = store.save(KEY, fit, window_events=window, window_start=cutoff - 180.0, info={})
    back = store.load(saved.path).model
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    a = fit.predict(grid, cutoff, cutoff + 7.0)
    b = back.predict(grid, cutoff, cutoff + 7.0)
    for term in ("background", "triggered"):
        np.testing.assert_allclose(b.terms[term], a.terms[term], rtol=1e-12)
    s_fit, s_back = fit.params_summary(), back.params_summary()
    for k in ("theta_by_mark", "omega_per_day", "sigmas_m", "converged", "trustworthy",
              "not_trustworthy_because", "restarts", "n_events", "loglik"):  # fmt: skip
        assert s_back[k] == s_fit[k], k
    # conditioned on later events, the stored fit and the original agree too
    later = cutoff + 20.0
    ca = fit.conditioned_on(events, until=later).predict(grid, later, later + 7.0)
    cb = back.conditioned_on(events, until=later).predict(grid, later, later + 7.0)
    np.testing.assert_allclose(cb.expected_count, ca.expected_count, rtol=1e-12)
    assert not list((tmp_path / "models" / KEY).glob(".*"))  # no temporary file left


def test_a_fit_is_found_at_its_exact_cut_off(tmp_path: Path, events: EventSet) -> None:
    """A backtest's refit schedule asks for the fit of its own cut-off (age 0), a time that the
    file name keeps only to 1e-6 days."""
    cutoff = START + 200.0 + 5.0 / 24.0  # 05:00, not a round number of days
    fit = ETASForecaster(history_days=180.0, restarts=1).fit(events, cutoff=cutoff)
    store = ModelStore(tmp_path)
    window = events.select((events.t >= cutoff - 180.0) & (events.t < cutoff))
    store.save(KEY, fit, window_events=window, window_start=cutoff - 180.0, info={})
    found, why = store.latest(KEY, cutoff, max_age_days=0.0, current=events)
    assert found is not None, why
    assert found.cutoff == cutoff and found.describe(cutoff)["age_days"] == 0.0
    assert store.latest(KEY, cutoff + 0.5, max_age_days=0.0)[0] is None


def test_a_conditioned_model_is_not_saved(tmp_path: Path, events: EventSet) -> None:
    fit = ETASForecaster(history_days=180.0).fit(events, cutoff=START + 200.0)
    with pytest.raises(ValueError, match="conditioned"):
        fit.conditioned_on(events, until=START + 210.0).to_state()


def test_alert_model_reuses_a_young_fit_and_refits_an_old_or_changed_one(
    tmp_path: Path, events: EventSet
) -> None:
    store = ModelStore(tmp_path / "models")
    t0 = START + 200.0
    kw = {"store": store, "key": KEY, "max_age_days": 14.0, "history_days": 180.0}
    first, _, used = alert_model(events, t0, **kw)  # type: ignore[arg-type]
    assert used["reused"] is False and "no stored fit" in used["why"]
    assert Path(used["fit"]).is_file()

    second, choice, used = alert_model(events, t0 + 5.0, **kw)  # type: ignore[arg-type]
    assert used["reused"] is True and used["age_days"] == pytest.approx(5.0)
    n_since = int(np.sum((events.t >= t0) & (events.t < t0 + 5.0)))
    assert 0 < used["events_since_fit"] <= n_since  # co-victim records may be collapsed
    assert second.fit_cutoff_ == first.fit_cutoff_ and second.cutoff_ == t0 + 5.0
    assert "tests" in choice  # the model choice is kept with the fit

    third, _, used = alert_model(events, t0 + 20.0, **kw)  # type: ignore[arg-type]
    assert used["reused"] is False and "days old" in used["why"]
    assert third.fit_cutoff_ == t0 + 20.0

    _, _, used = alert_model(events, t0 + 21.0, refit=True, **kw)  # type: ignore[arg-type]
    assert used["reused"] is False and "--refit" in used["why"]

    # the data before the newest fit change (one event moved): that fit is not reused
    x = events.x.copy()
    moved = int(np.flatnonzero((events.t > t0) & (events.t < t0 + 21.0))[0])
    x[moved] += 50.0
    changed = EventSet.from_arrays(events.t, x, events.y, crs=CRS, mark=events.mark)
    _, _, used = alert_model(changed, t0 + 22.0, **kw)  # type: ignore[arg-type]
    assert used["reused"] is False and "changed" in used["why"]
    assert events_digest(changed) != events_digest(events)


def test_bad_keys_and_ages_are_refused(tmp_path: Path, events: EventSet) -> None:
    store = ModelStore(tmp_path)
    with pytest.raises(InputError, match="bad model key"):
        store.fits("../elsewhere")
    with pytest.raises(InputError, match="0 or more days"):
        alert_model(events, START + 200.0, store=store, key=KEY, max_age_days=-1.0)
