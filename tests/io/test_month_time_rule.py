"""Month-precision data (data.police.uk street files: ``Month`` only) follow the one time rule:
a ``--start``/``--end`` without an offset is Europe/London time, and the window of a month
forecast or backtest is the UK calendar month of that day (records are stamped at the month's
first day, 00:00 UTC). Read as UTC, as before, ``2024-06-01T00:30+01:00`` was 31 May (refused:
"a month horizon needs --start on the first day of a month") and ``2024-06-01T12:00`` was
refused too ("month periods need month-start instants")."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.jobs import ForecastSpec, forecast_job, month_data_day
from patrolcast.events import to_days
from patrolcast.io import Store, ingest


def _days(text: str) -> float:
    from datetime import datetime

    return to_days(datetime.fromisoformat(text))


def test_month_data_day_reads_the_uk_calendar_day() -> None:
    june = _days("2024-06-01T00:00+00:00")
    for text in ("2024-06-01", "2024-06-01T00:00", "2024-06-01T12:00", "2024-06-01T00:30+01:00",
                 "2024-05-31T23:30Z", "2024-06-01T23:59"):  # fmt: skip
        assert month_data_day(text) == june, text
    assert month_data_day("2024-05-31T22:59Z") == _days("2024-05-31T00:00+00:00")
    assert month_data_day("2024-01-01") == _days("2024-01-01T00:00+00:00")  # winter: GMT
    assert month_data_day("2024-12-31T23:30-01:00") == _days("2025-01-01T00:00+00:00")
    with pytest.raises(InputError, match="--end"):
        month_data_day("June", option="--end")


def _street_file(folder: Path) -> Path:
    rng = np.random.default_rng(3)
    lines = ["Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
             "LSOA name,Crime type,Last outcome category,Context"]  # fmt: skip
    for month in [f"2023-{m:02d}" for m in range(7, 13)] + [f"2024-{m:02d}" for m in range(1, 8)]:
        for i in range(40):
            lon = -0.1280 + 0.004 * (i % 2) + rng.normal(0, 0.0004)
            lat = 51.5070 + 0.004 * (i % 2) + rng.normal(0, 0.0004)
            lines.append(f"{month}-{i:04d},{month},Met,Met,{lon:.6f},{lat:.6f},On or near X,"
                         f"E01004736,Westminster 018A,Violence and sexual offences,,")  # fmt: skip
    path = folder / "street.csv"
    path.write_text("\n".join(lines) + "\n")
    return path


def test_a_month_forecast_window_follows_the_time_rule(tmp_path: Path) -> None:
    store = Store(tmp_path / "store")
    summary = ingest(_street_file(tmp_path), store=store, dataset="met")
    assert summary.stored == 13 * 40

    def window(start: str) -> tuple[str, str]:
        spec = ForecastSpec.from_options(dataset="met", method="naive", start=start,
                                         horizon="1M", study_area="hull", pack=False)  # fmt: skip
        out = forecast_job(spec, out_dir=tmp_path / "out", store=store, overwrite=True)
        payload = out.to_json()
        return payload["start"][:10], payload["end"][:10]

    june = ("2024-06-01", "2024-07-01")
    assert window("2024-06-01") == june
    assert window("2024-06-01T12:00") == june  # was refused: not a month-start instant
    assert window("2024-06-01T00:30+01:00") == june  # was 31 May: refused for a month horizon
