"""Exposure against harm, with hand-computed shares and flags."""

from __future__ import annotations

import math

import pandas as pd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport
from patrolcast.oversight.fairness import (
    Exposure,
    exposure_by_area,
    exposure_vs_harm,
    harm_to_areas,
)


def _areas() -> AreaSupport:
    # three 1 km x 1 km squares side by side
    boxes = tuple(shapely.box(i * 1000, 0, (i + 1) * 1000, 1000) for i in range(3))
    return AreaSupport(("A", "B", "C"), ("a", "b", "c"), boxes, "EPSG:27700", "lsoa")


def test_exposure_is_hours_times_overlap() -> None:
    # a 500 m x 1 km strip straddling A and B for 10 h; a 1 km² patrol of C for 2 h
    deployments = [
        Exposure(shapely.box(750, 0, 1250, 1000), 10.0),
        Exposure(shapely.box(2000, 0, 3000, 1000), 2.0),
    ]
    exposure = exposure_by_area(deployments, _areas())
    assert exposure["A"] == pytest.approx(10 * 0.25)
    assert exposure["B"] == pytest.approx(10 * 0.25)
    assert exposure["C"] == pytest.approx(2.0)


def test_flags_by_factor() -> None:
    exposure = pd.Series({"A": 6.0, "B": 3.0, "C": 1.0})
    harm = pd.Series({"A": 20.0, "B": 40.0, "C": 40.0})
    out = exposure_vs_harm(exposure, harm, factor=2.0)
    # shares: A 0.6 vs 0.2 (ratio 3, flagged); B 0.3 vs 0.4; C 0.1 vs 0.4
    assert out.loc["A", "ratio"] == pytest.approx(3.0)
    assert out.loc["A", "flagged"]
    assert not out.loc["B", "flagged"] and not out.loc["C", "flagged"]
    assert out.index[0] == "A"
    assert not exposure_vs_harm(exposure, harm, factor=3.5).loc["A", "flagged"]


def test_exposure_without_harm_is_flagged() -> None:
    out = exposure_vs_harm(pd.Series({"A": 1.0}), pd.Series({"B": 5.0}))
    assert math.isinf(out.loc["A", "ratio"]) and out.loc["A", "flagged"]
    assert not out.loc["B", "flagged"] and out.loc["B", "ratio"] == 0.0


def test_bad_input() -> None:
    with pytest.raises(InputError):
        exposure_vs_harm(pd.Series({"A": 1.0}), pd.Series({"A": 1.0}), factor=0)
    with pytest.raises(InputError):
        exposure_vs_harm(pd.Series({"A": -1.0}), pd.Series({"A": 1.0}))
    with pytest.raises(InputError):
        exposure_by_area([Exposure(shapely.box(0, 0, 1, 1), -2.0)], _areas())


def test_harm_rolls_up_from_lsoas_to_wards() -> None:
    lsoas = _areas()  # three 1 km squares
    wards = AreaSupport(("W1", "W2"), ("west", "east"),
                        (shapely.box(0, 0, 2000, 1000), shapely.box(2000, 0, 3000, 1000)),
                        "EPSG:27700", "ward")
    harm = pd.Series({"A": 5.0, "B": 7.0, "C": 11.0, "Z": 100.0})  # Z: unknown LSOA, dropped
    out = harm_to_areas(harm, lsoas, wards)
    assert out["W1"] == 12.0 and out["W2"] == 11.0
