"""The demo leaves out methods that cannot learn from a dataset's time precision."""

from __future__ import annotations

import pytest

from patrolcast.errors import InputError
from patrolcast.evaluate.demo import applicable_methods
from patrolcast.events import EventSet
from patrolcast.forecast.registry import make_forecaster


def test_month_records_leave_out_etas_only() -> None:
    assert applicable_methods("naive, kde,etas", "month") == ("naive,kde", ["etas"])
    assert applicable_methods("naive,etas", "minute") == ("naive,etas", [])


def test_the_flag_matches_what_the_method_does() -> None:
    # A method that says it cannot learn from month records must refuse them when fitted.
    month = EventSet.from_arrays([0.0, 31.0], [0.0, 10.0], [0.0, 10.0], crs="EPSG:27700",
                                 time_precision="month")
    for name in ("naive", "kde", "prospective", "etas"):
        model = make_forecaster(name)
        if model.accepts_month_records:
            model.fit(month, cutoff=59.0)
        else:
            with pytest.raises(InputError):
                model.fit(month, cutoff=59.0)
