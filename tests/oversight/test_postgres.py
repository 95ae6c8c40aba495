"""The oversight tables and flows on a real PostgreSQL server (skipped without one)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from patrolcast.governance import audit, service
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import open_database
from patrolcast.oversight.intel_store import list_items, record_item
from patrolcast.oversight.intelligence import Place
from patrolcast.oversight.records import deployment_records
from patrolcast.oversight.scenario_db import AUDITOR, run_month

pytestmark = pytest.mark.postgres



def test_scenario_and_purge_on_postgres(pg_url: str) -> None:
    db = open_database(pg_url)
    try:
        plans, report_time = run_month(db, "2025-06", n_proposals=12)
        clock = FixedClock(report_time)
        with db.session() as s:
            views = service.list_proposals(s, actor=AUDITOR, clock=clock)
        records = deployment_records(views)
        assert sorted(r.outcome for r in records) == sorted(
            p.record(report_time).outcome for p in plans
        )
        with db.session() as s:
            record_item(s, actor="scenario-intel", clock=clock,
                        place=Place(x=530000.0, y=180000.0, radius_m=100.0),
                        start=report_time, end=report_time + timedelta(hours=6),
                        grading="1B C", owner="desk",
                        retain_until=report_time + timedelta(days=1))
        clock.advance(timedelta(days=61))  # past every retention date of the scenario
        with db.session() as s:
            assert list_items(s, actor=AUDITOR, clock=clock) == []
            assert audit.verify(s).ok
            purged = [e for e in audit.read_entries(s) if e.action == "intel_purge"]
        assert len(purged) == sum(p.trigger == "intelligence" for p in plans) + 1
    finally:
        db.dispose()
