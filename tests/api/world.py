"""A real server world for API tests: the FastAPI app over a real database, real accounts
(argon2id, TOTP), each person signed in with their own token. Nothing is mocked."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pyotp
from fastapi.testclient import TestClient

from patrolcast.api.server import create_app
from patrolcast.app.context import AppContext
from patrolcast.governance.clock import FixedClock
from patrolcast.governance.db import open_database
from patrolcast.governance.identity import credentials
from patrolcast.governance.identity.keys import ServerKey
from patrolcast.governance.identity.sign_in import bootstrap_administrator
from patrolcast.governance.signing import AuditSigner

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
BOROUGHS = ["E09000001", "E09000002"]
PASSWORD = "correct horse battery staple"

#: username -> (roles, rank)
PEOPLE: dict[str, tuple[list[str], str | None]] = {
    "ana": (["analyst"], None),
    "ian": (["intelligence_officer"], None),
    "cat": (["community_lead"], None),
    "bob1": (["borough_commander:E09000001"], "chief_superintendent"),
    "bob2": (["borough_commander:E09000002"], "chief_superintendent"),
    "acc1": (["authorising_officer"], "assistant_chief_constable"),
    "acc2": (["authorising_officer"], "assistant_chief_constable"),
    "tfc": (["tactical_firearms_commander"], "inspector"),
    "sfc": (["strategic_firearms_commander"], "chief_superintendent"),
    "aud": (["oversight_auditor"], None),
}

NDM = {
    "code_of_ethics": "Proportionate, lawful, fair; least intrusive option considered.",
    "information_and_intelligence": "Two stabbings within 300 m in 12 h; graded intelligence.",
    "threat_risk_and_strategy": "High risk of further serious violence tonight.",
    "powers_and_policy": "Armed foot patrol profile; APP armed policing.",
    "options_and_contingencies": "Unarmed patrol; no action; armed foot patrol for 6 h.",
    "action_and_review": "Patrol 18:00-24:00, review at 21:00, debrief next day.",
}


@dataclass
class ApiWorld:
    ctx: AppContext
    clock: FixedClock
    app: Any
    totp: dict[str, str] = field(default_factory=dict)
    tokens: dict[str, str] = field(default_factory=dict)

    def anonymous(self) -> TestClient:
        return TestClient(self.app)

    def code(self, user: str) -> str | None:
        """A fresh one-time code (the clock moves on a step, so no code is ever reused)."""
        secret = self.totp.get(user)
        if secret is None:
            return None
        self.clock.advance(timedelta(seconds=30))
        return pyotp.TOTP(secret).at(self.clock.now())

    def sign_in(self, user: str, password: str = PASSWORD) -> TestClient:
        c = self.anonymous()
        r = c.post("/api/auth/tokens", json={"username": user, "password": password,
                                             "totp": self.code(user)})
        assert r.status_code == 200, r.text
        self.tokens[user] = r.json()["token"]
        c.headers["Authorization"] = f"Bearer {r.json()['token']}"
        return c

    def as_(self, user: str) -> TestClient:
        c = self.anonymous()
        c.headers["Authorization"] = f"Bearer {self.tokens[user]}"
        return c

    def reauth(self, user: str) -> None:
        r = self.as_(user).post("/api/auth/reauth",
                                json={"password": PASSWORD, "totp": self.code(user)})
        assert r.status_code == 200, r.text

    def audit_tail(self, n: int = 5) -> list[tuple[str, str, str]]:
        from sqlalchemy import text

        with self.ctx.db.session() as s:
            rows = s.execute(
                text("select actor, action, outcome from audit_log order by seq desc limit :n"),
                {"n": n},
            ).all()
        return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def make_api_world(url: str, keys: Path, *, boroughs_path: Path | None = None) -> ApiWorld:
    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    clock = FixedClock(T0)
    signer = AuditSigner.load_or_create(keys)
    db = open_database(url, signer=signer)
    ctx = AppContext(db=db, key=ServerKey.for_tests(), clock=clock, signer=signer,
                     boroughs_path=boroughs_path)
    world = ApiWorld(ctx=ctx, clock=clock, app=create_app(ctx))
    with db.session() as s:
        prov = bootstrap_administrator(s, ctx.key, clock, username="admin", password=PASSWORD)
    world.totp["admin"] = prov.secret
    admin = world.sign_in("admin")
    for name, (roles, rank) in PEOPLE.items():
        r = admin.post("/api/users", json={"username": name, "roles": roles, "rank": rank})
        assert r.status_code == 200, r.text
        code = r.json()["enrolment_code"]
        act = world.anonymous().post(
            "/api/accounts/activate", json={"username": name, "code": code, "password": PASSWORD}
        )
        assert act.status_code == 200, act.text
        if act.json().get("totp_secret"):
            world.totp[name] = act.json()["totp_secret"]
        world.sign_in(name)
    return world


def proposal_body(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "trigger": {"kind": "incident", "offence": "serious_assault",
                    "occurred_at": (T0 - timedelta(hours=2)).isoformat(),
                    "place": "Example Road"},
        "area": {"bbox": [530000, 180000, 530500, 180500], "boroughs": BOROUGHS},
        "hours": 6,
        "ndm": NDM,
        "profile": "armed-foot-patrol",
    }
    body.update(over)
    return body


def authorisation_body(world: ApiWorld, hours: float = 5, **over: Any) -> dict[str, Any]:
    start = world.clock.now()
    body: dict[str, Any] = {
        "reasons": "Grounds met; proportionate.",
        "ndm": NDM,
        "start": start.isoformat(),
        "hours": hours,
        "tactical_commander": "tfc",
        "strategic_commander": "sfc",
        "public_notice": "Notice: armed patrols in the area tonight.",
    }
    body.update(over)
    return body
