"""API throughput and latency on a real server: list proposals, authorise, against static files.

A real uvicorn server (one process, 127.0.0.1, a free port) over a populated governance
database (SQLite by default, ``--pg URL`` for a fresh database on a PostgreSQL server), and a
load generator in this process (threads, one keep-alive httpx client each; bounded by a count
and a time; loopback only). Everything is made through the API: accounts (argon2id, TOTP for
the roles that need it, activation with the enrolment code), a forecast snapshot, proposals
taken through propose, assess and two borough consultations, some left in other states.

Measured with 1, 10 and 50 concurrent clients:

- ``GET /static/robots.txt``: the baseline, a static file from the same server;
- ``GET /api/proposals`` as the oversight auditor (an audited read over all proposals);
- ``POST /api/auth/reauth`` then ``POST /api/proposals/{id}/authorise``: every authorise on its
  own consulted proposal, each after a fresh re-authentication (password + a one-time code
  never used before) by the same authorising officer. The two are timed in separate phases
  (all clients re-authenticate, then all authorise), so the authorise figures are the
  decision alone and the re-authentication figures are reported beside them.

Throughput is requests answered 200 over the wall time of the phase; p50/p99 are over every
request sent (answers other than 200, and transport errors, are counted and printed).
Ratios are route throughput over static throughput at the same concurrency. argon2id runs at
production cost (t=3, 64 MiB, p=4) unless ``--test-argon2`` (t=1, 8 MiB, p=1), stated in the
output either way. Usage::

    .venv/bin/python bench/api_bench.py                 # SQLite
    .venv/bin/python bench/api_bench.py --pg postgresql+psycopg://user@127.0.0.1:5432/db
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pyotp

PASSWORD = "bench horse battery staple"
BOROUGHS = ["E09000001", "E09000002"]
NDM = {
    "code_of_ethics": "Proportionate, lawful, fair; least intrusive option considered.",
    "information_and_intelligence": "Two stabbings within 300 m in 12 h; graded intelligence.",
    "threat_risk_and_strategy": "High risk of further serious violence tonight.",
    "powers_and_policy": "Armed foot patrol profile; APP armed policing.",
    "options_and_contingencies": "Unarmed patrol; no action; armed foot patrol for 6 h.",
    "action_and_review": "Patrol 18:00-24:00, review at 21:00, debrief next day.",
}
ASSESSMENT = {
    "description": "Armed foot patrol, 6 hours, around the junction of two streets.",
    "geography": "Mixed residential and shops; a school nearby.",
    "likely_effect": "Visible armed officers may raise fear; short duration limits it.",
    "proportionality": "Two stabbings in 12 hours; unarmed patrol considered first.",
    "tension_indicators": "No recent protests.",
    "objectives": ["reduce harm"],
    "objectives_detail": "Prevent a retaliatory attack tonight.",
    "equality_eliminate_discrimination": "Patrol tasked by place, not by person.",
    "equality_advance_opportunity": "Youth club kept open with neighbourhood officers.",
    "equality_good_relations": "Independent advisory group briefed before and after.",
    "consultation_group": "Independent advisory group for the borough.",
    "consultation_response": "Supportive if short and explained to residents.",
    "mitigations": "Neighbourhood officers accompany; leaflets explain the patrol.",
    "communication_plan": "Public notice on the force website.",
    "owner": "Borough community engagement team",
    "review_date": "2026-12-31",
}
STEP = 30  # TOTP step, seconds


# --- the server (a child process) ---------------------------------------------------------


def serve(url: str, keys: Path, port: int, test_argon2: bool) -> None:
    import uvicorn

    from patrolcast.api.server import create_app
    from patrolcast.app.context import AppContext
    from patrolcast.governance.db import open_database
    from patrolcast.governance.identity import credentials
    from patrolcast.governance.identity.keys import ServerKey
    from patrolcast.governance.signing import AuditSigner

    if test_argon2:
        credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    signer = AuditSigner.load_or_create(keys)
    ctx = AppContext(db=open_database(url, signer=signer), key=ServerKey.load_or_create(keys),
                     signer=signer)
    uvicorn.run(create_app(ctx), host="127.0.0.1", port=port, log_level="warning",
                access_log=False)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def bootstrap(url: str, keys: Path, test_argon2: bool) -> str:
    """The database and its first administrator (as ``patrolcast bootstrap`` does)."""
    from patrolcast.governance.clock import SystemClock
    from patrolcast.governance.db import open_database
    from patrolcast.governance.identity import credentials
    from patrolcast.governance.identity.keys import ServerKey
    from patrolcast.governance.identity.sign_in import bootstrap_administrator
    from patrolcast.governance.signing import AuditSigner

    if test_argon2:
        credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    signer = AuditSigner.load_or_create(keys)
    db = open_database(url, allow_new=True, signer=signer)
    try:
        with db.session() as s:
            prov = bootstrap_administrator(s, ServerKey.load_or_create(keys), SystemClock(),
                                           username="admin", password=PASSWORD)
        return str(prov.secret)
    finally:
        db.dispose()


@contextmanager
def server(url: str, keys: Path, test_argon2: bool) -> Iterator[str]:
    port = free_port()
    cmd = [sys.executable, __file__, "--serve", "--db", url, "--keys", str(keys),
           "--port", str(port)] + (["--test-argon2"] if test_argon2 else [])
    proc = subprocess.Popen(cmd)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                if httpx.get(f"{base}/static/robots.txt", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("the server did not start")
            time.sleep(0.2)
        yield base
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()


@contextmanager
def pg_database(base: str) -> Iterator[str]:
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    name = f"patrolcast_bench_{uuid.uuid4().hex[:8]}"
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'CREATE DATABASE "{name}"'))
    try:
        yield make_url(base).set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


# --- people -------------------------------------------------------------------------------


@dataclass
class Person:
    username: str
    token: str = ""
    secret: str | None = None
    last_step: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def code(self, ahead: int = 0) -> str | None:
        """A one-time code this account has never used (waits for the next step if needed).

        ``ahead=1`` takes the next step's code, which the server accepts for up to 90 s (one
        step of drift): a re-authentication sent under load still arrives with a valid code.
        """
        if self.secret is None:
            return None
        with self.lock:
            while True:
                now_step = int(time.time()) // STEP
                step = max(self.last_step + 1, now_step - 1 + 2 * ahead)
                if step <= now_step + 1:
                    self.last_step = step
                    return pyotp.TOTP(self.secret).at(step * STEP)
                time.sleep((now_step + 1) * STEP - time.time() + 0.05)

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}


def _ok(r: httpx.Response) -> dict[str, Any]:
    if r.status_code != 200:
        raise SystemExit(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text}")
    out: dict[str, Any] = r.json()
    return out


def sign_in(c: httpx.Client, p: Person) -> None:
    body = {"username": p.username, "password": PASSWORD, "totp": p.code(), "hours": 12}
    p.token = str(_ok(c.post("/api/auth/tokens", json=body))["token"])


def add_person(c: httpx.Client, admin: Person, username: str, roles: list[str],
               rank: str | None, signed_in: bool = True) -> Person:
    code = _ok(c.post("/api/users", headers=admin.headers(),
                      json={"username": username, "roles": roles, "rank": rank}))
    act = _ok(c.post("/api/accounts/activate", json={
        "username": username, "code": code["enrolment_code"], "password": PASSWORD}))
    p = Person(username, secret=act.get("totp_secret"))
    if signed_in:
        sign_in(c, p)
    return p


# --- the world ----------------------------------------------------------------------------


@dataclass
class World:
    base: str
    people: dict[str, Person]
    officers: list[Person]
    consulted: list[tuple[int, str]]  # (proposal id, requested start) for authorise
    states: dict[str, int]


def now() -> datetime:
    return datetime.now(UTC)


def build_world(base: str, admin_secret: str, n_officers: int, n_authorise: int,
                n_proposals: int) -> World:
    c = httpx.Client(base_url=base, timeout=600)
    admin = Person("admin", secret=admin_secret)
    sign_in(c, admin)
    people: dict[str, Person] = {"admin": admin}
    fixed = {
        "ana": (["analyst"], None, True), "cat": (["community_lead"], None, True),
        "bob1": (["borough_commander:E09000001"], "chief_superintendent", True),
        "bob2": (["borough_commander:E09000002"], "chief_superintendent", True),
        "tfc": (["tactical_firearms_commander"], "inspector", False),
        "sfc": (["strategic_firearms_commander"], "chief_superintendent", False),
        "aud": (["oversight_auditor"], None, True),
        "ref": (["authorising_officer"], "assistant_chief_constable", True),
    }
    names = [f"acc{i:02d}" for i in range(n_officers)]

    def make(name: str) -> Person:
        with httpx.Client(base_url=base, timeout=600) as cc:
            if name in fixed:
                roles, rank, signed = fixed[name]
                return add_person(cc, admin, name, roles, rank, signed)
            return add_person(cc, admin, name, ["authorising_officer"],
                              "assistant_chief_constable")

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        made = list(pool.map(make, list(fixed) + names))
    people.update({p.username: p for p in made})
    officers = [people[n] for n in names]
    print(f"  {len(made)} accounts activated and signed in through the API in "
          f"{time.perf_counter() - t0:.0f} s", flush=True)

    snap = _ok(c.post("/api/snapshots", headers=people["ana"].headers(), json={
        "method": "kde", "digest": "ab" * 32,
        "created_at": (now() - timedelta(hours=1)).isoformat()}))["id"]

    # proposals: n_authorise consulted for the authorise runs, the rest spread over states
    rest = max(n_proposals - n_authorise, 0)
    plan = (["consulted"] * n_authorise + ["draft", "submitted", "assessed", "refused",
                                            "consulted"] * (rest // 5 + 1))[: n_authorise + rest]
    states: dict[str, int] = {}
    consulted: list[tuple[int, str]] = []

    def make_proposal(item: tuple[int, str]) -> tuple[str, int, str]:
        i, target = item
        x, y = 500_000 + (i % 25) * 1_000, 160_000 + (i // 25) * 1_000
        start = (now() + timedelta(minutes=90)).isoformat()
        with httpx.Client(base_url=base, timeout=600) as cc:
            r = _ok(cc.post("/api/proposals", headers=people["ana"].headers(), json={
                "trigger": {"kind": "incident", "offence": "serious_assault",
                            "occurred_at": (now() - timedelta(hours=2)).isoformat(),
                            "place": f"Bench Road {i}"},
                "area": {"bbox": [x, y, x + 500, y + 500], "boroughs": BOROUGHS},
                "start": start, "hours": 6, "ndm": NDM, "profile": "armed-foot-patrol",
                "snapshot_id": snap, "draft": target == "draft"}))
            pid = int(r["proposal_id"])
            if target in ("draft", "submitted"):
                return target, pid, start
            _ok(cc.post(f"/api/proposals/{pid}/assess", headers=people["cat"].headers(),
                        json={"assessment": ASSESSMENT}))
            if target == "assessed":
                return target, pid, start
            for who, borough in (("bob1", "E09000001"), ("bob2", "E09000002")):
                _ok(cc.post(f"/api/proposals/{pid}/consult", headers=people[who].headers(),
                            json={"borough": borough, "position": "support",
                                  "reasons": "Agreed; notify the advisory group."}))
            if target == "refused":
                _ok(cc.post(f"/api/proposals/{pid}/refuse", headers=people["ref"].headers(),
                            json={"reasons": "Not proportionate on this intelligence."}))
            return target, pid, start

    t0 = time.perf_counter()
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(make_proposal, enumerate(plan)))
    for i, (state, pid, start) in enumerate(results):
        states[state] = states.get(state, 0) + 1
        if state == "consulted" and i < n_authorise:
            consulted.append((pid, start))
    print(f"  {len(results)} proposals through the API in {time.perf_counter() - t0:.0f} s: "
          + ", ".join(f"{k} {v}" for k, v in sorted(states.items())), flush=True)
    c.close()
    return World(base, people, officers, consulted, states)


# --- load ---------------------------------------------------------------------------------


@dataclass
class Figures:
    n: int
    wall: float
    latencies: list[float]
    failures: int
    statuses: dict[str, int] = field(default_factory=dict)

    @property
    def rps(self) -> float:
        return self.n / self.wall if self.wall > 0 else float("nan")

    def pct(self, q: float) -> float:
        xs = sorted(self.latencies)
        if not xs:
            return float("nan")
        return xs[min(len(xs) - 1, max(0, int(round(q * len(xs) + 0.5)) - 1))]

    def row(self) -> dict[str, Any]:
        return {"n": self.n, "rps": self.rps, "p50_ms": 1e3 * self.pct(0.50),
                "p99_ms": 1e3 * self.pct(0.99), "failures": self.failures,
                "statuses": self.statuses}


def _send(c: httpx.Client, method: str, path: str, **kw: Any) -> str:
    """One request; its status as text, or the transport error's name (a failure)."""
    try:
        r = c.request(method, path, **kw)
        r.read()
    except httpx.HTTPError as exc:
        return type(exc).__name__
    if r.status_code != 200 and "authorise" in path:
        print(f"    {path}: {r.status_code} {r.text[:160]}", flush=True)
    return str(r.status_code)


def closed_loop(base: str, path: str, headers: dict[str, str], clients: int,
                max_requests: int, max_seconds: float) -> Figures:
    """``clients`` threads, each sending one request after another until the count or the
    time is reached (keep-alive connections, one untimed request each first). Requests in
    flight when the time is up are completed and counted."""
    lock = threading.Lock()
    issued = 0
    lat: list[float] = []
    statuses: dict[str, int] = {}
    ready = threading.Barrier(clients + 1)
    stop_at = [0.0]

    def worker() -> None:
        nonlocal issued
        with httpx.Client(base_url=base, headers=headers, timeout=1800) as c:
            _send(c, "GET", "/static/robots.txt")  # open the keep-alive connection
            ready.wait()
            mine: list[float] = []
            seen: list[str] = []
            while True:
                with lock:
                    if issued >= max_requests or time.perf_counter() >= stop_at[0]:
                        break
                    issued += 1
                t = time.perf_counter()
                seen.append(_send(c, "GET", path))
                mine.append(time.perf_counter() - t)
        with lock:
            lat.extend(mine)
            for st in seen:
                statuses[st] = statuses.get(st, 0) + 1

    threads = [threading.Thread(target=worker, daemon=True) for _ in range(clients)]
    for th in threads:
        th.start()
    stop_at[0] = time.perf_counter() + 3600
    ready.wait()
    t0 = time.perf_counter()
    stop_at[0] = t0 + max_seconds
    for th in threads:
        th.join()
    ok = statuses.get("200", 0)
    return Figures(ok, time.perf_counter() - t0, lat, len(lat) - ok, statuses)


def authorise_runs(world: World, clients: int, rounds: int,
                   jobs: list[tuple[int, str]]) -> tuple[Figures, Figures]:
    """Rounds of: every client re-authenticates (timed), then every client authorises its own
    consulted proposal (timed). Each client uses its own officers, in turn."""
    mine = [world.officers[j::clients] for j in range(clients)]
    assert all(mine), "fewer officers than clients"
    barrier = threading.Barrier(clients)
    spans: dict[str, list[tuple[float, float, str]]] = {"reauth": [], "authorise": []}
    lock = threading.Lock()
    queue = list(jobs)

    def record(kind: str, t0: float, status: str) -> None:
        with lock:
            spans[kind].append((t0, time.perf_counter(), status))

    def worker(j: int) -> None:
        with httpx.Client(base_url=world.base, timeout=1800) as c:
            _send(c, "GET", "/static/robots.txt")
            for k in range(rounds):
                officer = mine[j][k % len(mine[j])]
                with lock:
                    pid, start = queue.pop()
                auth = {"reasons": "Grounds met; proportionate.", "ndm": NDM, "start": start,
                        "hours": 2, "tactical_commander": "tfc", "strategic_commander": "sfc",
                        "public_notice": "Notice: armed patrols in the area tonight."}
                barrier.wait()
                body = {"password": PASSWORD, "totp": officer.code(ahead=1)}
                t0 = time.perf_counter()
                st = _send(c, "POST", "/api/auth/reauth", headers=officer.headers(), json=body)
                record("reauth", t0, st)
                barrier.wait()
                t0 = time.perf_counter()
                st = _send(c, "POST", f"/api/proposals/{pid}/authorise",
                           headers=officer.headers(), json=auth)
                record("authorise", t0, st)

    threads = [threading.Thread(target=worker, args=(j,), daemon=True) for j in range(clients)]
    for th in threads:
        th.start()
    for th in threads:
        th.join()

    def figures(kind: str) -> Figures:
        xs = spans[kind]
        # the wall time of each round's phase: first start to last end
        walls = 0.0
        for k in range(rounds):
            chunk = sorted(xs, key=lambda s: s[0])[k * clients:(k + 1) * clients]
            walls += max(e for _s, e, _c in chunk) - min(s for s, _e, _c in chunk)
        statuses: dict[str, int] = {}
        for *_x, st in xs:
            statuses[st] = statuses.get(st, 0) + 1
        ok = statuses.get("200", 0)
        return Figures(ok, walls, [e - s for s, e, _c in xs], len(xs) - ok, statuses)

    return figures("reauth"), figures("authorise")


# --- main ---------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    ap.add_argument("--pg", help="a PostgreSQL server URL (a fresh database is made on it)")
    ap.add_argument("--clients", default="1,10,50")
    ap.add_argument("--requests", type=int, default=1500, help="per level, at most")
    ap.add_argument("--seconds", type=float, default=15.0, help="per level, at most")
    ap.add_argument("--rounds", default="20,4,2",
                    help="authorise rounds per level (each client authorises once a round)")
    ap.add_argument("--proposals", type=int, default=200, help="at least this many proposals")
    ap.add_argument("--test-argon2", action="store_true",
                    help="argon2id at test cost (t=1, 8 MiB) instead of production cost")
    ap.add_argument("--json", type=Path, help="also write the figures here")
    ap.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    ap.add_argument("--db", help=argparse.SUPPRESS)
    ap.add_argument("--keys", type=Path, help=argparse.SUPPRESS)
    ap.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args.serve:
        serve(args.db, args.keys, args.port, args.test_argon2)
        return 0

    signal.signal(signal.SIGTERM, lambda *_a: sys.exit(143))  # run the clean-ups
    levels = [int(x) for x in args.clients.split(",")]
    rounds = [int(x) for x in args.rounds.split(",")]
    if len(rounds) != len(levels):
        raise SystemExit("--rounds needs one number per --clients level")
    n_authorise = sum(c * r for c, r in zip(levels, rounds, strict=True))
    cost = ("argon2id TEST cost (t=1, 8 MiB, p=1)" if args.test_argon2
            else "argon2id production cost (t=3, 64 MiB, p=4)")
    print(f"api_bench: {platform.python_version()}, {os.cpu_count()} cores, "
          f"load average {os.getloadavg()[0]:.1f}, {cost}", flush=True)

    with tempfile.TemporaryDirectory(prefix="pc-api-bench-") as tmp:
        home = Path(tmp)
        with (pg_database(args.pg) if args.pg else _sqlite(home)) as url:
            backend = "PostgreSQL" if args.pg else "SQLite (synchronous=FULL)"
            print(f"  database: {backend}", flush=True)
            secret = bootstrap(url, home / "keys", args.test_argon2)
            with server(url, home / "keys", args.test_argon2) as base:
                world = build_world(base, secret, max(levels), n_authorise,
                                    max(args.proposals, n_authorise))
                out = run(world, levels, rounds, args.requests, args.seconds)
    out["meta"] = {"backend": backend, "argon2": cost, "cores": os.cpu_count(),
                   "proposals": world.states}
    if args.json:
        args.json.write_text(json.dumps(out, indent=1))
    return 0


@contextmanager
def _sqlite(home: Path) -> Iterator[str]:
    yield f"sqlite:///{home / 'gov.db'}"


def run(world: World, levels: list[int], rounds: list[int], max_requests: int,
        max_seconds: float) -> dict[str, Any]:
    aud = world.people["aud"].headers()
    out: dict[str, Any] = {"levels": {}}
    jobs = list(world.consulted)
    print(f"\n{'route':34} {'clients':>7} {'n':>6} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>9} "
          f"{'x static':>8} {'fail':>5}")
    for c, r in zip(levels, rounds, strict=True):
        static = closed_loop(world.base, "/static/robots.txt", {}, c, max_requests,
                             max_seconds)
        listing = closed_loop(world.base, "/api/proposals", aud, c, max_requests, max_seconds)
        mine, jobs = jobs[: c * r], jobs[c * r:]
        reauth, authorise = authorise_runs(world, c, r, mine)
        level = {"static": static.row(), "list_proposals": listing.row(),
                 "reauth": reauth.row(), "authorise": authorise.row()}
        out["levels"][c] = level
        for name, fig in (("GET /static/robots.txt", static), ("GET /api/proposals", listing),
                          ("POST /api/auth/reauth", reauth),
                          ("POST /api/proposals/{id}/authorise", authorise)):
            ratio = fig.rps / static.rps
            bad = {k: v for k, v in fig.statuses.items() if k != "200"}
            print(f"{name:34} {c:>7} {fig.n:>6} {fig.rps:>8.1f} {1e3 * fig.pct(0.5):>8.1f} "
                  f"{1e3 * fig.pct(0.99):>9.1f} {ratio:>8.4f} {fig.failures:>5}"
                  + (f"  {bad}" if bad else ""), flush=True)
    return out



if __name__ == "__main__":
    sys.exit(main())
