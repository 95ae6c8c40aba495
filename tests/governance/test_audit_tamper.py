"""Tamper tests: random attacks on the audit record by someone with owner rights, all detected.

See :mod:`tests.governance.audit_attacks` for the seven kinds (edit, delete, insert, reorder,
truncate with the signed head restored, rewrite-and-rechain, edit of a governed table only).
Each case runs in a transaction on a raw connection with the append-only triggers dropped and is
rolled back. Detection is asserted with the server's public key and the newest signed checkpoint
kept outside the database; the unkeyed chain alone and the replay check alone are asserted where
they must hold (a mutation of either check fails these tests).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine

from patrolcast.governance import audit
from patrolcast.governance.audit import Checkpoint, entry_hash
from tests.governance.audit_attacks import (
    COLUMNS,
    HASHED,
    KINDS,
    Built,
    build,
    connect,
    run_cases,
)


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Built:
    return build(tmp_path_factory.mktemp("tamper"))


@pytest.mark.parametrize("kind", KINDS)
def test_every_attack_is_detected_with_the_signed_checkpoint(built: Built, kind: str) -> None:
    tally = run_cases(built, kind, 30, seed=KINDS.index(kind))
    assert tally["detected"] == tally["cases"] == 30, tally
    if kind in ("edit", "insert", "reorder"):  # the unkeyed chain alone catches these
        assert tally["detected_by_unkeyed_chain"] == 30, tally
    if kind == "table":  # the log is intact: only the replay sees a table edit
        assert tally["detected_by_unkeyed_chain"] == 0
        assert tally["detected_by_replay"] == 30, tally
    if kind == "rechain":  # a consistent rewrite fools the unkeyed chain every time
        assert tally["detected_by_unkeyed_chain"] == 0


@pytest.mark.slow
@pytest.mark.parametrize("kind", KINDS)
def test_every_attack_is_detected_1000_each(built: Built, kind: str) -> None:
    tally = run_cases(built, kind, 1000, seed=100 + KINDS.index(kind))
    assert tally["detected"] == tally["cases"] == 1000, tally


def _rows(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    cols = ", ".join(COLUMNS)
    return [
        dict(zip(COLUMNS, r, strict=True))
        for r in conn.execute(f"SELECT {cols} FROM audit_log ORDER BY seq")
    ]


def _rehash(row: dict[str, Any]) -> str:
    return entry_hash(**{c: row[c] for c in ("seq", *HASHED)})


def _copy(built: Built, tmp_path: Path) -> sqlite3.Connection:
    dst = tmp_path / "copy.db"
    with sqlite3.connect(built.path) as a, sqlite3.connect(dst) as b:
        a.backup(b)
    attacker = connect(dst)  # drops the triggers, as an owner can
    attacker.close()
    attacker.engine.dispose()
    return sqlite3.connect(dst, isolation_level=None)


def _verify(path: Path, **kw: object) -> audit.VerifyReport:
    engine = create_engine(f"sqlite:///{path}")
    try:
        with engine.connect() as conn:
            return audit.verify(conn, **kw)  # type: ignore[arg-type]
    finally:
        engine.dispose()


def test_edit_with_its_own_hash_recomputed_breaks_the_next_link(
    built: Built, tmp_path: Path
) -> None:
    conn = _copy(built, tmp_path)
    rows = _rows(conn)
    victim = rows[len(rows) // 2]
    victim["actor"] = "acc2"
    conn.execute(
        "UPDATE audit_log SET actor = ?, hash = ? WHERE seq = ?",
        (victim["actor"], _rehash(victim), victim["seq"]),
    )
    conn.close()
    path = tmp_path / "copy.db"
    blind = _verify(path, rows=False)  # no key, no checkpoint, no replay: the link check alone
    assert not blind.ok
    assert any(f"seq {int(victim['seq']) + 1}: prev_hash" in p for p in blind.problems)
    assert not any("content does not match" in p for p in blind.problems)
    keyed = _verify(path, public_key_pem=built.public_key_pem, checkpoint=built.outside)
    assert not keyed.ok


def test_a_rewritten_chain_verifies_without_a_key_and_fails_with_one(
    built: Built, tmp_path: Path
) -> None:
    conn = _copy(built, tmp_path)
    rows = _rows(conn)
    prev = audit.GENESIS
    for i, row in enumerate(rows):
        if i == 3:
            row["actor"] = "acc2"  # the forger's change
        row["prev_hash"] = prev
        row["hash"] = prev = _rehash(row)
        conn.execute(
            "UPDATE audit_log SET actor = ?, prev_hash = ?, hash = ? WHERE seq = ?",
            (row["actor"], row["prev_hash"], row["hash"], row["seq"]),
        )
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (rows[-1]["seq"], prev))
    conn.execute("DELETE FROM audit_checkpoints")
    conn.execute("UPDATE audit_head SET signed_seq = NULL, signature = NULL")
    conn.close()
    path = tmp_path / "copy.db"
    # the unkeyed chain and the replay cannot tell (entry 3 wrote no governed row)
    assert _verify(path).ok
    keyed = _verify(path, public_key_pem=built.public_key_pem)
    assert not keyed.ok
    assert any("were not written by the server" in p for p in keyed.problems)
    outside = _verify(path, checkpoint=built.outside)
    assert not outside.ok and any("differs from the checkpoint" in p for p in outside.problems)


def test_a_forged_entry_after_the_newest_signed_checkpoint_is_reported(
    built: Built, tmp_path: Path
) -> None:
    conn = _copy(built, tmp_path)
    last = _rows(conn)[-1]
    forged: dict[str, Any] = {
        "seq": int(last["seq"]) + 1, "recorded_at": last["recorded_at"], "actor": "acc1",
        "action": "read", "target_type": "proposal", "target_id": "1", "outcome": "read",
        "detail": "{}", "prev_hash": last["hash"],
    }
    forged["hash"] = _rehash(forged)
    conn.execute(
        f"INSERT INTO audit_log ({', '.join(COLUMNS)}) VALUES (?,?,?,?,?,?,?,?,?,?)",
        tuple(forged[c] for c in COLUMNS),
    )
    conn.execute("UPDATE audit_head SET seq = ?, hash = ?", (forged["seq"], forged["hash"]))
    conn.close()
    path = tmp_path / "copy.db"
    assert _verify(path).ok  # a correctly chained forgery: unkeyed verification passes
    keyed = _verify(path, public_key_pem=built.public_key_pem)
    assert not keyed.ok
    assert (
        f"1 entries after the last signed checkpoint (seq {last['seq']}) were not written by "
        "the server" in keyed.problems
    )


def test_truncation_with_the_old_signed_head_restored_is_caught_from_outside(
    built: Built, tmp_path: Path
) -> None:
    conn = _copy(built, tmp_path)
    keep = built.entries - 4
    conn.execute("DELETE FROM audit_log WHERE seq > ?", (keep,))
    conn.execute("DELETE FROM audit_checkpoints WHERE seq > ?", (keep,))
    row = conn.execute(
        "SELECT seq, hash, at, adopted_seq, unsigned, key_id, signature FROM audit_checkpoints "
        "WHERE seq = ?", (keep,)
    ).fetchone()
    conn.execute(
        "UPDATE audit_head SET seq = ?, hash = ?, signed_seq = ?, signed_hash = ?, signed_at = ?,"
        " adopted_seq = ?, unsigned = ?, key_id = ?, signature = ?",
        (row[0], row[1], *row),
    )
    conn.close()
    path = tmp_path / "copy.db"
    inside = _verify(path, public_key_pem=built.public_key_pem, rows=False)
    assert inside.ok  # a consistent older state of the database, validly signed
    cp = _verify(path, public_key_pem=built.public_key_pem, checkpoint=built.outside)
    assert not cp.ok and any("is missing" in p for p in cp.problems)
    assert isinstance(built.outside, Checkpoint) and built.outside.signed is not None
    logged = _verify(
        path, public_key_pem=built.public_key_pem, checkpoint_log=[built.outside.signed]
    )
    assert not logged.ok and any("beyond the end of the chain" in p for p in logged.problems)
