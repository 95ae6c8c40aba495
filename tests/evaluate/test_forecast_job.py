"""Forecast jobs: no forecast of a gap as if nothing happened, and an empty look-back is said."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.jobs import ForecastSpec, forecast_job
from patrolcast.events import EventSet
from tests.cli.synthetic_store import synthetic_store
from tests.evaluate.synthetic import hotspot_events


def _spec(start: str, method: str = "naive") -> ForecastSpec:
    return ForecastSpec.from_options(dataset="synth", method=method, start=start,
                                     horizon="7d", study_area="hull")


def test_a_window_after_the_data_end_is_refused(tmp_path: Path) -> None:
    store = synthetic_store(tmp_path / "home")  # 200 days from 2022-01-08
    with pytest.raises(InputError, match="after the data end"):
        forecast_job(_spec("2023-01-01"), out_dir=tmp_path / "out", store=store)


def test_an_empty_look_back_is_a_warning_in_output_and_snapshot(tmp_path: Path) -> None:
    base = hotspot_events(days=200)
    keep = base.t < 19_150.0  # nothing in the last 50 days of the data
    events = EventSet.from_arrays(np.r_[base.t[keep], 19_199.5], np.r_[base.x[keep], 100.0],
                                  np.r_[base.y[keep], 100.0], crs=base.crs)
    outcome = forecast_job(_spec("2022-07-20"), out_dir=tmp_path / "out",
                           store=synthetic_store(tmp_path / "home", events))
    assert outcome.expected_total == 0.0
    assert any("no event in the last 7 days" in w for w in outcome.warnings)
    assert outcome.snapshot["warnings"] == outcome.warnings
    assert outcome.snapshot["study_area"]["km2"] > 0
    assert outcome.snapshot["ranked_by"] == "count"
    assert outcome.to_json()["start"].startswith("2022-07-20T00:00:00+01:00")
