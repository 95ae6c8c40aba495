"""Serious-assault alert: raised cells decay as the model says; the CLI gives JSON and GeoJSON."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import shapely
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import InputError
from patrolcast.events import EventSet, from_days
from patrolcast.forecast.alert import gaussian_cell_mass, mark_of_offence, serious_assault_alert
from patrolcast.forecast.etas import ETASForecaster
from patrolcast.forecast.near_repeat import knox_test
from patrolcast.forecast.simulate import ETASModel, simulate_etas
from patrolcast.geo.support import Grid

CRS = "EPSG:27700"
AREA = shapely.box(525000, 175000, 533000, 183000)  # 8 km square in central London
START = 18_000.0  # days since epoch
DAYS = 365.0
runner = CliRunner()


@pytest.fixture(scope="module")
def events() -> EventSet:
    model = ETASModel(
        mu=6.0,
        theta=(0.4, 0.8),
        mark_probs=(0.8, 0.2),
        omega=0.25,
        sigma=80.0,
        hotspots=8,
        hotspot_sd=1000.0,
    )
    return simulate_etas(model, AREA, days=DAYS, seed=5, crs=CRS, start=START).events


@pytest.fixture(scope="module")
def fitted(events: EventSet) -> ETASForecaster:
    return ETASForecaster(history_days=None, marked=True).fit(events, cutoff=START + DAYS)


def test_gaussian_cell_mass_sums_to_one_over_a_big_grid() -> None:
    c = np.arange(-2000, 2000, 100.0) + 50
    cx, cy = np.meshgrid(c, c)
    m = gaussian_cell_mass(
        cx.ravel(), cy.ravel(), np.full(cx.size, 50.0), np.array(13.0), np.array(-40.0), 120.0
    )
    assert m.sum() == pytest.approx(1.0, rel=1e-9)


def test_alert_cells_decay_and_explain(fitted: ETASForecaster, events: EventSet) -> None:
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    x, y, t = 529130.0, 179060.0, START + DAYS + 0.25
    knox = knox_test(events.t, events.x, events.y, permutations=19)
    fatal = serious_assault_alert(fitted, grid, x=x, y=y, t=t, mark=1, days=14, knox=knox)
    minor = serious_assault_alert(fitted, grid, x=x, y=y, t=t, mark=0, days=14, knox=knox)
    assert fatal.cells, "a shooting must raise at least its own cell"
    top = fatal.cells[0]
    assert top.unit_index == int(grid.assign([x], [y])[0]) or top.distance_m < 250
    # daily direct offspring decay at the fitted rate omega; later generations add to them
    ratio = top.direct_by_day[1] / top.direct_by_day[0]
    assert ratio == pytest.approx(math.exp(-fitted.omega_), rel=1e-6)
    assert all(a >= d > 0 for a, d in zip(top.added_by_day, top.direct_by_day, strict=True))
    # totals: theta * cell share * (1 - e^{-14 omega}); a fatal shooting triggers more
    share = gaussian_cell_mass(
        np.array(top.x), np.array(top.y), np.array(125.0), np.array(x), np.array(y), fitted.sigma_
    )
    expected = fitted.theta_for(1) * float(share) * (1 - math.exp(-14 * fitted.omega_))
    assert sum(top.direct_by_day) == pytest.approx(expected, rel=1e-9)
    # all generations over the whole plane: theta omega / kappa (1 - e^{-kappa 14}) in total
    n = fitted.branching_ratio_
    kappa = fitted.omega_ * (1 - n)
    everything = fitted.theta_for(1) * fitted.omega_ / kappa * (1 - math.exp(-14 * kappa))
    total_added = sum(c.added_total for c in fatal.cells)
    assert sum(top.direct_by_day) < top.added_total and total_added < everything
    assert fatal.cells[0].added_total > minor.cells[0].added_total
    assert top.terms["background"] == pytest.approx(top.background_per_day * 14)
    assert top.relative_risk_by_day[0] > top.relative_risk_by_day[-1] >= 1.0
    assert top.near_repeat and top.near_repeat[0]["space_band"].startswith("0-100")
    doc = json.loads(json.dumps(fatal.to_dict()))
    assert doc["n_cells"] == len(fatal.cells)
    gj = fatal.to_geojson()
    lon, lat = gj["features"][0]["geometry"]["coordinates"][0][0]
    assert -0.3 < lon < 0.1 and 51.4 < lat < 51.6


def test_alert_refuses_bad_input(fitted: ETASForecaster) -> None:
    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    with pytest.raises(InputError, match="outside"):
        serious_assault_alert(fitted, grid, x=0.0, y=0.0, t=START + DAYS)
    with pytest.raises(InputError, match="cut-off"):
        serious_assault_alert(fitted, grid, x=529000.0, y=179000.0, t=START)
    with pytest.raises(InputError):
        mark_of_offence("  ")
    assert mark_of_offence("Fatal shooting") == 1 and mark_of_offence("shooting") == 0


class _Store:
    """The store's reading side over simulated events (marks kept, which an ingest drops)."""

    def __init__(self, events: EventSet, root: Path) -> None:
        self._events, self.root = events, root / "store"

    def datasets(self) -> list[dict[str, Any]]:
        return [{"name": "sim", "kind": "incidents"}]

    def meta(self, dataset: str) -> dict[str, Any]:
        return self.datasets()[0]

    def events(self, dataset: str, **_: Any) -> EventSet:
        if dataset != "sim":
            raise InputError(f"no dataset {dataset!r}")
        return self._events


@pytest.fixture
def store(monkeypatch: pytest.MonkeyPatch, events: EventSet, tmp_path: Path) -> _Store:
    s = _Store(events, tmp_path)
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: s)
    monkeypatch.setenv("PATROLCAST_HOME", str(tmp_path))  # commands read this home
    return s


def test_cli_alert_json_and_geojson(tmp_path: Path, store: _Store) -> None:
    when = from_days(START + DAYS - 30).isoformat()
    out = tmp_path / "alert.geojson"
    result = runner.invoke(
        app,
        [
            "alert",
            "--dataset",
            "sim",
            "--study-area",
            "hull",
            "--x",
            "529130",
            "--y",
            "179060",
            "--time",
            when,
            "--offence",
            "fatal shooting",
            "--days",
            "7",
            "--zone",
            "ratio",
            "--history-days",
            "150",
            "--json",
            "--geojson",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["days"] == 7 and doc["cells"] and len(doc["cells"][0]["added_by_day"]) == 7
    assert json.loads(out.read_text())["type"] == "FeatureCollection"
    assert doc["fit_used"]["reused"] is False and Path(doc["fit_used"]["fit"]).is_file()
    # three days later the stored fit is reused, conditioned on the incidents since
    later = from_days(START + DAYS - 27).isoformat()
    again = runner.invoke(app, ["alert", "-d", "sim", "--study-area", "hull", "--x", "529130",
                                "--y", "179060", "--time", later, "--offence", "shooting",
                                "--history-days", "150", "--json"])  # fmt: skip
    assert again.exit_code == 0, again.output
    doc2 = json.loads(again.stdout)
    used = doc2["fit_used"]
    # the default zone is the fitted kernel's core: at most as long as asked, and it says so
    if doc2["rule"]["name"] == "model":
        assert doc2["days"] <= 14 and "kernel's core" in doc2["rule"]["reason"]
    assert used["reused"] is True and used["age_days"] == pytest.approx(3.0, abs=1e-6)
    assert used["events_since_fit"] > 0


def test_cli_near_repeat_json(tmp_path: Path, store: _Store) -> None:
    result = runner.invoke(
        app,
        ["near-repeat", "--dataset", "sim", "--study-area", "hull", "--permutations", "19",
         "--json", "--out", str(tmp_path / "knox")],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["cells"][0]["ratio"] > 1.5  # simulated triggering is a near repeat
    assert (tmp_path / "knox" / "sim_knox.png").stat().st_size > 0
    nrc = (tmp_path / "knox" / "sim_knox_nrc.csv").read_text(encoding="utf-8")
    assert len(nrc.splitlines()) >= 2  # the Calculator's table: a header and the bands


@pytest.mark.parametrize(
    ("args", "message"),
    [
        # the one time rule: no zone = the dataset's own (here Europe/London), so a time in
        # the spring-forward gap never happened
        (["--time", "2019-03-31T01:30"], "does not exist in Europe/London"),
        (["--time", "yesterday"], "--time: cannot read time"),
        (["--x", "1"], "both --x and --y"),
        (["--x", "1", "--y", "2", "--lon", "0", "--lat", "51"], "not both"),
    ],
)
def test_cli_alert_bad_input(store: _Store, args: list[str], message: str) -> None:
    base = {"--time": from_days(START + 100).isoformat(), "--offence": "shooting"}
    argv = ["alert", "--dataset", "sim", "--study-area", "hull"]
    for k, v in base.items():
        if k not in args:
            argv += [k, v]
    result = runner.invoke(app, argv + args)
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def _knox(ratio: list[list[float]], p: list[list[float]]) -> Any:
    from patrolcast.forecast.near_repeat import KnoxResult

    r = np.array(ratio)
    return KnoxResult(
        space_edges=(0.0, 100.0, 200.0, 400.0), time_edges=(0.0, 7.0, 14.0, 28.0),
        observed=np.round(r * 100).astype(np.int64), expected=np.full(r.shape, 100.0),
        p_value=np.array(p), n_events=100, permutations=999, seed=0, time_precision="minute",
    )  # fmt: skip


def test_knox_zone_takes_significant_bands_contiguous_from_the_incident() -> None:
    from patrolcast.forecast.alert import knox_zone

    ratio = [[2.0, 1.5, 1.1, 1.0], [1.3, 1.0, 1.2, 1.0], [1.2, 1.0, 1.0, 1.0], [1.0] * 4]
    p = [[0.001, 0.02, 0.3, 0.5], [0.004, 0.6, 0.01, 0.5], [0.2, 0.5, 0.5, 0.5], [0.5] * 4]
    zone = knox_zone(_knox(ratio, p))
    assert zone is not None and zone.radius_m == 200.0 and zone.days == 14
    tight = knox_zone(_knox(ratio, p), alpha=0.01)
    assert tight is not None and tight.radius_m == 200.0 and tight.days == 7
    tighter = knox_zone(_knox(ratio, p), alpha=0.003)
    assert tighter is not None and tighter.radius_m == 100.0 and tighter.days == 7
    p[0][0] = 0.2  # the nearest band not significant: no zone
    assert knox_zone(_knox(ratio, p)) is None
    below = [[0.8] + row[1:] for row in ratio]  # significant but below 1: no zone either
    p[0][0] = 0.001
    assert knox_zone(_knox(below, p)) is None


def test_untrustworthy_fit_falls_back_to_the_knox_zone(
    fitted: ETASForecaster, events: EventSet
) -> None:
    import copy

    grid = Grid.covering(*shapely.bounds(AREA), cell_size=250.0, crs=CRS)
    x, y, t = 529130.0, 179060.0, START + DAYS + 0.25
    ratio = [[2.0, 1.0, 1.0, 1.0], [1.4, 1.0, 1.0, 1.0], [1.0] * 4, [1.0] * 4]
    p = [[0.001, 0.5, 0.5, 0.5], [0.01, 0.5, 0.5, 0.5], [0.5] * 4, [0.5] * 4]
    knox = _knox(ratio, p)
    trusted = serious_assault_alert(fitted, grid, x=x, y=y, t=t, knox=knox)
    assert trusted.rule["name"] == "model" and all(c.rule == "model" for c in trusted.cells)
    doubtful = copy.copy(fitted)
    doubtful.trust_reasons_ = ["EM did not converge in 200 iterations"]
    doubtful.trustworthy_ = False
    alert = serious_assault_alert(doubtful, grid, x=x, y=y, t=t, knox=knox)
    assert alert.rule["name"] == "knox" and "did not converge" in alert.rule["reason"]
    assert alert.days == 7 and alert.rule["radius_m"] == 200.0
    # exactly the cells meeting the 200 m disc around the incident
    cent = grid.centroids
    gap = np.hypot(
        np.maximum(np.abs(cent[:, 0] - x) - 125, 0), np.maximum(np.abs(cent[:, 1] - y) - 125, 0)
    )
    assert sorted(c.unit_index for c in alert.cells) == sorted(np.flatnonzero(gap <= 200).tolist())
    for c in alert.cells:  # every cell explains itself: shares of its expected events
        assert sum(c.shares.values()) == pytest.approx(1.0)
        background = c.terms["background"] + c.terms["triggered_by_new_background_events"]
        assert c.shares["background"] == pytest.approx(background / c.expected_total)
    props = alert.to_geojson()["features"][0]["properties"]
    assert props["rule"] == "knox" and "did not converge" in props["rule_reason"]
    assert {"share_this_incident", "share_background", "share_past_events"} <= set(props)
    none = serious_assault_alert(doubtful, grid, x=x, y=y, t=t, knox=None)
    assert none.rule["name"] == "none" and not none.cells


@pytest.mark.slow
def test_alert_model_choice_uses_marks_only_when_supported() -> None:
    from patrolcast.forecast.alert import fit_alert_model

    def sim(theta: tuple[float, float], seed: int) -> EventSet:
        m = ETASModel(mu=5.0, theta=theta, mark_probs=(0.7, 0.3), omega=0.25, sigma=80.0,
                      hotspots=8, hotspot_sd=1000.0)  # fmt: skip
        return simulate_etas(m, AREA, days=365, seed=seed, crs=CRS).events

    differ, why = fit_alert_model(sim((0.2, 0.8), 1), 365.0, history_days=365.0)
    assert differ.marked and why["tests"][-1]["kept"] and why["tests"][-1]["p_value"] < 0.05
    assert differ.theta_for(1) > 2 * differ.theta_for(0)
    # equal branching ratios: the test keeps one for all (it errs 5% of the time by design;
    # seeds 3 and 4 give p = 0.34 and 0.81, seed 2 a false positive at p = 0.013)
    same, why2 = fit_alert_model(sim((0.4, 0.4), 3), 365.0, history_days=365.0)
    assert not same.marked and not why2["tests"][-1]["kept"]


def test_cli_alert_backtest_json(tmp_path: Path, store: _Store) -> None:
    result = runner.invoke(
        app,
        [
            "alert", "backtest", "-d", "sim", "--study-area", "hull",
            "--start", from_days(START + 300).isoformat(),
            "--end", from_days(START + 315).isoformat(), "--refit-days", "20",
            "--history-days", "120", "--permutations", "19", "--json",
            "--out", str(tmp_path / "out"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert set(doc["rules"]) >= {"issued", "model", "knox", "fixed"}
    assert doc["incidents"] == doc["rules"]["fixed"]["alerts"] > 0
    assert len(doc["fits"]) == 1 and all("converged" in f for f in doc["fits"])
    assert Path(doc["files"]["png"]).stat().st_size > 1000
    assert json.loads(Path(doc["files"]["json"]).read_text())["incidents"] == doc["incidents"]
    # run again: the scheduled fit is read back from the model store, same scores
    again = runner.invoke(app, ["alert", "backtest", "-d", "sim", "--study-area", "hull",
                                "--start", from_days(START + 300).isoformat(),
                                "--end", from_days(START + 315).isoformat(),
                                "--refit-days", "20", "--history-days", "120",
                                "--permutations", "19", "--json"])  # fmt: skip
    doc2 = json.loads(again.stdout)
    assert doc2["fits"][0]["fit_used"]["reused"] is True
    assert doc2["rules"] == doc["rules"]
    bad = runner.invoke(app, ["alert", "backtest", "-d", "sim", "--study-area", "hull",
                              "--start", "2020-01-01T00:00Z",
                              "--end", "2020-02-01T00:00Z", "--offences", "robbery"])  # fmt: skip
    assert isinstance(bad.exception, InputError)
