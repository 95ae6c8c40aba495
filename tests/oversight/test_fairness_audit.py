"""The fairness audit on synthetic jurisdictions whose answers are computed by hand."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport
from patrolcast.oversight.fairness_audit import (
    audit_forecast,
    concentration,
    count_points_in_areas,
    read_audit_areas,
    window_weights,
)


def _jurisdiction() -> pd.DataFrame:
    """20 areas, counts 20, 19, ..., 1 (area a00 the most targeted).

    a00: A 80, B 20; a01..a18: A 50, B 50; a19: A 10, B 90. Jurisdiction: A 990, B 1010 of 2000.
    """
    a = [80] + [50] * 18 + [10]
    return pd.DataFrame({
        "area": [f"a{i:02d}" for i in range(20)],
        "pred": list(range(20, 0, -1)),
        "A": a,
        "B": [100 - v for v in a],
        "income": [10 + i for i in range(20)],  # a00 the poorest
    })  # fmt: skip


def test_synthetic_jurisdiction_by_hand() -> None:
    frame = _jurisdiction().sample(frac=1.0, random_state=1)  # row order must not matter
    audit = audit_forecast(frame, count="pred", groups=["A", "B"], area_id="area",
                           income="income", income_groups=4)
    g = audit.groups
    assert audit.window_areas == 1  # 5% of 20
    assert g.loc["A", "jurisdiction_share"] == pytest.approx(990 / 2000)
    # most-targeted window = a00 (80% A); median window = position 9 = a09 (50%); least = a19
    assert g.loc["A", "most_share"] == pytest.approx(0.80)
    assert g.loc["A", "most_ratio"] == pytest.approx(0.80 / 0.495)
    assert g.loc["B", "most_ratio"] == pytest.approx(0.20 / 0.505)
    assert g.loc["A", "median_share"] == pytest.approx(0.50)
    assert g.loc["A", "least_ratio"] == pytest.approx(0.10 / 0.495)
    # median count 10.5: areas a00..a09 above it; A there = 80 + 9*50 = 530 of 990
    assert g.loc["A", "above_median_share"] == pytest.approx(530 / 990)
    assert g.loc["B", "above_median_share"] == pytest.approx(470 / 1010)
    # counts 1..20: Gini = (n - 1) / (3n) = 19/60; top 5% share = 20/210
    assert audit.concentration["gini"] == pytest.approx(19 / 60)
    assert audit.concentration["top_window_share"] == pytest.approx(20 / 210)
    # income quartiles of 5 areas each; a00 (most targeted) is in the lowest
    inc = audit.income
    assert inc is not None
    low = "income Q1 (lowest)"
    assert inc.loc[low, "jurisdiction_share"] == pytest.approx(500 / 2000)
    assert inc.loc[low, "most_share"] == pytest.approx(1.0)
    assert inc.loc[low, "most_ratio"] == pytest.approx(4.0)
    assert inc.loc["income Q4 (highest)", "least_ratio"] == pytest.approx(4.0)
    assert audit.ties == {"most": 0, "median": 0, "least": 0}


def test_ties_share_their_positions() -> None:
    # counts 9, 5, 5, 5, 1 x 16; window of 2 (10% of 20): a00 weight 1, each 5 weight 1/3
    w = window_weights([9, 5, 5, 5] + [1] * 16, 0, 2)
    assert w[:4] == pytest.approx([1, 1 / 3, 1 / 3, 1 / 3])
    assert w[4:].sum() == 0 and w.sum() == pytest.approx(2)
    # least window of 2 among sixteen 1s: each 2/16
    assert window_weights([9, 5, 5, 5] + [1] * 16, 18, 2)[4:] == pytest.approx([1 / 8] * 16)
    frame = pd.DataFrame({
        "pred": [9, 5, 5, 5] + [1] * 16,
        "A": [100, 90, 0, 30] + [50] * 16,
        "B": [0, 10, 100, 70] + [50] * 16,
    })  # fmt: skip
    audit = audit_forecast(frame, count="pred", groups=["A", "B"], window_share=0.10)
    # most window: A = 100 + (90 + 0 + 30)/3 = 140 of 100 + 300/3 = 200 -> 0.7
    assert audit.groups.loc["A", "most_share"] == pytest.approx(0.7)
    assert audit.ties["most"] == 3 and audit.ties["least"] == 16


def test_margins_of_error_conservative_bound() -> None:
    # two areas, one window each (window share 0.5); group MOEs of 3
    frame = pd.DataFrame({"pred": [10, 0], "A": [60, 40], "B": [40, 60],
                          "mA": [3, 3], "mB": [3, 3]})  # fmt: skip
    audit = audit_forecast(frame, count="pred", groups=["A", "B"], moe={"A": "mA", "B": "mB"},
                           window_share=0.5)
    g = audit.groups.loc["A"]
    # most window: p = 0.6, T = 100, MOE_A = 3, MOE_T = sqrt(9 + 9)
    m = math.sqrt(9 - 0.36 * 18) / 100
    assert g["most_share_low"] == pytest.approx(0.6 - m)
    # jurisdiction: p = 0.5, G = 100 (MOE sqrt 18), T = 200 (MOE sqrt 36)
    jm = math.sqrt(18 - 0.25 * 36) / 200
    assert g["jurisdiction_low"] == pytest.approx(0.5 - jm)
    assert g["most_ratio_low"] == pytest.approx((0.6 - m) / (0.5 + jm))
    # the interval lies above 1, so the conservative figure is its lower end (about 1.13)
    assert g["most_ratio_conservative"] == pytest.approx((0.6 - m) / (0.5 + jm))
    assert g["most_ratio_conservative"] > 1.1
    # MOEs of 10: the ratio's interval holds 1, so the conservative figure is 1
    wide = frame.assign(mA=10, mB=10)
    loose = audit_forecast(wide, count="pred", groups=["A", "B"], moe={"A": "mA", "B": "mB"},
                           window_share=0.5)
    assert loose.groups.loc["A", "most_ratio_conservative"] == 1.0


def test_concentration_of_equal_counts_is_zero() -> None:
    c = concentration([3] * 40)
    assert c["gini"] == pytest.approx(0.0) and c["top_window_share"] == pytest.approx(0.05)
    assert concentration([0] * 19 + [5])["gini"] == pytest.approx(1 - 1 / 20)


def test_bad_input_is_refused() -> None:
    frame = _jurisdiction()
    with pytest.raises(InputError, match="lack columns"):
        audit_forecast(frame, count="nope", groups=["A"])
    frame.loc[3, "A"] = -1
    with pytest.raises(InputError):
        audit_forecast(frame, count="pred", groups=["A", "B"])


def test_points_in_areas_and_file_round_trip(tmp_path) -> None:  # type: ignore[no-untyped-def]
    import geopandas as gpd

    boxes = [shapely.box(i * 100, 0, (i + 1) * 100, 100) for i in range(3)]
    areas = AreaSupport(("x", "y", "z"), ("x", "y", "z"), tuple(boxes), "EPSG:27700")
    counts = count_points_in_areas([10, 20, 150, 290, 999], [5, 5, 5, 5, 5], areas)
    assert counts.tolist() == [2.0, 1.0, 1.0]
    path = tmp_path / "areas.geojson"
    gpd.GeoDataFrame({"id": ["x", "y", "z"], "pred": counts, "A": [1, 2, 3]},
                     geometry=boxes, crs="EPSG:27700").to_file(path)
    back = read_audit_areas(path)
    assert list(back["pred"]) == [2.0, 1.0, 1.0]
    with pytest.raises(InputError):
        read_audit_areas(tmp_path / "missing.gpkg")
    assert np.isclose(back["A"].sum(), 6)


def test_audit_runs_on_the_shared_lsoa_tables(shared_data) -> None:  # type: ignore[no-untyped-def]
    from patrolcast.io.deprivation import read_imd, read_imd_population
    from tests.conftest import require

    xlsx = require(shared_data / "census_and_lookups" / "london_lsoa_deprivation.xlsx")
    frame = read_imd_population(xlsx).merge(read_imd(xlsx)[["lsoa_code", "crime_score",
                                                            "income_score"]], on="lsoa_code")
    # a stand-in forecast: the IMD crime domain score, shifted to be non-negative
    frame["pred"] = frame["crime_score"] - frame["crime_score"].min()
    audit = audit_forecast(frame, count="pred", area_id="lsoa_code", total="population_2015",
                           groups=["children_0_15", "aged_16_59", "aged_60_plus"],
                           income="income_score", income_groups=5)
    assert audit.n_areas == 4835 and audit.window_areas == 242
    # the three age groups cover everyone: their shares sum to 1 in every window
    for col in ("jurisdiction_share", "most_share", "median_share", "least_share"):
        assert audit.groups[col].sum() == pytest.approx(1.0, abs=1e-6)
    assert audit.income is not None
    assert audit.income["population"].sum() == pytest.approx(frame["population_2015"].sum())
    assert 0 < audit.concentration["gini"] < 1
