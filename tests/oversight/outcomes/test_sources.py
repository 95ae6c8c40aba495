"""Governance views become evaluation values; only debriefed or reviewed ones are evaluated."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from patrolcast.errors import InputError
from patrolcast.events import to_days
from patrolcast.oversight.outcomes.sources import deployment_from_view, evaluable_deployments

START = datetime(2025, 1, 5, 18, tzinfo=UTC)
END = datetime(2025, 1, 6, 9, tzinfo=UTC)


def _view(**kw: object) -> dict[str, object]:
    base: dict[str, object] = {
        "id": 7, "state": "debriefed", "area_wkt": "POLYGON((0 0,300 0,300 300,0 300,0 0))",
        "authorised_start": START, "authorised_end": END, "cancelled_at": None,
    }  # fmt: skip
    return {**base, **kw}


def test_view_to_deployment_uses_authorised_window_cut_at_cancellation() -> None:
    dep = deployment_from_view(_view())
    assert dep.start == pytest.approx(to_days(START)) and dep.end == pytest.approx(to_days(END))
    assert dep.treated.area == pytest.approx(90_000)
    cut = deployment_from_view(_view(cancelled_at=datetime(2025, 1, 5, 21, tzinfo=UTC)))
    assert (cut.end - cut.start) * 24 == pytest.approx(3.0)


def test_only_debriefed_or_reviewed_are_evaluated() -> None:
    views = [_view(), _view(id=8, state="active"), _view(id=9, state="reviewed")]
    assert [d.deployment_id for d in evaluable_deployments(views)] == ["proposal-7",
                                                                       "proposal-9"]
    with pytest.raises(InputError):
        deployment_from_view(_view(authorised_start=None))
