"""Governance: people and roles, policy profiles, the deployment lifecycle, the audit chain.

Layout (Netflix Dispatch-style domain folder)
---------------------------------------------
``models``     ORM rows (people, role_grants, forecast_snapshots, proposals,
               community_impact_assessments, consultations, decisions, debriefs, reviews,
               audit_log, audit_head).
``db``         engines (SQLite WAL/FULL/BEGIN IMMEDIATE; PostgreSQL), Alembic ``migrate``,
               ``run_transaction`` with retries, ``UTCDateTime``/``JSONText`` column types.
``clock``      ``Clock``, ``SystemClock``, ``FixedClock``, ``parse_time`` (gap/fold aware).
``roles``      ``Role``, ``Rank``, ``Actor``, ``add_person``, ``load_actor``.
``profiles``   ``PolicyProfile`` and ``load_profile`` (TOML files in ``profiles/``).
``states``     ``State``, ``Action``, ``Refused``, ``InvalidTransition``, ``StaleProposal``.
``lifecycle``  ``TRANSITIONS`` and the one function ``transition``.
``guards``     permission and policy guards (each refusal names its rule).
``expiry``     ``effective_state``: a pure function of UTC time.
``audit``      the hash chain: ``append``, ``verify``, ``checkpoint``, ``export_entries``.
``snapshots``  ``record_snapshot``: the only reference to a forecast.
``service``    one keyword-only function per action, plus audited reads.
``values``     frozen input values (``ProposalDetails``, ``NDMRationale``, ...).

Every service takes the session explicitly and a clock; every write commits with its audit
entry in the same transaction. This API is stable for the oversight domain to build on.
"""

from patrolcast.governance.clock import Clock, FixedClock, SystemClock, parse_time
from patrolcast.governance.db import Database, migrate, open_database
from patrolcast.governance.lifecycle import TRANSITIONS, TransitionResult, transition
from patrolcast.governance.roles import Actor, Rank, Role, RoleSpec
from patrolcast.governance.snapshots import SnapshotRecord, record_snapshot
from patrolcast.governance.states import Action, InvalidTransition, Refused, State

__all__ = [
    "TRANSITIONS",
    "Action",
    "Actor",
    "Clock",
    "Database",
    "FixedClock",
    "InvalidTransition",
    "Rank",
    "Refused",
    "Role",
    "RoleSpec",
    "SnapshotRecord",
    "State",
    "SystemClock",
    "TransitionResult",
    "migrate",
    "open_database",
    "parse_time",
    "record_snapshot",
    "transition",
]
