"""Rolling-origin splits: boundaries, calendar months, no overlap of training and scoring."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.splitters import RollingOrigin, data_end, parse_period, short_folds
from patrolcast.events import from_days, to_days


def d(y: int, m: int, day: int = 1) -> float:
    return to_days(datetime(y, m, day, tzinfo=UTC))


def test_parse_period() -> None:
    assert (parse_period("7d").n, parse_period("7d").unit) == (7, "d")
    assert parse_period("1M").unit == "M"
    assert parse_period("2w").add(0.0) == 14.0
    for bad in ("", "0d", "7", "1y", "-1d"):
        with pytest.raises(InputError):
            parse_period(bad)


def test_weekly_folds_abut_and_never_overlap_training() -> None:
    split = RollingOrigin(horizon=parse_period("7d"), n_origins=5, lookback=parse_period("28d"))
    end = d(2018, 1, 1)
    folds = split.folds(d(2017, 1, 1), end)
    assert len(folds) == 5
    assert folds[-1].score_end == end
    for a, b in zip(folds, folds[1:], strict=False):
        assert b.origin - a.origin == 7
        assert a.score_end == b.origin  # consecutive scoring windows abut
    for f in folds:
        assert f.train_start < f.train_end == f.origin < f.score_end
        assert f.origin - f.train_start == 28
        assert f.score_end - f.origin == 7


def test_calendar_months() -> None:
    split = RollingOrigin(horizon=parse_period("1M"), n_origins=12, lookback=parse_period("6M"))
    # Month-precision data from 2024-02 to 2025-08 (19 months): ends 2025-09-01.
    end = data_end(d(2025, 8, 1), "month")
    assert from_days(end).date().isoformat() == "2025-09-01"
    folds = split.folds(d(2024, 2, 1), end)
    origins = [from_days(f.origin).date().isoformat() for f in folds]
    assert origins[0] == "2024-09-01" and origins[-1] == "2025-08-01"
    assert from_days(folds[0].train_start).date().isoformat() == "2024-03-01"
    feb = next(f for f in folds if from_days(f.origin).month == 2)
    assert feb.score_end - feb.origin == 28  # February 2025 has 28 days


def test_too_little_history_is_one_clear_error() -> None:
    split = RollingOrigin(horizon=parse_period("1M"), n_origins=19, lookback=parse_period("6M"))
    # 19 months of data cannot hold 19 monthly origins plus a month of history.
    with pytest.raises(InputError, match="not enough history"):
        split.folds(d(2024, 2, 1), d(2025, 9, 1))
    # 18 origins fit; the early folds' 6-month lookback is cut at the data start.
    folds = RollingOrigin(horizon=parse_period("1M"), n_origins=18,
                          lookback=parse_period("6M")).folds(d(2024, 2, 1), d(2025, 9, 1))
    assert from_days(folds[0].origin).date().isoformat() == "2024-03-01"
    assert short_folds(folds, d(2024, 2, 1)) == 5


def test_data_end() -> None:
    assert data_end(d(2017, 12, 31) + 0.99, "minute") == d(2018, 1, 1)
    assert data_end(d(2017, 12, 31), "day") == d(2018, 1, 1)
    # Chicago data ends at local midnight, 06:00 UTC: that partial UTC day is left out.
    assert data_end(d(2018, 1, 1) + 5.99 / 24, "minute") == d(2018, 1, 1)


def test_last_end_moves_the_origins_back() -> None:
    split = RollingOrigin(horizon=parse_period("1M"), n_origins=3, last_end=d(2020, 10, 1))
    folds = split.folds(d(2006, 1, 1), d(2021, 7, 1))
    assert [from_days(f.origin).month for f in folds] == [7, 8, 9]
    assert folds[-1].score_end == d(2020, 10, 1)
    late = RollingOrigin(horizon=parse_period("1M"), n_origins=3, last_end=d(2022, 1, 1))
    with pytest.raises(InputError, match="after the end of the data"):
        late.folds(d(2006, 1, 1), d(2021, 7, 1))


def test_month_periods_with_other_units_are_refused_clearly() -> None:
    # origins a week apart are not month starts: a 6-month lookback from them is undefined
    weekly = RollingOrigin(horizon=parse_period("7d"), n_origins=2, lookback=parse_period("6M"))
    with pytest.raises(InputError, match="month"):
        weekly.folds(19_000.0, 19_500.0)
    monthly = RollingOrigin(horizon=parse_period("1M"), n_origins=2, step=parse_period("2w"))
    with pytest.raises(InputError, match="month"):
        monthly.folds(19_000.0, 19_783.0)


def test_a_month_from_a_mid_month_day_keeps_the_day_when_asked() -> None:
    from zoneinfo import ZoneInfo

    ny = ZoneInfo("America/New_York")
    month = parse_period("1M")

    def local(y: int, m: int, d: int) -> float:
        return to_days(datetime(y, m, d, tzinfo=ny))

    # a forecast window of one month from the 30th of June ends on the 30th of July
    assert month.add_local(local(2021, 6, 30), 1, "America/New_York", keep_day=True) == local(
        2021, 7, 30
    )
    # a shorter month ends on its last day; two months back keeps the day too
    assert month.add_local(local(2021, 1, 31), 1, "America/New_York", keep_day=True) == local(
        2021, 2, 28
    )
    assert month.add_local(local(2021, 3, 15), -2, "America/New_York", keep_day=True) == local(
        2021, 1, 15
    )
    # calendar months (backtest origins) still step to the first of the month
    assert month.add_local(local(2021, 6, 30), 1, "America/New_York") == local(2021, 7, 1)
