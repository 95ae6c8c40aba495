"""Disproportionality: hand-computed synthetic cases and the real City of London files."""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from patrolcast.errors import InputError
from patrolcast.io.census import LONDON_2011_ETHNIC_GROUPS, read_census_population
from patrolcast.oversight.disproportion import (
    broad_group,
    disproportion,
    disproportion_by_area,
)
from tests.conftest import require


@pytest.mark.parametrize(
    ("label", "group"),
    [
        ("White - English/Welsh/Scottish/Northern Irish/British", "White"),
        ("White - White Irish (W2)", "White"),
        ("Black or Black British - African (B2)", "Black"),
        ("Black/African/Caribbean/Black British - Caribbean", "Black"),
        ("Mixed - White and Black Caribbean (M1)", "Mixed"),
        ("Asian/Asian British - Bangladeshi", "Asian"),
        ("Chinese or other ethnic group - Chinese (O1)", "Asian"),
        ("Chinese or other ethnic group - Any other ethnic group (O9)", "Other"),
        ("Other ethnic group - Any other ethnic group", "Other"),
        ("Other ethnic group - Not stated", "Not stated"),
        ("Not Stated (NS)", "Not stated"),
        (float("nan"), "Not stated"),
        (None, "Not stated"),
    ],
)
def test_broad_groups(label: object, group: str) -> None:
    assert broad_group(label) == group


def _frame(counts: dict[str, int]) -> pd.DataFrame:
    labels = {
        "White": "White - Any other White background",
        "Black": "Black/African/Caribbean/Black British - African",
        "Asian": "Asian/Asian British - Indian",
        "Mixed": "Mixed/Multiple ethnic groups - White and Asian",
        "Other": "Other ethnic group - Any other ethnic group",
        "Not stated": "Other ethnic group - Not stated",
    }
    rows = [labels[g] for g, n in counts.items() for _ in range(n)]
    return pd.DataFrame({"self_defined_ethnicity": rows})


def test_hand_computed_ratio() -> None:
    # 40 Black and 100 White searches; residents 1,000 Black and 10,000 White:
    # rates 40 and 10 per 1,000, ratio 4; CI exp(+-1.96 sqrt(1/40 + 1/100)).
    searches = _frame({"White": 100, "Black": 40, "Asian": 3, "Not stated": 7})
    pop = {"White": 10_000, "Mixed": 500, "Asian": 2_000, "Black": 1_000, "Other": 500}
    result = disproportion(searches, area="X", residents=14_000, ethnic_population=pop)
    assert result.searches == 150
    assert result.not_stated == 7
    assert result.ratio_vs_white["Black"] == pytest.approx(4.0)
    lo, hi = result.ratio_ci95["Black"] or (0, 0)
    half = 1.96 * math.sqrt(1 / 40 + 1 / 100)
    assert lo == pytest.approx(4 * math.exp(-half))
    assert hi == pytest.approx(4 * math.exp(half))
    assert result.ratio_vs_white["Asian"] is None  # 3 searches: too few for a ratio
    assert result.rate_per_1000_residents == pytest.approx(1000 * 150 / 14_000)
    assert any("not stated" in n for n in result.notes)


def test_missing_column_is_a_clear_error() -> None:
    with pytest.raises(InputError, match="self_defined_ethnicity"):
        disproportion(pd.DataFrame({"x": [1]}))
    with pytest.raises(InputError, match="no column 'borough'"):
        disproportion_by_area(_frame({"White": 1}), area_column="borough")


def test_by_area_uses_labelled_fallback() -> None:
    frame = pd.concat(
        [
            _frame({"White": 10, "Black": 10}).assign(area="A"),
            _frame({"White": 20}).assign(area="B"),
        ]
    )
    out = disproportion_by_area(frame, area_column="area", residents=pd.Series({"A": 1000}))
    a = out.set_index("area")
    ratio = (10 / LONDON_2011_ETHNIC_GROUPS["Black"]) / (10 / LONDON_2011_ETHNIC_GROUPS["White"])
    assert a.loc["A", "ratio_black_vs_white"] == pytest.approx(ratio)
    assert a.loc["A", "rate_per_1000"] == pytest.approx(20.0)
    assert math.isnan(a.loc["B", "rate_per_1000"])
    assert math.isnan(a.loc["B", "ratio_black_vs_white"])


def _read_searches(folder: Path) -> pd.DataFrame:
    files = sorted(folder.glob("*-stop-and-search.csv.gz"))
    if not files:
        pytest.skip(f"no stop-and-search files in {folder}")
    frames = [pd.read_csv(f, usecols=["Self-defined ethnicity"]) for f in files]
    return pd.concat(frames).rename(columns={"Self-defined ethnicity": "self_defined_ethnicity"})


@pytest.mark.realdata
def test_city_of_london_against_a_hand_calculation(shared_data: Path) -> None:
    """The real City of London files (2017-12 to 2020-11) and the census table, by hand."""
    searches = _read_searches(
        require(shared_data / "police_uk" / "city_of_london_stop_and_search")
    )
    census = read_census_population(
        require(shared_data / "census_and_lookups" / "census_2011_population_hh.csv.gz"),
        region="LONDON",
    )
    residents = int(census.loc[census["la_code"] == "E09000001", "residents"].sum())
    assert residents == 7_375  # City of London usual residents, 2011 Census

    result = disproportion(searches, area="City of London", residents=residents)

    # By hand: count labels that start with "Black" and "White", divide by London's
    # 2011 residents of each group, take the ratio.
    labels = searches["self_defined_ethnicity"].fillna("").str.lower()
    black = int(labels.str.startswith("black").sum())
    white = int(labels.str.startswith("white").sum())
    by_hand = (black / 1_088_640) / (white / 4_887_435)
    assert result.searches_by_group["Black"] == black
    assert result.searches_by_group["White"] == white
    assert result.ratio_vs_white["Black"] == pytest.approx(by_hand, rel=1e-12)
    assert result.rate_per_1000_residents == pytest.approx(1000 * len(searches) / 7_375)
    assert result.searches == len(searches)
