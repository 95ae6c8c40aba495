"""Concurrency: two authorisers race on one proposal; exactly one wins, the other conflicts.

Both officers look at the same consulted proposal (same version) and press "authorise" at the
same moment (a barrier releases two threads with their own sessions and connections). On SQLite
the ``BEGIN IMMEDIATE`` write lock serialises them; on PostgreSQL the ``SELECT ... FOR UPDATE``
row lock does. The loser must get a ``ConflictError`` (stale version, or the proposal is no
longer consulted) and its attempt must be audited as denied.
"""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from sqlalchemy import func, select

from patrolcast.errors import ConflictError
from patrolcast.governance import audit, service
from patrolcast.governance.models import AuditEntry, Decision, Proposal
from patrolcast.governance.states import State
from tests.governance.helpers import World, authorisation, make_world, sqlite_url, walk_to


def race(world: World, pid: int, use_version: bool) -> tuple[list[object], list[Exception]]:
    with world.session() as s:
        version = s.execute(select(Proposal.version).where(Proposal.id == pid)).scalar_one()
    barrier = threading.Barrier(2)
    wins: list[object] = []
    errors: list[Exception] = []
    lock = threading.Lock()

    def officer(name: str) -> None:
        with world.session() as s:
            barrier.wait()
            try:
                r = service.authorise(
                    s,
                    actor=name,
                    clock=world.clock,
                    proposal_id=pid,
                    details=authorisation(world, hours=4),
                    expected_version=version if use_version else None,
                )
                with lock:
                    wins.append(r)
            except Exception as exc:  # collected and asserted on below
                with lock:
                    errors.append(exc)

    threads = [threading.Thread(target=officer, args=(n,)) for n in ("acc1", "acc2")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return wins, errors


def run_races(world: World, n: int) -> dict[str, int]:
    tally = {"races": 0, "one_winner": 0, "stale_version": 0, "invalid_transition": 0}
    for i in range(n):
        pid = walk_to(world, State.CONSULTED, offset=2000.0 * (i + 1))
        wins, errors = race(world, pid, use_version=(i % 2 == 0))
        assert len(wins) == 1 and len(errors) == 1, (wins, errors)
        err = errors[0]
        assert isinstance(err, ConflictError), repr(err)
        rule = getattr(err, "rule", "")
        assert f"#{pid}" in str(err) or "authorised" in str(err)
        assert str(err).startswith("conflict (") and "\n" not in str(err)
        tally["stale_version" if rule == "stale-version" else "invalid_transition"] += 1
        tally["races"] += 1
        tally["one_winner"] += 1
        with world.session() as s:
            decisions = s.execute(
                select(func.count(Decision.id)).where(
                    Decision.proposal_id == pid, Decision.kind == "authorise"
                )
            ).scalar_one()
            assert decisions == 1
            denied = s.execute(
                select(func.count(AuditEntry.seq)).where(
                    AuditEntry.target_id == str(pid),
                    AuditEntry.action == "authorise",
                    AuditEntry.outcome == "denied",
                )
            ).scalar_one()
            assert denied == 1
    with world.session() as s:
        assert audit.verify(s).ok
    return tally


def check_tally(tally: dict[str, int], n: int) -> None:
    """What every race run asserts, whatever its size (the slow runs assert no less): one
    winner each time; a loser that sent the version it saw is refused as stale (even races),
    one that did not as an invalid transition (odd races)."""
    assert tally == {
        "races": n,
        "one_winner": n,
        "stale_version": (n + 1) // 2,
        "invalid_transition": n // 2,
    }, tally


def test_race_sqlite(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    check_tally(run_races(world, 24), 24)


@pytest.mark.postgres
def test_race_postgres(pg_url: str) -> None:
    world = make_world(pg_url)
    check_tally(run_races(world, 24), 24)
    world.db.dispose()


@pytest.mark.slow
def test_race_sqlite_200(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))
    tally = run_races(world, 200)
    print(f"sqlite races: {tally}")
    check_tally(tally, 200)


@pytest.mark.slow
@pytest.mark.postgres
def test_race_postgres_200(pg_url: str) -> None:
    world = make_world(pg_url)
    tally = run_races(world, 200)
    print(f"postgresql races: {tally}")
    check_tally(tally, 200)
    world.db.dispose()


@pytest.mark.postgres
def test_full_lifecycle_and_chain_on_postgres(pg_url: str) -> None:
    world = make_world(pg_url)
    for k, state in enumerate((State.REVIEWED, State.REFUSED, State.ACTIVE)):
        walk_to(world, state, offset=5000.0 * k)
    with world.session() as s:
        report = audit.verify(s)
        views = service.list_proposals(s, actor="aud", clock=world.clock)
    assert report.ok and [v.state for v in views] == [State.REVIEWED, State.REFUSED, State.ACTIVE]
    world.db.dispose()
