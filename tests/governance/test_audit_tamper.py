"""Tamper tests: random direct edits of the audit table, of five kinds, all detected.

A real chain is built through the services; then, for each case, one random edit is applied in a
transaction directly with sqlite3 (as an attacker with database access would), the verifier
reads the edited table and the head row, and the transaction is rolled back. Kinds: update (any
column of any entry), delete (any entry), insert (a forged entry with a correctly computed hash
inserted anywhere inside the chain, later entries renumbered), swap (two entries exchange
places), truncate (the newest entries dropped). In half of the delete/truncate cases the
attacker also rewrites the head row; those are caught by the checkpoint kept outside.
"""

from __future__ import annotations

import random
import sqlite3
from collections import Counter
from pathlib import Path

import pytest

from patrolcast.governance import audit
from patrolcast.governance.audit import AuditRecord, Checkpoint, entry_hash, verify_entries
from patrolcast.governance.states import State
from tests.governance.helpers import make_world, sqlite_url, walk_to

COLUMNS = (
    "seq",
    "recorded_at",
    "actor",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "detail",
    "prev_hash",
    "hash",
)
KINDS = ("update", "delete", "insert", "swap", "truncate")


@pytest.fixture(scope="module")
def chain_db(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Checkpoint]:
    tmp = tmp_path_factory.mktemp("tamper")
    world = make_world(sqlite_url(tmp, "chain.db"))
    for k, state in enumerate((State.REVIEWED, State.REFUSED, State.CANCELLED, State.ACTIVE)):
        walk_to(world, state, offset=5000.0 * k)
    with world.session() as s:
        assert audit.verify(s).ok
        cp = audit.checkpoint(s)
    world.db.dispose()
    return tmp / "chain.db", cp


def read(conn: sqlite3.Connection) -> tuple[list[AuditRecord], tuple[int, str]]:
    rows = conn.execute(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq").fetchall()
    head = conn.execute("SELECT seq, hash FROM audit_head WHERE id = 1").fetchone()
    return [AuditRecord(*r) for r in rows], (int(head[0]), str(head[1]))


def mutate_value(rng: random.Random, value: object) -> object:
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2, 1000])
    text = str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    replacement = rng.choice([c for c in '0123456789abcdefXYZ{}":, ' if c != text[i]])
    return text[:i] + replacement + text[i + 1 :]


def tamper(conn: sqlite3.Connection, kind: str, rng: random.Random) -> str:
    """Apply one random edit of ``kind``; return a variant label."""
    entries, head = read(conn)
    n = len(entries)
    if kind == "update":
        e = rng.choice(entries)
        col = rng.choice(COLUMNS)
        new = mutate_value(rng, getattr(e, col))
        if col == "seq":
            taken = {x.seq for x in entries}
            while new in taken:
                new = int(new) + 1  # type: ignore[call-overload]
        conn.execute(f"UPDATE audit_log SET {col} = ? WHERE seq = ?", (new, e.seq))
        return f"update:{col}"
    if kind == "delete":
        e = rng.choice(entries)
        conn.execute("DELETE FROM audit_log WHERE seq = ?", (e.seq,))
        if e.seq == n and rng.random() < 0.5:
            prev = entries[-2]
            conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (prev.seq, prev.hash))
            return "delete:last+head"
        return "delete"
    if kind == "insert":
        p = rng.randint(1, n)  # a forged entry placed inside the chain, before the head
        prev_hash = entries[p - 2].hash if p > 1 else audit.GENESIS
        for seq in range(n, p - 1, -1):
            conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (seq + 1, seq))
        forged = dict(
            seq=p,
            recorded_at=entries[p - 1].recorded_at,
            actor="acc1",
            action="authorise",
            target_type="proposal",
            target_id="1",
            outcome="done",
            detail='{"forged":true}',
            prev_hash=prev_hash,
        )
        digest = entry_hash(**forged)  # type: ignore[arg-type]
        conn.execute(
            f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*forged.values(), digest),
        )
        return "insert"
    if kind == "swap":
        i, j = rng.sample(range(1, n + 1), 2)
        conn.execute("UPDATE audit_log SET seq = -1 WHERE seq = ?", (i,))
        conn.execute("UPDATE audit_log SET seq = ? WHERE seq = ?", (i, j))
        conn.execute("UPDATE audit_log SET seq = ? WHERE seq = -1", (j,))
        return "swap"
    if kind == "truncate":
        k = rng.randint(0, n - 1)
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (k,))
        if rng.random() < 0.5:
            last = entries[k - 1] if k > 0 else None
            conn.execute(
                "UPDATE audit_head SET seq = ?, hash = ?",
                (last.seq if last else 0, last.hash if last else audit.GENESIS),
            )
            return "truncate+head"
        return "truncate"
    raise ValueError(kind)


def run_cases(db: Path, cp: Checkpoint, kind: str, n_cases: int, seed: int) -> Counter[str]:
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    conn = sqlite3.connect(db, isolation_level=None)
    entries, head = read(conn)
    assert verify_entries(entries, head=head, checkpoint=cp).ok
    for _ in range(n_cases):
        conn.execute("BEGIN")
        variant = tamper(conn, kind, rng)
        entries, head = read(conn)
        with_cp = verify_entries(entries, head=head, checkpoint=cp)
        in_db = verify_entries(entries, head=head)
        conn.execute("ROLLBACK")
        tally["cases"] += 1
        tally["detected"] += int(not with_cp.ok)
        tally["detected_without_checkpoint"] += int(not in_db.ok)
        tally[variant] += 1
        assert not with_cp.ok, f"{variant} not detected"
    entries, head = read(conn)
    assert verify_entries(entries, head=head, checkpoint=cp).ok  # rolled back cleanly
    conn.close()
    return tally


@pytest.mark.parametrize("kind", KINDS)
def test_tamper_detected_default_scale(chain_db: tuple[Path, Checkpoint], kind: str) -> None:
    db, cp = chain_db
    tally = run_cases(db, cp, kind, 150, seed=KINDS.index(kind))
    assert tally["detected"] == tally["cases"] == 150


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_tamper_detected_1000_each(chain_db: tuple[Path, Checkpoint], kind: str) -> None:
    db, cp = chain_db
    tally = run_cases(db, cp, kind, 1000, seed=100 + KINDS.index(kind))
    assert tally["detected"] == tally["cases"] == 1000
    print(f"tamper {kind}: {dict(tally)}")


def test_verify_cli_exits_1_on_tamper(chain_db: tuple[Path, Checkpoint], tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from patrolcast.cli.main import app

    db, cp = chain_db
    copy = tmp_path / "copy.db"
    with sqlite3.connect(db) as a, sqlite3.connect(copy) as b:
        a.backup(b)
    cp_file = tmp_path / "cp.json"
    cp_file.write_text(cp.to_json())
    runner = CliRunner()
    url = f"sqlite:///{copy}"
    ok = runner.invoke(app, ["audit", "verify", "--db", url, "--checkpoint", str(cp_file)])
    assert ok.exit_code == 0, ok.output
    with sqlite3.connect(copy) as conn:
        conn.execute("DELETE FROM audit_log WHERE seq > ?", (cp.seq - 3,))
        conn.execute(
            "UPDATE audit_head SET seq = (SELECT max(seq) FROM audit_log), "
            "hash = (SELECT hash FROM audit_log ORDER BY seq DESC LIMIT 1)"
        )
    bad = runner.invoke(
        app, ["audit", "verify", "--db", url, "--checkpoint", str(cp_file), "--json"]
    )
    assert bad.exit_code == 1
    assert "checkpoint" in bad.output and '"ok": false' in bad.output
    # without the outside checkpoint, a truncation with a rewritten head row looks valid
    blind = runner.invoke(app, ["audit", "verify", "--db", url])
    assert blind.exit_code == 0
