"""Knox-test tests written to kill surviving mutants (issue 15, scripts/mutation.sh near-repeat):
significance marks, the Near Repeat Calculator export and the JSON and Markdown tables an analyst
reads, the reference's day rounding and settings, coordinates in double precision, the plot's
labels."""

from __future__ import annotations

import csv
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.forecast.near_repeat import KnoxResult, knox_reference, knox_test, plot_knox


def _result(
    observed: list[list[int]], expected: list[list[float]], p: list[list[float]], **kw: Any
) -> KnoxResult:
    """A hand-made 2 x 2 table: one close band (0-100 m) and one time band (0-7 days)."""
    args: dict[str, Any] = dict(
        space_edges=(0.0, 100.0),
        time_edges=(0.0, 7.0),
        observed=np.array(observed, dtype=np.int64),
        expected=np.array(expected, dtype=np.float64),
        p_value=np.array(p, dtype=np.float64),
        n_events=10,
        permutations=99,
        seed=5,
        time_precision="minute",
    )
    args.update(kw)
    return KnoxResult(**args)


def test_significance_needs_a_ratio_above_one_and_a_small_p() -> None:
    res = _result([[4, 2], [3, 1]], [[4.0, 1.0], [1.0, 0.0]], [[0.001, 0.5], [0.03, 0.001]])
    assert res.significance(0, 0) == ""  # ratio exactly 1: no excess, whatever the p-value
    assert res.significance(0, 1) == ""  # ratio 2 but p = 0.5
    assert res.significance(1, 0) == "*"  # ratio 3, p = 0.03
    assert res.significance(1, 1) == ""  # no expected pairs: no ratio
    assert (
        _result([[2, 2], [2, 2]], [[1.0] * 2] * 2, [[0.05, 0.01], [0.049, 0.009]]).significance(
            0, 0
        )
        == ""
    )  # p = 0.05 is not below 0.05


def test_markdown_marks_cells_by_p_value_and_dashes_cells_without_ratio() -> None:
    res = _result([[2, 2], [2, 2]], [[1.0, 1.0], [1.0, 0.0]], [[0.05, 0.049], [0.009, 0.2]])
    lines = res.to_markdown().splitlines()
    assert lines[0] == "| distance | 0-7 days | >= 7 days |"
    assert lines[1] == "|---|---|---|"
    assert lines[2] == "| 0-100 m | 2.00 | 2.00* |"  # p = 0.05 is not marked, 0.049 is
    assert lines[3] == "| >= 100 m | 2.00** | - |"


def test_json_cells_and_settings_have_their_documented_keys() -> None:
    res = _result([[3, 1], [2, 4]], [[1.0, 1.0], [2.0, 4.0]], [[0.01, 0.3], [0.6, 0.5]])
    doc = res.to_dict()
    assert doc["seed"] == 5 and doc["permutations"] == 99 and doc["test"] == "knox"
    assert doc["space_edges_m"] == [0.0, 100.0] and doc["time_edges_days"] == [0.0, 7.0]
    first = doc["cells"][0]
    assert first == {
        "space_band": "0-100 m",
        "time_band": "0-7 days",
        "observed": 3,
        "expected": 1.0,
        "ratio": 3.0,
        "p_value": 0.01,
        "significance": "*",
    }
    assert [c["time_band"] for c in doc["cells"]] == ["0-7 days", ">= 7 days"] * 2


def _csv(res: KnoxResult) -> list[list[str]]:
    return list(csv.reader(io.StringIO(res.to_nrc_csv())))


def _block(rows: list[list[str]], title: str) -> list[list[str]]:
    at = rows.index([title])
    end = rows.index([], at)
    return rows[at + 1 : end]


def test_nrc_export_writes_every_block_and_the_settings() -> None:
    res = _result([[3, 1], [2, 4]], [[1.25, 1.0], [2.0, 0.0]], [[0.01, 0.3], [0.6, 0.5]])
    rows = _csv(res)
    assert _block(rows, "Mean of Monte Carlo frequencies") == [
        ["Distance", "0 to 7 days", "More than 7 days"],
        ["0 to 100 m", "1.25", "1.00"],
        ["More than 100 m", "2.00", "0.00"],
    ]
    ratios = _block(rows, "Knox ratios")
    assert ratios[2] == ["More than 100 m", "1.00", "-"]  # no expected pairs: a dash
    assert rows[-4:] == [
        ["Significance", "* p < 0.05", "** p < 0.01"],
        ["Events", "10", "Duplicates dropped", "0"],
        ["Iterations", "99", "Seed", "5"],
        ["Distance", "euclidean", "Time precision", "minute"],
    ]


def test_nrc_distance_rows_start_where_the_previous_band_ends() -> None:
    res = _result(
        [[1, 1]] * 4, [[1.0, 1.0]] * 4, [[0.5, 0.5]] * 4, space_edges=(0.0, 0.5, 1.0, 2.0)
    )
    rows = _block(_csv(res), "Observed frequencies")
    assert [r[0] for r in rows[1:]] == [
        "0 to 0.5 m",
        "0.5 to 1 m",
        "1 to 2 m",
        "More than 2 m",
    ]


def test_nrc_time_columns_in_hours() -> None:
    t = np.array([0.0, 3 / 24, 10.0, 10.0 + 30 / 24, 40.0])
    x = np.array([0.0, 0.0, 1000.0, 1090.0, 9000.0])
    res = knox_test(t, x, np.zeros(5), time_bands=(0, 6, 24), time_unit="hours", permutations=9)
    head = _block(_csv(res), "Observed frequencies")[0]
    assert head == ["Distance", "0 to 6 hours", "6 to 24 hours", "More than 24 hours"]


def test_coordinates_are_compared_in_double_precision_whatever_their_dtype() -> None:
    # float32 northings 0.1 and 100.1 are 99.9999985 m apart: the 0-100 m band, although the
    # same subtraction in float32 rounds to exactly 100 m
    y = np.array([0.1, 100.1, 5000.0], dtype=np.float32)
    t = np.array([0.0, 1.0, 200.0])
    res = knox_test(t, np.zeros(3), y, space_bands=(0, 100, 200), permutations=9,
                    deduplicate=False)  # fmt: skip
    assert res.observed[0, 0] == 1 and res.observed[1, 0] == 0


def test_reference_rounds_day_precision_times_like_the_test() -> None:
    # dates stored at various times of day: rounded to whole days, 6.4 days apart (10.3, 16.7)
    # becomes 7 days, the 7-14 day band; 5.9 days apart (40.4, 46.3) becomes 6
    t = np.array([10.3, 16.7, 40.4, 46.3, 100.0, 130.0])
    x = np.array([0.0, 0.0, 3000.0, 3000.0, 6000.0, 9000.0])
    kw: dict[str, Any] = dict(permutations=19, seed=3, time_precision="day")
    ref = knox_reference(t, x, np.zeros(6), **kw)
    fast = knox_test(t, x, np.zeros(6), **kw)
    np.testing.assert_array_equal(ref.observed, fast.observed)
    assert ref.observed[0, 1] == 1 and ref.observed[0, 0] == 1
    with pytest.raises(InputError, match="month"):
        knox_reference(t, x, np.zeros(6), time_precision="month")


@pytest.mark.parametrize(
    "options",
    [
        {"metric": "manhattan"},
        {"time_unit": "hours", "time_bands": (0, 6, 24, 72)},
        {"same_location": True, "block_length": 100.0, "space_bands": (0, 1, 2)},
    ],
)
def test_reference_reports_the_settings_it_ran_with(options: dict[str, Any]) -> None:
    rng = np.random.default_rng(1)
    t, x, y = rng.uniform(0, 60, 40), rng.uniform(0, 800, 40), rng.uniform(0, 800, 40)
    ref = knox_reference(t, x, y, permutations=9, **options)
    fast = knox_test(t, x, y, permutations=9, **options)
    settings = {k: v for k, v in fast.to_dict().items() if k != "cells"}
    assert {k: v for k, v in ref.to_dict().items() if k != "cells"} == settings
    assert ref.space_labels == fast.space_labels and ref.time_labels == fast.time_labels


def test_plot_names_its_axes_and_centres_the_cell_labels(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    close = plt.close
    figures: list[Any] = []
    monkeypatch.setattr(plt, "close", figures.append)  # keep the figure to look at it
    res = _result([[3, 1], [2, 4]], [[1.0, 1.0], [2.0, 4.0]], [[0.001, 0.3], [0.6, 0.5]])
    plot_knox(res, tmp_path / "k.png", title="Shootings")
    fig = figures[0]
    try:
        ax = fig.axes[0]
        title = ax.get_title()
        assert title.startswith("Shootings\n10 events, 99 permutations")
        assert "* p<0.05 ** p<0.01" in title
        assert ax.get_xlabel() == "time between events"
        assert ax.get_ylabel() == "distance between events"
        assert [t.get_text() for t in ax.get_xticklabels()] == res.time_labels
        cells = {t.get_text(): t for t in ax.texts}
        assert set(cells) == {"3.00**", "1.00"}
        title_size = ax.title.get_fontsize()
        for text in ax.texts:
            assert text.get_ha() == "center" and text.get_va() == "center"
            assert text.get_fontsize() <= title_size  # cell labels no larger than the title
        # the colour bar is the image's: ratios from 0 to the largest (at least 2), labelled
        bar = fig.axes[1]
        assert bar.get_ylabel() == "observed / expected"
        assert bar.get_ylim() == pytest.approx((0.0, 3.0))
    finally:
        close(fig)


def test_nrc_distance_rows_in_blocks() -> None:
    res = _result(
        [[1, 1]] * 3, [[1.0, 1.0]] * 3, [[0.5, 0.5]] * 3,
        space_edges=(0.0, 120.0, 240.0), block_length=120.0,
    )  # fmt: skip
    rows = _block(_csv(res), "Observed frequencies")
    assert [r[0] for r in rows[1:]] == ["0 to 1 blocks", "1 to 2 blocks", "More than 2 blocks"]


def test_records_without_a_time_or_a_coordinate_are_left_out() -> None:
    t = np.array([0.0, 1.0, 2.0, np.nan, 4.0, 5.0, 6.0])
    x = np.array([0.0, np.nan, 20.0, 30.0, 40.0, np.inf, 60.0])
    y = np.array([0.0, 10.0, np.nan, 30.0, 40.0, 50.0, 60.0])
    res = knox_test(t, x, y, permutations=9)
    assert res.n_events == 3 and res.observed.sum() == 3


def test_the_number_of_duplicates_dropped_is_reported() -> None:
    t = np.array([1.0, 1.0, 1.0, 2.0, 3.0, 3.0, 9.0, 12.0])
    x = np.array([0.0, 0.0, 0.0, 5.0, 7.0, 7.0, 500.0, 900.0])
    res = knox_test(t, x, np.zeros(8), permutations=9)
    assert res.n_duplicates_dropped == 3 and res.n_events == 5
    assert knox_test(t, x, np.zeros(8), permutations=9, deduplicate=False).n_events == 8


def test_eastings_are_compared_in_double_precision_too() -> None:
    x = np.array([0.1, 100.1, 5000.0], dtype=np.float32)  # 99.9999985 m apart in float64
    t = np.array([0.0, 1.0, 200.0])
    res = knox_test(t, x, np.zeros(3), space_bands=(0, 100, 200), permutations=9,
                    deduplicate=False)  # fmt: skip
    assert res.observed[0, 0] == 1 and res.observed[1, 0] == 0


def test_the_plots_colour_scale_reaches_at_least_two(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # mild ratios (at most 1.5) are not shown as the scale's extreme
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    close = plt.close
    figures: list[Any] = []
    monkeypatch.setattr(plt, "close", figures.append)
    res = _result([[3, 1], [2, 4]], [[2.0, 1.0], [2.0, 4.0]], [[0.2, 0.3], [0.6, 0.5]])
    plot_knox(res, tmp_path / "k.png")
    try:
        assert figures[0].axes[1].get_ylim() == pytest.approx((0.0, 2.0))
    finally:
        close(figures[0])
