"""The seeded month played through the governance lifecycle gives the planned report."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import Database, open_database
from patrolcast.oversight.cia import AssessmentContent
from patrolcast.oversight.cia_service import record_cia
from patrolcast.oversight.fairness import exposure_vs_harm
from patrolcast.oversight.records import deployment_records, exposures, past_deployments
from patrolcast.oversight.scenario import SCENARIO_BOROUGHS, PlannedProposal
from patrolcast.oversight.scenario_db import AUDITOR, run_month
from patrolcast.oversight.transparency import build_report


@pytest.fixture(scope="module")
def month(tmp_path_factory: pytest.TempPathFactory) -> Iterator[
    tuple[Database, list[PlannedProposal], object]
]:
    path: Path = tmp_path_factory.mktemp("scenario") / "gov.db"
    db = open_database(f"sqlite:///{path}")
    plans, report_time = run_month(db, "2025-06")
    yield db, plans, report_time
    db.dispose()


def test_database_month_matches_the_plan(
    month: tuple[Database, list[PlannedProposal], object],
) -> None:
    db, plans, report_time = month
    with db.session() as s:
        views = service.list_proposals(s, actor=AUDITOR, clock=FixedClock(report_time))
    records = sorted(deployment_records(views), key=lambda r: r.requested_start)
    expected = sorted((p.record(report_time) for p in plans), key=lambda r: r.requested_start)
    assert len(records) == len(expected) == 30
    for got, want in zip(records, expected, strict=True):
        assert got.outcome == want.outcome
        assert got.authorised_hours == pytest.approx(want.authorised_hours)
        assert (got.extensions, got.authorising_rank, got.boroughs, got.trigger_type,
                got.follow_up) == (want.extensions, want.authorising_rank, want.boroughs,
                                   want.trigger_type, want.follow_up)
    assert {r.follow_up for r in records} >= {"awaiting debrief", "debriefed", "reviewed"}
    from_db = build_report(records, "2025-06", generated_at=report_time,
                           borough_names=SCENARIO_BOROUGHS)
    planned = build_report(expected, "2025-06", generated_at=report_time,
                           borough_names=SCENARIO_BOROUGHS)
    for name, table in from_db.tables.items():
        assert table.counts.equals(planned.tables[name].counts), name
        np.testing.assert_array_equal(table.status, planned.tables[name].status)
    with db.session() as s:
        assert audit.verify(s).ok
        actions = {e.action for e in audit.read_entries(s)}
    assert {"intel_record", "assessment_record"} <= actions


def test_burden_and_fairness_from_the_database(
    month: tuple[Database, list[PlannedProposal], object],
) -> None:
    db, plans, report_time = month
    with db.session() as s:
        views = service.list_proposals(s, actor=AUDITOR, clock=FixedClock(report_time))
    authorised = [p for p in plans if p.decision == "authorise"]
    assert len(past_deployments(views)) == len(authorised)
    feet = exposures(views, now=report_time)
    total = sum(e.hours for e in feet)
    planned = sum((p.cancel_after_hours if p.cancel_after_hours is not None
                   else p.base_hours + p.extension_hours) for p in authorised)
    assert total == pytest.approx(planned)
    # two areas, one with twice the exposure but the same harm: flagged at factor 1.2
    out = exposure_vs_harm(pd.Series({"a": 2.0, "b": 1.0}), pd.Series({"a": 1.0, "b": 1.0}),
                           factor=1.2)
    assert bool(out.loc["a", "flagged"]) and not bool(out.loc["b", "flagged"])


def test_incomplete_assessment_cannot_be_completed(
    month: tuple[Database, list[PlannedProposal], object],
) -> None:
    db, _, report_time = month
    clock = FixedClock(report_time + timedelta(days=1))
    with db.session() as s:
        pending = [v for v in service.list_proposals(s, actor=AUDITOR, clock=clock)
                   if v.stored_state == "submitted"]
    assert pending
    draft = AssessmentContent(description="Patrol after an assault")
    with db.session() as s, pytest.raises(InputError, match="cannot be completed"):
        record_cia(s, actor="scenario-community", clock=clock, proposal_id=pending[0].id,
                   content=draft)
    with db.session() as s:  # a draft can be saved, but does not let the proposal move on
        record_cia(s, actor="scenario-community", clock=clock, proposal_id=pending[0].id,
                   content=draft, complete=False)
        with pytest.raises(Exception, match="assess"):
            service.assess(s, actor="scenario-community", clock=clock,
                           proposal_id=pending[0].id)
