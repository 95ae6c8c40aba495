"""Attacks on the audit record by someone with database owner rights, and their detection.

Used by ``tests/governance/test_audit_tamper.py`` (default scale) and ``bench/audit_tamper.py``
(1,000 of each). A realistic database is built through the services with the server's signer;
the attacker then drops the append-only triggers (owner rights) and, for each case, applies one
random attack inside a transaction on a raw connection, the verifier runs on that connection,
and the transaction is rolled back.

Kinds:
``edit``      change one column of one entry (no rehash)
``delete``    delete one entry (half the time the newest, with the head row moved back)
``insert``    a forged entry with a correctly computed hash placed inside the chain
``reorder``   two entries swap places
``truncate``  drop the newest entries; the head row *and its signature* restored to the last
              surviving signed checkpoint, newer checkpoint rows deleted
``rechain``   edit one entry, recompute its hash and every later hash and the head row
              (half the time also wiping every signature in the database)
``table``     edit one column of one governed row directly (the log untouched)

Detection is measured (a) with the server's public key and the latest signed checkpoint kept
outside the database (the last line of the checkpoint log), and (b) by the replay check alone
(tables against the row digests and transitions in the log, no chain check).
"""

from __future__ import annotations

import random
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine
from sqlalchemy.engine import Connection
from sqlalchemy.exc import IntegrityError

from patrolcast.governance import audit
from patrolcast.governance.audit import Checkpoint, entry_hash
from patrolcast.governance.db import open_database
from patrolcast.governance.signing import AuditSigner, read_checkpoint_log
from patrolcast.governance.states import State
from tests.governance import helpers
from tests.governance.helpers import World, make_world, walk_to

KINDS = ("edit", "delete", "insert", "reorder", "truncate", "rechain", "table")
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
HASHED = COLUMNS[1:-1]
TRIGGERS = (
    "audit_log_no_update",
    "audit_log_no_delete",
    "audit_checkpoints_no_update",
    "audit_checkpoints_no_delete",
)


@dataclass(frozen=True)
class Built:
    path: Path
    public_key_pem: str
    outside: Checkpoint  # the newest signed checkpoint, as kept outside the database
    entries: int


def signed_world(
    tmp: Path, name: str = "chain.db", *, url: str | None = None
) -> tuple[World, AuditSigner]:
    """The test world (people, a snapshot) written by a server holding the signing key."""
    signer = AuditSigner.load_or_create(tmp / "keys")
    original = helpers.open_database
    helpers.open_database = lambda u, **kw: open_database(u, signer=signer, **kw)
    try:
        return make_world(url or f"sqlite:///{tmp / name}"), signer
    finally:
        helpers.open_database = original


def build(tmp: Path, *, proposals: int = 4) -> Built:
    """A populated, signed SQLite database at ``tmp/chain.db`` (keys in ``tmp/keys``)."""
    world, signer = signed_world(tmp)
    states = (State.DEBRIEFED, State.REFUSED, State.CANCELLED, State.ACTIVE, State.SUBMITTED)
    for k in range(proposals):
        walk_to(world, states[k % len(states)], offset=5000.0 * k)
    with world.session() as s:
        report = audit.verify(s, public_key_pem=signer.public_key_pem())
        assert report.ok, report.problems
    world.db.dispose()
    assert signer.checkpoint_log is not None
    last = read_checkpoint_log(signer.checkpoint_log)[-1]
    return Built(
        path=tmp / "chain.db",
        public_key_pem=signer.public_key_pem(),
        outside=Checkpoint(seq=last.seq, hash=last.hash, signed=last),
        entries=report.entries,
    )


def connect(path: Path) -> Connection:
    """A raw connection as the attacker (owner) has it, with the append-only triggers dropped."""
    engine = create_engine(f"sqlite:///{path}")
    conn = engine.connect()
    for name in TRIGGERS:
        conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
    conn.commit()
    return conn


def _entries(conn: Connection) -> list[tuple[Any, ...]]:
    return [
        tuple(r)
        for r in conn.exec_driver_sql(f"SELECT {', '.join(COLUMNS)} FROM audit_log ORDER BY seq")
    ]


def mutate_value(rng: random.Random, value: object) -> object:
    if value is None:
        return "x"
    if isinstance(value, bool):
        return not value
    if isinstance(value, int):
        return value + rng.choice([-2, -1, 1, 2, 1000])
    if isinstance(value, float):
        return value + rng.choice([-1.0, 0.5, 1.0])
    text = str(value)
    if not text:
        return "x"
    i = rng.randrange(len(text))
    replacement = rng.choice([c for c in '0123456789abcdefXYZ{}":, ' if c != text[i]])
    return text[:i] + replacement + text[i + 1 :]


def _set_head(conn: Connection, seq: int, digest: str) -> None:
    conn.exec_driver_sql("UPDATE audit_head SET seq = ?, hash = ? WHERE id = 1", (seq, digest))


def _restore_signed_head(conn: Connection, upto: int) -> None:
    """Put back the newest signed checkpoint at or before ``upto`` (as an attacker can: it is a
    valid signature) and delete the newer checkpoint rows."""
    conn.exec_driver_sql("DELETE FROM audit_checkpoints WHERE seq > ?", (upto,))
    row = conn.exec_driver_sql(
        "SELECT seq, hash, at, adopted_seq, unsigned, key_id, signature FROM audit_checkpoints "
        "ORDER BY seq DESC LIMIT 1"
    ).first()
    if row is None:
        conn.exec_driver_sql(
            "UPDATE audit_head SET signed_seq = NULL, signed_hash = NULL, signed_at = NULL, "
            "adopted_seq = NULL, unsigned = NULL, key_id = NULL, signature = NULL"
        )
    else:
        conn.exec_driver_sql(
            "UPDATE audit_head SET signed_seq = ?, signed_hash = ?, signed_at = ?, "
            "adopted_seq = ?, unsigned = ?, key_id = ?, signature = ?",
            tuple(row),
        )


def _rechain(conn: Connection, entries: list[tuple[Any, ...]], start: int, first: dict[str, Any]
             ) -> None:
    """Rewrite entry ``start`` (0-based) with ``first`` and recompute every hash from there."""
    prev = entries[start - 1][-1] if start > 0 else audit.GENESIS
    for i in range(start, len(entries)):
        values = dict(zip(COLUMNS, entries[i], strict=True))
        if i == start:
            values.update(first)
        values["prev_hash"] = prev
        fields = {c: values[c] for c in ("seq", *HASHED)}
        digest = entry_hash(**fields)
        sets = ", ".join(f"{c} = ?" for c in HASHED)
        conn.exec_driver_sql(
            f"UPDATE audit_log SET {sets}, hash = ? WHERE seq = ?",
            (*(values[c] for c in HASHED), digest, values["seq"]),
        )
        prev = digest
    _set_head(conn, entries[-1][0], prev)


def _governed_rows(conn: Connection) -> list[tuple[str, str, list[str]]]:
    from patrolcast.governance.audit_rows import reflect

    out = []
    for name, shape in reflect(conn).items():
        pk = shape.primary_key[0]
        for (ident,) in conn.exec_driver_sql(f'SELECT "{pk}" FROM "{name}"'):
            out.append((name, f"{pk} = {int(ident)}", list(shape.columns)))
    return out


def tamper(conn: Connection, kind: str, rng: random.Random) -> str:
    """Apply one random attack of ``kind``; return a variant label."""
    entries = _entries(conn)
    n = len(entries)
    if kind == "edit":
        e = rng.choice(entries)
        col = rng.choice(COLUMNS)
        new = mutate_value(rng, e[COLUMNS.index(col)])
        if col == "seq":
            taken = {x[0] for x in entries}
            while new in taken:
                new = int(new) + 1  # type: ignore[call-overload]
        conn.exec_driver_sql(f"UPDATE audit_log SET {col} = ? WHERE seq = ?", (new, e[0]))
        return f"edit:{col}"
    if kind == "delete":
        e = rng.choice(entries) if rng.random() < 0.5 else entries[-1]
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq = ?", (e[0],))
        if e[0] == n:
            prev = entries[-2]
            _set_head(conn, prev[0], prev[-1])
            _restore_signed_head(conn, prev[0])
            return "delete:last+head"
        return "delete"
    if kind == "insert":
        p = rng.randint(1, n)
        prev_hash = entries[p - 2][-1] if p > 1 else audit.GENESIS
        for seq in range(n, p - 1, -1):
            conn.exec_driver_sql("UPDATE audit_log SET seq = ? WHERE seq = ?", (seq + 1, seq))
        forged = {
            "seq": p,
            "recorded_at": entries[p - 1][1],
            "actor": "acc1",
            "action": "authorise",
            "target_type": "proposal",
            "target_id": "1",
            "outcome": "done",
            "detail": '{"forged":true}',
            "prev_hash": prev_hash,
        }
        digest = entry_hash(**forged)
        conn.exec_driver_sql(
            f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
            (*forged.values(), digest),
        )
        return "insert"
    if kind == "reorder":
        i, j = rng.sample(range(1, n + 1), 2)
        conn.exec_driver_sql("UPDATE audit_log SET seq = -1 WHERE seq = ?", (i,))
        conn.exec_driver_sql("UPDATE audit_log SET seq = ? WHERE seq = ?", (i, j))
        conn.exec_driver_sql("UPDATE audit_log SET seq = ? WHERE seq = -1", (j,))
        return "reorder"
    if kind == "truncate":
        k = rng.randint(0, n - 1)
        conn.exec_driver_sql("DELETE FROM audit_log WHERE seq > ?", (k,))
        last = entries[k - 1] if k > 0 else None
        _set_head(conn, last[0] if last else 0, last[-1] if last else audit.GENESIS)
        _restore_signed_head(conn, k)
        return "truncate+head"
    if kind == "rechain":
        start = rng.randrange(n)
        col = rng.choice(("actor", "detail", "target_id", "recorded_at"))
        new = mutate_value(rng, entries[start][COLUMNS.index(col)])
        _rechain(conn, entries, start, {col: new})
        conn.exec_driver_sql(
            "UPDATE audit_checkpoints SET hash = (SELECT hash FROM audit_log "
            "WHERE audit_log.seq = audit_checkpoints.seq)"
        )
        if rng.random() < 0.5:
            conn.exec_driver_sql("DELETE FROM audit_checkpoints")
            _restore_signed_head(conn, 0)
            return f"rechain:{col}+unsigned"
        conn.exec_driver_sql("UPDATE audit_head SET signed_hash = hash")
        return f"rechain:{col}"
    if kind == "table":
        candidates = _governed_rows(conn)
        for _ in range(50):  # an edit the constraints refuse is no attack: pick another
            name, where, cols = rng.choice(candidates)
            col = rng.choice([c for c in cols if c != "id"])
            (value,) = conn.exec_driver_sql(f'SELECT "{col}" FROM "{name}" WHERE {where}').one()
            try:
                conn.exec_driver_sql(
                    f'UPDATE "{name}" SET "{col}" = ? WHERE {where}', (mutate_value(rng, value),)
                )
            except IntegrityError:
                continue
            return f"table:{name}.{col}"
        raise AssertionError("no governed row could be edited")
    raise ValueError(kind)


def run_cases(built: Built, kind: str, n_cases: int, seed: int) -> Counter[str]:
    """Apply ``n_cases`` attacks of ``kind`` (each rolled back); count detections."""
    rng = random.Random(seed)
    tally: Counter[str] = Counter()
    conn = connect(built.path)
    try:
        assert audit.verify(conn, public_key_pem=built.public_key_pem, checkpoint=built.outside).ok
        conn.rollback()
        for _ in range(n_cases):
            trans = conn.begin()
            variant = tamper(conn, kind, rng)
            full = audit.verify(conn, public_key_pem=built.public_key_pem, checkpoint=built.outside)
            in_db = audit.verify(conn, public_key_pem=built.public_key_pem)
            chain_only = audit.verify(conn, rows=False)
            replay_only = audit.verify(conn, chain=False)
            trans.rollback()
            tally["cases"] += 1
            tally["detected"] += int(not full.ok)
            tally["detected_without_outside_checkpoint"] += int(not in_db.ok)
            tally["detected_by_unkeyed_chain"] += int(not chain_only.ok)
            tally["detected_by_replay"] += int(not replay_only.ok)
            tally[variant] += 1
            if full.ok:
                tally["missed:" + variant] += 1
        assert audit.verify(conn, public_key_pem=built.public_key_pem, checkpoint=built.outside).ok
    finally:
        conn.close()
        conn.engine.dispose()
    return tally
