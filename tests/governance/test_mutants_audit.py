"""Sharp tests of the tamper-evident record (audit.py, audit_rows.py, signing.py).

Written from the survivors of the governance-audit mutation run (scripts/mutation.sh): each test
names the rule it protects and checks real behaviour, mostly on hand-built chains and exports
(no database) so that each runs well under a second.
"""

from __future__ import annotations

import json
import sqlite3
import tempfile
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from patrolcast.errors import InputError
from patrolcast.governance import audit
from patrolcast.governance.audit import GENESIS, AuditRecord, Checkpoint, entry_hash
from patrolcast.governance.signing import (
    AuditSigner,
    SignedCheckpoint,
    load_public_key_file,
    verify_checkpoint,
)

AT = "2026-06-01T12:00:00.000000+00:00"


def _chain(n: int, *, start: int = 1, prev: str = GENESIS) -> list[AuditRecord]:
    """``n`` correctly linked entries from seq ``start`` (a chain built by hand, no database)."""
    out = []
    for seq in range(start, start + n):
        fields: dict[str, Any] = {
            "seq": seq,
            "recorded_at": AT,
            "actor": "ana",
            "action": "read",
            "target_type": "proposal",
            "target_id": str(seq),
            "outcome": "read",
            "detail": json.dumps({"n": seq}),
            "prev_hash": prev,
        }
        prev = entry_hash(**fields)
        out.append(AuditRecord(**fields, hash=prev))
    return out


def _export(
    tmp_path: Path,
    signer: AuditSigner,
    entries: list[AuditRecord],
    *,
    since: int = 0,
    unsigned: int = 0,
    name: str = "export.json",
) -> Path:
    """An export file of ``entries`` whose checkpoint covers the last one, signed by ``signer``."""
    last = entries[-1]
    signed = signer.sign_checkpoint(last.seq, last.hash, AT, unsigned=unsigned)
    cp = Checkpoint(seq=last.seq, hash=last.hash, exported_at=AT, signed=signed)
    doc = audit.export_document(
        [e.to_dict() for e in entries], cp, since=since, public_key_pem=signer.public_key_pem()
    )
    path = tmp_path / name
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


@pytest.fixture()
def signer(tmp_path: Path) -> AuditSigner:
    return AuditSigner.load_or_create(tmp_path / "keys", checkpoint_log=False)


_TEMPLATE: list[Path] = []


@pytest.fixture()
def w(tmp_path: Path) -> Iterator[Any]:
    """The test world (people, a snapshot) copied from a database prepared once (fast)."""
    from patrolcast.governance.clock import FixedClock
    from patrolcast.governance.db import open_database
    from tests.governance.helpers import T0, World, make_world, sqlite_url

    if not _TEMPLATE:
        tmp = Path(tempfile.mkdtemp(prefix="gov-mut-audit-"))
        make_world(sqlite_url(tmp, "template.db"), FixedClock(T0)).db.dispose()
        _TEMPLATE.append(tmp / "template.db")
    path = tmp_path / "gov.db"
    with sqlite3.connect(_TEMPLATE[0]) as a, sqlite3.connect(path) as b:
        a.backup(b)
    db = open_database(f"sqlite:///{path}", create=False, sqlite_synchronous="OFF")
    yield World(db=db, clock=FixedClock(T0), snapshot_id=1)
    db.dispose()


def _raw(world: Any, sql: str) -> None:
    """One statement straight to the database file (an insider; the log untouched)."""
    from sqlalchemy import create_engine

    engine = create_engine(str(world.db.engine.url))
    with engine.begin() as conn:
        conn.exec_driver_sql(sql)
    engine.dispose()


def test_a_public_key_file_with_non_ascii_bytes_is_refused_as_input(tmp_path: Path) -> None:
    """A wrong file given as the public key (non-ASCII text) is bad input, never a crash."""
    pem = AuditSigner.load_or_create(tmp_path / "keys").public_key_pem()
    for junk in ("é", "\u2014", "\ufffd"):
        path = tmp_path / "key.pem"
        path.write_bytes((pem[:40] + junk + pem[40:]).encode("utf-8"))
        with pytest.raises(InputError, match="not a PEM public key"):
            load_public_key_file(path)
    path.write_bytes(b"\xff\xfe" + pem.encode("ascii"))
    with pytest.raises(InputError, match="not a PEM public key"):
        load_public_key_file(path)


def test_a_checkpoint_line_without_the_counters_reads_them_as_zero(signer: AuditSigner) -> None:
    """A checkpoint written before ``adopted_seq``/``unsigned`` existed: both are 0, so its
    signature (made over zeros) still verifies."""
    cp = signer.sign_checkpoint(3, "ab" * 32, AT)
    raw = cp.to_dict()
    del raw["adopted_seq"], raw["unsigned"]
    back = SignedCheckpoint.from_dict(raw)
    assert (back.adopted_seq, back.unsigned) == (0, 0)
    assert back == cp and verify_checkpoint(back, signer.public_key_pem())


def test_an_export_whose_checkpoint_names_another_hash_says_so(
    tmp_path: Path, signer: AuditSigner
) -> None:
    """The export's checkpoint is checked against the entry at its seq, not only the last one."""
    entries = _chain(5)
    path = _export(tmp_path, signer, entries)
    assert audit.verify_export(path, signer.public_key_pem()).ok
    doc = json.loads(path.read_text())
    doc["checkpoint"]["hash"] = doc["checkpoint"]["signed"]["hash"] = "cd" * 32
    path.write_text(json.dumps(doc))
    report = audit.verify_export(path, signer.public_key_pem())
    assert not report.ok
    assert "seq 5: hash differs from the checkpoint" in report.problems
    assert "the checkpoint (seq 5) does not cover the last entry (seq 5)" in report.problems


def test_an_export_reports_at_most_fifty_problems(tmp_path: Path, signer: AuditSigner) -> None:
    """However tampered an export is, the report lists its first 50 problems (it stays
    readable); it is not ok."""
    entries = _chain(60)
    path = _export(tmp_path, signer, entries)
    doc = json.loads(path.read_text())
    for e in doc["entries"]:
        e["actor"] = "acc2"  # every entry edited: 60 content problems
    doc["checkpoint"].pop("signed")  # and one more: the checkpoint is not signed
    path.write_text(json.dumps(doc))
    report = audit.verify_export(path, signer.public_key_pem())
    assert not report.ok and len(report.problems) == 50
    assert report.entries <= 60


def test_two_processes_creating_the_key_at_once_both_use_the_first_one(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Key creation races: the process that loses (its O_EXCL open fails) loads the winner's
    key from the same folder instead of failing or making a second key."""
    from patrolcast.governance import signing

    keys = tmp_path / "keys"
    winner_dir = tmp_path / "winner"
    winner = AuditSigner.load_or_create(winner_dir, checkpoint_log=False)
    real_generate = signing.Ed25519PrivateKey.generate

    def generate_after_the_other_process() -> Any:
        # the other process writes its key between our "no key yet" check and our open
        (keys / signing.KEY_NAME).write_bytes((winner_dir / signing.KEY_NAME).read_bytes())
        (keys / signing.KEY_NAME).chmod(0o600)
        return real_generate()

    monkeypatch.setattr(signing.Ed25519PrivateKey, "generate", generate_after_the_other_process)
    loser = AuditSigner.load_or_create(keys)
    assert loser.key_id == winner.key_id
    assert loser.checkpoint_log == keys / signing.CHECKPOINT_LOG_NAME


def test_the_schema_is_reflected_once_per_session_not_per_entry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Describing the rows of each audited write reuses the session's reflected schema: the
    tables are inspected once per session, however many entries it appends."""
    from patrolcast.governance import audit_rows
    from patrolcast.governance.clock import FixedClock
    from patrolcast.governance.db import open_database
    from patrolcast.governance.roles import Role, RoleSpec, add_person
    from tests.governance.helpers import T0

    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    clock = FixedClock(T0)
    calls: list[int] = []
    real = audit_rows.reflect

    def counting(conn: Any) -> Any:
        calls.append(1)
        return real(conn)

    monkeypatch.setattr(audit_rows, "reflect", counting)
    with db.session() as s:
        for name in ("admin", "ana", "bob", "cat"):
            role = Role.ADMINISTRATOR if name == "admin" else Role.ANALYST
            add_person(s, actor="admin", username=name, roles=[RoleSpec(role)], clock=clock)
        entries = audit.read_entries(s)
    assert len(entries) >= 4 and all("rows" in e.detail_dict for e in entries)
    assert len(calls) == 1
    db.dispose()


def test_a_transaction_that_wrote_nothing_commits(tmp_path: Path) -> None:
    """A read-only transaction (no flush, no audit entry) commits cleanly: clearing the
    pending-rows list after a commit never assumes there was one."""
    from sqlalchemy import text

    from patrolcast.governance.db import open_database

    db = open_database(f"sqlite:///{tmp_path / 'g.db'}")
    with db.session() as s:
        s.execute(text("SELECT 1"))
        s.commit()
        assert audit.read_entries(s) == []
        s.commit()
    db.dispose()


def test_a_third_party_verifies_a_checkpoint_from_the_documented_message(
    signer: AuditSigner,
) -> None:
    """The signed message is the canonical JSON (sorted keys, no spaces, UTF-8 text kept, not
    escaped) of the domain and the checkpoint's fields: a verifier outside patrolcast rebuilds
    it and checks the Ed25519 signature with the public key alone."""
    import base64

    from cryptography.hazmat.primitives.serialization import load_pem_public_key

    public = load_pem_public_key(signer.public_key_pem().encode("ascii"))
    for at in (AT, "2026-06-01 12:00 heure d\u2019\u00e9t\u00e9"):
        cp = signer.sign_checkpoint(9, "ab" * 32, at, adopted_seq=2, unsigned=1)
        body = {
            "adopted_seq": 2,
            "at": at,
            "domain": "patrolcast-audit-checkpoint/v1",
            "hash": "ab" * 32,
            "key_id": signer.key_id,
            "seq": 9,
            "unsigned": 1,
        }
        message = (
            "{"
            + ",".join(
                f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}" for k, v in body.items()
            )
            + "}"
        ).encode("utf-8")
        public.verify(base64.b64decode(cp.signature), message)  # type: ignore[union-attr, call-arg]


def test_denied_lifecycle_attempts_do_not_change_what_the_replay_expects(w: Any) -> None:
    """Only ``done`` transitions move a proposal in the replay: a denied authorisation (or
    proposal) by someone else leaves the expected authoriser, window and version alone."""
    from patrolcast.governance import service
    from patrolcast.governance.states import State
    from tests.governance.helpers import authorisation, details, walk_to

    pid = walk_to(w, State.AUTHORISED)
    with w.session() as s:
        with pytest.raises(Exception, match="cannot authorise"):
            service.authorise(
                s, actor="acc2", clock=w.clock, proposal_id=pid, details=authorisation(w)
            )
        with pytest.raises(Exception, match="propose"):
            service.propose(s, actor="cat", clock=w.clock, details=details(w))
        entries = audit.read_entries(s)
        assert [e.outcome for e in entries[-2:]] == ["denied", "denied"]
        report = audit.verify(s)
    assert report.ok, report.problems


def test_an_extension_moves_the_expected_end_and_count(w: Any) -> None:
    """The replay follows extensions: an extended proposal verifies, and its end or count put
    back in the table is named against the log's transitions."""
    from patrolcast.governance import service
    from patrolcast.governance.states import State
    from patrolcast.governance.values import ExtensionDetails
    from tests.governance.helpers import ndm, walk_to

    pid = walk_to(w, State.ACTIVE)
    with w.session() as s:
        view = service.read_proposal(s, actor="aud", clock=w.clock, proposal_id=pid)
        assert view.authorised_end is not None
        service.extend(
            s,
            actor="acc2",
            clock=w.clock,
            proposal_id=pid,
            details=ExtensionDetails(
                view.authorised_end + timedelta(hours=1), "Further stabbing.", ndm()
            ),
        )
        assert audit.verify(s).ok
    _raw(w, f"UPDATE proposals SET extensions_used = 0 WHERE id = {pid}")
    with w.session() as s:
        problems = audit.verify(s).problems
    assert any(
        p.startswith(f"proposals/{pid}: extensions_used is 0 but") and p.endswith("give 1")
        for p in problems
    ), problems


def test_rows_of_a_table_no_longer_governed_are_not_reported_missing(w: Any) -> None:
    """A table registered as ungoverned after its rows were logged: those rows are no longer
    compared, so their removal is not reported (the table name is the key's part before '/')."""
    from datetime import UTC, datetime

    from patrolcast.governance.audit_rows import UNGOVERNED_TABLES, register_ungoverned

    _raw(w, "CREATE TABLE scratch_notes (id INTEGER PRIMARY KEY, note TEXT)")
    _raw(w, "INSERT INTO scratch_notes (id, note) VALUES (1, 'x')")
    with w.db.engine.begin() as conn:
        audit.append_baseline(
            conn, actor="admin", reason="new table", now=datetime(2026, 6, 1, 13, tzinfo=UTC)
        )
    _raw(w, "DELETE FROM scratch_notes")
    with w.session() as s:
        problems = audit.verify(s).problems
    assert len(problems) == 1 and problems[0].startswith("scratch_notes/1: missing, but the log")
    register_ungoverned("scratch_notes")
    try:
        with w.session() as s:
            report = audit.verify(s)
        assert report.ok, report.problems
    finally:
        UNGOVERNED_TABLES.discard("scratch_notes")


def _copy_proposal(world: Any, src: int, new_id: int) -> None:
    """Insert a copy of proposal ``src`` as ``new_id`` straight into the table (no log)."""
    from sqlalchemy import create_engine

    engine = create_engine(str(world.db.engine.url))
    with engine.begin() as conn:
        cols = [r[1] for r in conn.exec_driver_sql("PRAGMA table_info(proposals)")]
        rest = [c for c in cols if c != "id"]
        conn.exec_driver_sql(
            f"INSERT INTO proposals (id, {', '.join(rest)}) "
            f"SELECT {new_id}, {', '.join(rest)} FROM proposals WHERE id = {src}"
        )
    engine.dispose()


def test_a_proposal_without_a_propose_entry_does_not_hide_later_ones(w: Any) -> None:
    """Each proposal is compared with its transitions: one that the log never proposed is
    named, and the proposals after it are still checked."""
    from patrolcast.governance.states import State
    from tests.governance.helpers import walk_to

    pid = walk_to(w, State.SUBMITTED)
    _copy_proposal(w, pid, 0)  # before it in the table's order
    _raw(w, f"UPDATE proposals SET state = 'consulted' WHERE id = {pid}")
    with w.session() as s:
        problems = audit.verify(s).problems
    assert "proposals/0: no propose entry in the log for this proposal" in problems
    assert any(p.startswith(f"proposals/{pid}: state is 'consulted' but") for p in problems), (
        problems
    )


def test_a_field_the_log_says_is_unset_is_named_when_set(w: Any) -> None:
    """A cancellation time (or an authorised window) written into a proposal the log never
    cancelled (or authorised) is named as that field, not only as a changed row."""
    from patrolcast.governance.states import State
    from tests.governance.helpers import walk_to

    pid = walk_to(w, State.SUBMITTED)
    _raw(
        w,
        f"UPDATE proposals SET cancelled_at = '2026-06-01 13:00:00.000000', "
        f"authorised_end = '2026-06-01 18:00:00.000000' WHERE id = {pid}",
    )
    with w.session() as s:
        problems = audit.verify(s).problems
    for name in ("cancelled_at", "authorised_end"):
        assert any(
            p.startswith(f"proposals/{pid}: {name} is ") and p.endswith("give None")
            for p in problems
        ), (name, problems)


def test_a_head_signature_other_than_the_newest_checkpoint_row_is_reported(
    tmp_path: Path,
) -> None:
    """Without the key, the head's signed checkpoint must still be the newest row of
    audit_checkpoints: the same seq with another signature is reported."""
    from tests.governance.audit_attacks import TRIGGERS, signed_world

    world, _signer = signed_world(tmp_path)
    with world.session() as s:
        assert audit.verify(s).ok
    with world.db.engine.begin() as conn:
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("UPDATE audit_head SET signature = 'AAAA' WHERE id = 1")
    with world.session() as s:
        problems = audit.verify(s).problems
    assert problems == ("the head's signed checkpoint is not the newest in audit_checkpoints",)
    world.db.dispose()


def test_a_truncated_chain_under_a_newer_signed_head_is_named(tmp_path: Path) -> None:
    """The newest entry deleted and the head row moved back, its signature left: the head's
    signed checkpoint is named as not in the chain (rewritten or truncated)."""
    from tests.governance.audit_attacks import TRIGGERS, signed_world

    world, signer = signed_world(tmp_path)
    with world.session() as s:
        entries = audit.read_entries(s)
    last, prev = entries[-1], entries[-2]
    with world.db.engine.begin() as conn:
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql(f"DELETE FROM audit_log WHERE seq = {last.seq}")
        conn.exec_driver_sql(
            f"UPDATE audit_head SET seq = {prev.seq}, hash = '{prev.hash}' WHERE id = 1"
        )
    with world.session() as s:
        problems = audit.verify(s, public_key_pem=signer.public_key_pem()).problems
    assert (
        f"the head's signed checkpoint (seq {last.seq}) is not in the chain (rewritten or "
        "truncated)"
    ) in problems
    assert (
        f"signed checkpoint seq {last.seq} is beyond the end of the chain (seq {prev.seq}): "
        "truncated"
    ) in problems
    world.db.dispose()


def test_a_checkpoint_file_signed_by_another_key_is_reported(tmp_path: Path) -> None:
    """A checkpoint kept outside (a file) naming the right seq and hash but signed by another
    key is reported: its signature is checked, not only its position."""
    from tests.governance.audit_attacks import signed_world

    world, signer = signed_world(tmp_path)
    forger = AuditSigner.load_or_create(tmp_path / "forger", checkpoint_log=False)
    with world.session() as s:
        head = audit.checkpoint(s)
        forged = forger.sign_checkpoint(head.seq, head.hash, AT)
        cp = Checkpoint(seq=head.seq, hash=head.hash, signed=forged)
        report = audit.verify(s, checkpoint=cp, public_key_pem=signer.public_key_pem())
        assert audit.verify(s, checkpoint=head, public_key_pem=signer.public_key_pem()).ok
    assert report.problems == (
        f"checkpoint file: signature invalid (or another key) at seq {head.seq}",
    )
    world.db.dispose()


def test_rows_checked_counts_only_a_replay_that_ran(w: Any) -> None:
    """``rows_checked`` is the number of rows compared: 0 when the row check is off."""
    with w.session() as s:
        assert audit.verify(s, rows=False).rows_checked == 0
        full = audit.verify(s)
        n = len(audit_rows_current(s))
    assert full.rows_checked == n > 0


def audit_rows_current(session: Any) -> dict[str, str]:
    from patrolcast.governance.audit_rows import current_digests

    return current_digests(session.connection())


def test_a_missing_head_row_is_named(w: Any) -> None:
    """Deleting the audit_head row (owner rights) is reported as such."""
    _raw(w, "DELETE FROM audit_head")
    with w.session() as s:
        problems = audit.verify(s).problems
    assert "audit_head row is missing" in problems


def test_a_mapped_table_declared_ungoverned_is_left_out_of_the_replay(w: Any) -> None:
    """``__table_args__ = {"info": {"governed": False}}`` on a mapped table keeps its rows out
    of the comparison, though the reflection that finds the table carries no info."""
    from sqlalchemy import Column, Integer, Table, Text

    from patrolcast.governance.audit_rows import is_governed, reflect
    from patrolcast.governance.models import Base

    t = Table(
        "scratch_cache",
        Base.metadata,
        Column("id", Integer, primary_key=True),
        Column("note", Text),
        info={"governed": False},
    )
    try:
        _raw(w, "CREATE TABLE scratch_cache (id INTEGER PRIMARY KEY, note TEXT)")
        _raw(w, "INSERT INTO scratch_cache (id, note) VALUES (1, 'x')")
        assert not is_governed("scratch_cache")
        with w.session() as s:
            assert "scratch_cache" not in reflect(s.connection())
            report = audit.verify(s)
        assert report.ok, report.problems
    finally:
        Base.metadata.remove(t)
    assert is_governed("scratch_cache")


def test_an_entry_hash_is_sha256_of_the_documented_canonical_json() -> None:
    """A third party recomputes an entry's hash from the documented field names."""
    import hashlib

    fields: dict[str, Any] = {
        "seq": 3,
        "recorded_at": AT,
        "actor": "ana",
        "action": "read",
        "target_type": "proposal",
        "target_id": "7",
        "outcome": "read",
        "detail": "{}",
        "prev_hash": GENESIS,
    }
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry_hash(**fields) == hashlib.sha256(body.encode("utf-8")).hexdigest()


def test_naive_audit_times_are_refused_and_unkeyed_checks_say_so(w: Any) -> None:
    from datetime import datetime

    with w.session() as s:
        with pytest.raises(ValueError, match="^audit times must be aware$"):
            audit.append(
                s,
                actor="aud",
                action="read",
                target_type="x",
                target_id=1,
                outcome="read",
                detail={},
                now=datetime(2026, 6, 1, 12),
            )
        s.rollback()
        assert audit.verify(s).notes == ("signatures not checked: give the server's public key",)


def test_rows_with_a_composite_key_are_described(w: Any) -> None:
    from patrolcast.governance.audit_rows import DELETED, describe

    _raw(w, "CREATE TABLE pairs (a INTEGER, b TEXT, note TEXT, PRIMARY KEY (a, b))")
    _raw(w, "INSERT INTO pairs (a, b, note) VALUES (1, 'x', 'n')")
    with w.db.engine.connect() as conn:
        out = describe(conn, [("pairs", "1,x"), ("pairs", "2,y")])
    assert out["pairs/2,y"] == DELETED and len(out["pairs/1,x"]) == 64


def test_a_head_checkpoint_altered_without_the_key_is_not_carried_forward(
    tmp_path: Path,
) -> None:
    """The server signs its next checkpoint from the newest one that still verifies: counters
    changed in the head row (its signature left) are ignored, not signed into the next one."""
    from sqlalchemy import text

    from patrolcast.governance import service
    from tests.governance.audit_attacks import TRIGGERS, signed_world

    world, signer = signed_world(tmp_path)
    pem = signer.public_key_pem()
    with world.db.engine.begin() as conn:
        genuine = conn.execute(
            text("SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")
        ).first()
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("UPDATE audit_head SET unsigned = 7, adopted_seq = 3 WHERE id = 1")
    assert genuine is not None
    with world.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
    with world.db.engine.begin() as conn:
        newest = conn.execute(
            text("SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")
        ).first()
    assert newest is not None and newest[0] == genuine[0] + 1
    assert (newest[1], newest[2]) == (genuine[1], genuine[2])
    with world.session() as s:
        assert audit.verify(s, public_key_pem=pem).ok
    world.db.dispose()


def test_the_checkpoint_of_an_empty_log_reads_back() -> None:
    """An empty log's checkpoint is seq 0 at the genesis hash; read back, it is the same."""
    empty = Checkpoint(seq=0, hash=GENESIS)
    assert Checkpoint.from_json(empty.to_json()) == empty
    with pytest.raises(InputError, match="negative seq"):
        Checkpoint.from_dict({"seq": -1, "hash": GENESIS})


# --- behaviour classes on a bare audit database in memory (no world, no migrations) -----------

_HEAD_COLS = (
    "id, seq, hash, signed_seq, signed_hash, signed_at, adopted_seq, unsigned, key_id, signature"
)


def _bare(
    entries: list[AuditRecord],
    *,
    head: tuple[int, str] | None | bool = True,
    table: tuple[SignedCheckpoint, ...] = (),
    head_cp: SignedCheckpoint | None = None,
) -> Any:
    """A connection to an in-memory database holding only the three audit tables: ``entries``,
    the head row (at the last entry unless given; none when ``head=None``), the signed
    checkpoints of ``table`` and the head's signed checkpoint ``head_cp``."""
    from sqlalchemy import create_engine

    conn = create_engine("sqlite://").connect()
    conn.exec_driver_sql(
        "CREATE TABLE audit_log (seq INTEGER PRIMARY KEY, recorded_at TEXT, actor TEXT, "
        "action TEXT, target_type TEXT, target_id TEXT, outcome TEXT, detail TEXT, "
        "prev_hash TEXT, hash TEXT)"
    )
    conn.exec_driver_sql(
        "CREATE TABLE audit_head (id INTEGER PRIMARY KEY, seq INTEGER, hash TEXT, "
        "signed_seq INTEGER, signed_hash TEXT, signed_at TEXT, adopted_seq INTEGER, "
        "unsigned INTEGER, key_id TEXT, signature TEXT)"
    )
    conn.exec_driver_sql(
        "CREATE TABLE audit_checkpoints (seq INTEGER, hash TEXT, at TEXT, key_id TEXT, "
        "adopted_seq INTEGER, unsigned INTEGER, signature TEXT)"
    )
    for e in entries:
        conn.exec_driver_sql(
            "INSERT INTO audit_log VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            tuple(e.to_dict().values()),
        )
    if head is not None:
        if head is True:
            head = (entries[-1].seq, entries[-1].hash) if entries else (0, GENESIS)
        c = head_cp
        conn.exec_driver_sql(
            f"INSERT INTO audit_head ({_HEAD_COLS}) VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                head[0],
                head[1],
                *(
                    (c.seq, c.hash, c.at, c.adopted_seq, c.unsigned, c.key_id, c.signature)
                    if c
                    else (None,) * 7
                ),
            ),
        )
    for cp in table:
        conn.exec_driver_sql(
            "INSERT INTO audit_checkpoints VALUES (?, ?, ?, ?, ?, ?, ?)",
            (cp.seq, cp.hash, cp.at, cp.key_id, cp.adopted_seq, cp.unsigned, cp.signature),
        )
    return conn


def _signed_all(
    signer: AuditSigner, entries: list[AuditRecord], *, adopted: int = 0, unsigned: int = 0
) -> tuple[SignedCheckpoint, ...]:
    """The server's checkpoint of every entry after ``adopted`` (as if it wrote them)."""
    return tuple(
        signer.sign_checkpoint(e.seq, e.hash, AT, adopted_seq=adopted, unsigned=unsigned)
        for e in entries
        if e.seq > adopted
    )


def test_each_chain_fault_is_named_with_its_seq() -> None:
    """verify_entries names each fault with the seq it is found at: an edit, a broken link, a
    gap, a head row that moved, a checkpoint that differs or lies beyond the chain."""
    entries = _chain(5)
    clean = audit.verify_entries(entries, head=(5, entries[-1].hash))
    assert clean.ok and clean.problems == () and clean.entries == 5
    assert (clean.head_seq, clean.head_hash) == (5, entries[-1].hash)
    edited = list(entries)
    edited[2] = AuditRecord(**{**entries[2].to_dict(), "actor": "mallory"})
    assert audit.verify_entries(edited).problems == (
        "seq 3: content does not match its hash (edited)",
    )
    relinked = list(entries)
    fields = {**entries[2].to_dict(), "prev_hash": "ab" * 32}
    fields["hash"] = entry_hash(**{k: v for k, v in fields.items() if k != "hash"})
    relinked[2] = AuditRecord(**fields)
    assert audit.verify_entries(relinked).problems == (
        "seq 3: prev_hash does not link to the previous entry",
        "seq 4: prev_hash does not link to the previous entry",
    )
    gap = entries[:2] + entries[3:]
    assert audit.verify_entries(gap).problems == (
        "seq 4 found where 3 was expected (gap/insert)",
        "seq 4: prev_hash does not link to the previous entry",
        "seq 5 found where 4 was expected (gap/insert)",
    )
    assert audit.verify_entries(entries, head=(4, entries[3].hash)).problems == (
        "head row says seq 4 but the chain ends at seq 5 (truncated or tampered)",
    )
    assert not audit.verify_entries(entries, head=(5, entries[3].hash)).ok  # same seq, other hash
    cp = Checkpoint(seq=2, hash=entries[2].hash)
    assert audit.verify_entries(entries, checkpoint=cp).problems == (
        "seq 2: hash differs from the checkpoint",
    )
    assert audit.verify_entries(entries, checkpoint=Checkpoint(seq=2, hash=entries[1].hash)).ok
    assert audit.verify_entries(entries, checkpoint=Checkpoint(seq=6, hash="ab" * 32)).problems == (
        "checkpoint seq 6 is missing: the chain ends at seq 5 (truncated)",
    )
    assert audit.verify_entries([], checkpoint=Checkpoint(seq=0, hash=GENESIS)).ok
    empty = audit.verify_entries([], head=(0, GENESIS))
    assert empty.ok and (empty.entries, empty.head_seq, empty.head_hash) == (0, 0, GENESIS)


def test_a_chain_starting_after_genesis_is_checked_from_its_start() -> None:
    """An export ``--since 3`` starts at seq 4, linked to entry 3's hash: it verifies from
    there, and the same entries checked from genesis do not."""
    full = _chain(6)
    tail = full[3:]
    part = audit.verify_entries(tail, start_seq=4, start_prev=full[2].hash)
    assert part.ok and (part.entries, part.head_seq) == (3, 6)
    assert audit.verify_entries(tail, start_seq=4).problems == (
        "seq 4: prev_hash does not link to the previous entry",
    )
    assert (
        "seq 4 found where 1 was expected (gap/insert)"
        in audit.verify_entries(tail, start_prev=full[2].hash).problems
    )
    empty = audit.verify_entries([], start_seq=4, start_prev=full[2].hash)
    assert (empty.head_seq, empty.head_hash) == (3, full[2].hash)


def test_problems_are_capped_but_the_replay_and_hashes_see_every_entry() -> None:
    """A badly damaged chain reports its first ``max_problems`` problems; the pass still counts
    and hashes every entry, and feeds every entry to the replay."""
    from patrolcast.governance.audit_rows import Replay

    entries = [AuditRecord(**{**e.to_dict(), "actor": "x"}) for e in _chain(8)]
    capped = audit.verify_entries(entries, max_problems=3)
    assert len(capped.problems) == 3 and not capped.ok
    assert capped.problems[0] == "seq 1: content does not match its hash (edited)"
    assert capped.entries <= 4  # it stopped reading once it had enough
    replay, hashes = Replay(), {}
    rows_entries = [
        AuditRecord(**{**e.to_dict(), "detail": json.dumps({"rows": {f"t/{e.seq}": "d"}})})
        for e in entries
    ]
    full = audit.verify_entries(rows_entries, max_problems=3, replay=replay, hashes=hashes)
    assert len(full.problems) == 3 and full.entries == 8 and full.head_seq == 8
    assert sorted(replay.latest) == [f"t/{n}" for n in range(1, 9)]
    assert hashes == {e.seq: e.hash for e in rows_entries}
    assert len(audit.verify_entries(entries).problems) == 8  # default cap is above 8


def test_every_signed_checkpoint_of_a_clean_chain_verifies(signer: AuditSigner) -> None:
    """A chain the server signed at every entry verifies with its key: signed_seq is the head,
    no problems, no notes; without the key the same checks of position hold and a note says
    the signatures were not checked."""
    entries = _chain(4)
    cps = _signed_all(signer, entries)
    conn = _bare(entries, table=cps, head_cp=cps[-1])
    keyed = audit.verify(conn, public_key_pem=signer.public_key_pem(), checkpoint_log=cps)
    assert keyed.ok and keyed.problems == () and keyed.notes == ()
    assert (keyed.signed_seq, keyed.head_seq, keyed.entries) == (4, 4, 4)
    unkeyed = audit.verify(conn)
    assert unkeyed.ok and unkeyed.signed_seq == 4
    assert unkeyed.notes == ("signatures not checked: give the server's public key",)
    assert keyed.to_dict() == {
        "ok": True,
        "entries": 4,
        "head_seq": 4,
        "head_hash": entries[-1].hash,
        "signed_seq": 4,
        "rows_checked": 0,
        "problems": [],
        "notes": [],
    }


def test_signed_checkpoints_the_chain_no_longer_holds_are_named(signer: AuditSigner) -> None:
    """Each signed checkpoint (the table's, the head's, the outside log's) must name an entry
    of the chain with its hash: one beyond the end or on another hash is named."""
    entries = _chain(4)
    cps = _signed_all(signer, entries)
    other = signer.sign_checkpoint(2, "cd" * 32, AT)
    pem = signer.public_key_pem()
    # the table holds a checkpoint on another hash at seq 2
    conn = _bare(entries, table=(cps[0], other, *cps[2:]), head_cp=cps[-1])
    assert audit.verify(conn, public_key_pem=pem).problems == (
        "signed checkpoint seq 2 does not match entry 2 (rewritten)",
    )
    # the outside log has one beyond the end and one on another hash
    beyond = signer.sign_checkpoint(9, "ef" * 32, AT)
    conn = _bare(entries, table=cps, head_cp=cps[-1])
    report = audit.verify(conn, checkpoint_log=(other, cps[-1]))
    assert report.problems == ("checkpoint log seq 2 does not match entry 2",)
    report = audit.verify(conn, checkpoint_log=(cps[0], beyond))
    assert report.problems == (
        "checkpoint log has seq 9 beyond the end of the chain (seq 4): truncated",
    )
    # the head's checkpoint on another hash, also the newest of the table
    conn = _bare(
        entries,
        table=(*cps[:3], replace_cp(cps[3], hash="cd" * 32, signer=signer)),
        head_cp=replace_cp(cps[3], hash="cd" * 32, signer=signer),
    )
    assert audit.verify(conn).problems == (
        "signed checkpoint seq 4 does not match entry 4 (rewritten)",
        "the head's signed checkpoint (seq 4) is not in the chain (rewritten or truncated)",
    )


def replace_cp(cp: SignedCheckpoint, *, signer: AuditSigner, **change: Any) -> SignedCheckpoint:
    """``cp`` with some fields changed and signed again by ``signer``."""
    from dataclasses import asdict

    fields = {**asdict(cp), **change}
    fields.pop("signature")
    fields.pop("key_id")
    seq, digest, at = fields.pop("seq"), fields.pop("hash"), fields.pop("at")
    return signer.sign_checkpoint(seq, digest, at, **fields)


def test_the_head_checkpoint_must_be_the_newest_of_the_table(signer: AuditSigner) -> None:
    """The head's signed checkpoint is the newest row of audit_checkpoints: a head without one,
    or naming an older seq, while the table has rows, is named; no table rows and no head
    checkpoint is fine (a chain never signed)."""
    entries = _chain(4)
    cps = _signed_all(signer, entries)
    message = "the head's signed checkpoint is not the newest in audit_checkpoints"
    assert audit.verify(_bare(entries, table=cps)).problems == (message,)
    assert audit.verify(_bare(entries, table=cps, head_cp=cps[2])).problems == (message,)
    assert audit.verify(_bare(entries, table=cps[:3], head_cp=cps[2])).ok
    assert audit.verify(_bare(entries)).ok


def test_a_key_that_started_signing_again_is_named(signer: AuditSigner) -> None:
    """Every checkpoint of one key carries the same adopted_seq; two values (in the table, the
    outside log or the head) mean earlier checkpoints were lost: named with the restart seq."""
    entries = _chain(5)
    first = _signed_all(signer, entries[:3])  # adopted 0
    again = _signed_all(signer, entries, adopted=3)  # as if it started over at seq 4
    message = (
        f"key {signer.key_id[:19]} started signing again at seq 4 (earlier signed "
        "checkpoints were lost or altered)"
    )
    assert audit.verify(_bare(entries, table=first + again, head_cp=again[-1])).problems == (
        message,
    )
    assert audit.verify(
        _bare(entries, table=again, head_cp=again[-1]), checkpoint_log=first
    ).problems == (message,)
    assert audit.verify(_bare(entries, table=again, head_cp=again[-1])).ok
    assert len(signer.key_id[:19]) == 19 and signer.key_id.startswith("sha256:")


def test_a_keyed_check_names_forged_and_unsigned_entries(signer: AuditSigner) -> None:
    """With the key: a chain with no signed checkpoint, a head signature by another key, entries
    after the newest checkpoint and entries counted unsigned are each named with numbers."""
    pem = signer.public_key_pem()
    entries = _chain(5)
    assert audit.verify(_bare(entries), public_key_pem=pem).problems == (
        "no signed checkpoint: 5 entries were not written by the server",
    )
    assert audit.verify(_bare([]), public_key_pem=pem).ok  # an empty log needs no signature
    forger = AuditSigner.load_or_create(Path(tempfile.mkdtemp()) / "k", checkpoint_log=False)
    forged = _signed_all(forger, entries)
    assert audit.verify(
        _bare(entries, table=forged, head_cp=forged[-1]), public_key_pem=pem
    ).problems == ("the signed checkpoint at seq 5 has an invalid signature (or another key)",)
    cps = _signed_all(signer, entries[:3])
    assert audit.verify(
        _bare(entries, table=cps, head_cp=cps[-1]), public_key_pem=pem
    ).problems == (
        "2 entries after the last signed checkpoint (seq 3) were not written by the server",
    )
    counted = signer.sign_checkpoint(5, entries[-1].hash, AT, adopted_seq=1, unsigned=2)
    report = audit.verify(_bare(entries, table=(counted,), head_cp=counted), public_key_pem=pem)
    assert report.problems == ("2 entries between seq 1 and seq 5 were not written by the server",)
    assert report.notes == ("entries up to seq 1 predate the signing key",)
    adopted = signer.sign_checkpoint(5, entries[-1].hash, AT, adopted_seq=2)
    report = audit.verify(_bare(entries, table=(adopted,), head_cp=adopted), public_key_pem=pem)
    assert report.ok and report.notes == ("entries up to seq 2 predate the signing key",)


def test_checkpoints_kept_outside_are_checked_against_the_database_head(
    signer: AuditSigner,
) -> None:
    """A checkpoint file or the newest line of the checkpoint log must verify with the key and
    agree with the database: same adopted_seq, not newer than the head's checkpoint."""
    pem = signer.public_key_pem()
    entries = _chain(5)
    cps = _signed_all(signer, entries[:3])
    conn = _bare(entries[:3], table=cps, head_cp=cps[-1])
    assert audit.verify(conn, public_key_pem=pem, checkpoint_log=cps).ok
    # the log's newest line (by seq, whatever the order) is compared
    assert audit.verify(conn, public_key_pem=pem, checkpoint_log=cps[::-1]).ok
    ahead = signer.sign_checkpoint(3, entries[2].hash, AT, adopted_seq=0)
    later = replace_cp(ahead, signer=signer, at="2026-06-02T00:00:00.000000+00:00")
    restarted = signer.sign_checkpoint(3, entries[2].hash, AT, adopted_seq=1)
    for label, kw in (("checkpoint file", "checkpoint"), ("checkpoint log", "checkpoint_log")):
        value: Any = (
            Checkpoint(seq=3, hash=entries[2].hash, signed=restarted)
            if kw == "checkpoint"
            else (cps[0], restarted)
        )
        problems = audit.verify(conn, public_key_pem=pem, **{kw: value}).problems
        assert (
            f"{label}: seq 3 was signed after or before a signing restart the database does "
            "not show (signed checkpoints lost or rolled back)"
        ) in problems, problems
        bad = replace(later, signature=ahead.signature)
        value = (
            Checkpoint(seq=3, hash=entries[2].hash, signed=bad) if kw == "checkpoint" else (bad,)
        )
        assert audit.verify(conn, public_key_pem=pem, **{kw: value}).problems == (
            f"{label}: signature invalid (or another key) at seq 3",
        )
    # a kept checkpoint newer than the database's head checkpoint (rolled back database)
    newer = signer.sign_checkpoint(3, entries[2].hash, AT)
    rolled = _bare(entries[:3], table=cps[:2], head_cp=cps[1])
    problems = audit.verify(rolled, public_key_pem=pem, checkpoint_log=(newer,)).problems
    assert (
        "checkpoint log: seq 3 was signed after or before a signing restart the database "
        "does not show (signed checkpoints lost or rolled back)"
    ) in problems, problems
    # another key's valid checkpoint is not compared with this key's counters
    forger = AuditSigner.load_or_create(Path(tempfile.mkdtemp()) / "k", checkpoint_log=False)
    assert not audit.verify(
        conn, public_key_pem=pem, checkpoint_log=(forger.sign_checkpoint(3, entries[2].hash, AT),)
    ).ok


def test_an_export_file_that_is_not_an_export_is_refused_with_its_reason(
    tmp_path: Path, signer: AuditSigner
) -> None:
    """verify_export refuses, as bad input naming the file, a missing file, a file that is not
    JSON, JSON that is not an export of this format, and an export with malformed parts."""
    pem = signer.public_key_pem()
    path = tmp_path / "x.json"
    with pytest.raises(InputError, match=f"^no export file at {path}$"):
        audit.verify_export(path, pem)
    path.write_text("{nope")
    with pytest.raises(InputError, match=f"^{path} is not JSON$"):
        audit.verify_export(path, pem)
    good = json.loads(_export(tmp_path, signer, _chain(2), name="good.json").read_text())
    assert good["format"] == "patrolcast-audit-export/1"
    for doc in (
        [good],
        {**good, "format": "patrolcast-audit-export/2"},
        {k: v for k, v in good.items() if k != "format"},
    ):
        path.write_text(json.dumps(doc))
        with pytest.raises(
            InputError,
            match=(rf"^{path} is not a patrolcast audit export \(patrolcast-audit-export/1\)$"),
        ):
            audit.verify_export(path, pem)
    no_column = json.loads(json.dumps(good))
    del no_column["entries"][1]["outcome"]
    for doc in (
        {k: v for k, v in good.items() if k != "entries"},
        {k: v for k, v in good.items() if k != "checkpoint"},
        {**good, "since": "two"},
        {**good, "entries": [1, 2]},
        no_column,
    ):
        path.write_text(json.dumps(doc))
        with pytest.raises(InputError, match=f"^{path}: entries or checkpoint are malformed$"):
            audit.verify_export(path, pem)


def test_an_export_names_each_way_it_falls_short(tmp_path: Path, signer: AuditSigner) -> None:
    """An export with no entries, with entries after its checkpoint, with a checkpoint counting
    unsigned entries: each is named; a clean partial export reports its own figures."""
    pem = signer.public_key_pem()
    full = _chain(5)
    part = _export(tmp_path, signer, full[2:], since=2, name="part.json")
    report = audit.verify_export(part, pem)
    assert report.ok, report.problems
    assert (report.entries, report.head_seq, report.head_hash, report.signed_seq) == (
        3,
        5,
        full[-1].hash,
        5,
    )
    doc = json.loads(part.read_text())
    doc["since"] = 0  # the same entries claimed to start at genesis
    part.write_text(json.dumps(doc))
    problems = audit.verify_export(part, pem).problems
    assert "seq 3 found where 1 was expected (gap/insert)" in problems
    assert "seq 3: prev_hash does not link to the previous entry" in problems
    doc = json.loads(_export(tmp_path, signer, full, name="e.json").read_text())
    doc["entries"] = []
    path = tmp_path / "empty.json"
    path.write_text(json.dumps(doc))
    report = audit.verify_export(path, pem)
    assert "the export holds no entries" in report.problems and report.entries == 0
    doc = json.loads(_export(tmp_path, signer, full[:3], name="short.json").read_text())
    doc["entries"] = [e.to_dict() for e in full]  # two entries beyond the checkpoint
    path.write_text(json.dumps(doc))
    assert audit.verify_export(path, pem).problems == (
        "the checkpoint (seq 3) does not cover the last entry (seq 5)",
    )
    counted = _export(tmp_path, signer, full, unsigned=2, name="counted.json")
    report = audit.verify_export(counted, pem)
    assert report.problems == ("2 entries before seq 5 were not written by the server",)
    assert report.signed_seq == 5
    doc = json.loads(counted.read_text())
    doc["checkpoint"].pop("signed")
    doc["public_key_fingerprint"] = None  # no fingerprint named: nothing to compare
    counted.write_text(json.dumps(doc))
    report = audit.verify_export(counted, pem)
    assert report.problems == ("the export's checkpoint is not signed",)
    assert report.signed_seq is None


def test_checkpoint_files_are_parsed_strictly() -> None:
    """A checkpoint file needs an integer seq and a 64-character hash; its signed part must name
    the same seq and hash; the export time defaults to empty; each refusal says why."""
    digest = "ab" * 32
    with pytest.raises(InputError, match="^checkpoint file is not JSON with 'seq' and 'hash'$"):
        Checkpoint.from_json("{")
    with pytest.raises(InputError, match="^checkpoint file is not JSON with 'seq' and 'hash'$"):
        Checkpoint.from_json("[1, 2]")
    for raw in (
        {"hash": digest},
        {"seq": 1},
        {"seq": "one", "hash": digest},
        {"seq": None, "hash": digest},
    ):
        with pytest.raises(InputError, match="^checkpoint is not JSON with 'seq' and 'hash'$"):
            Checkpoint.from_dict(raw)
    for raw in (
        {"seq": -1, "hash": digest},
        {"seq": 1, "hash": digest[:-1]},
        {"seq": 1, "hash": digest + "a"},
    ):
        with pytest.raises(
            InputError, match=("^checkpoint has a negative seq or a hash that is not SHA-256 hex$")
        ):
            Checkpoint.from_dict(raw)
    cp = Checkpoint.from_dict({"seq": "7", "hash": digest})
    assert cp == Checkpoint(seq=7, hash=digest, exported_at="", signed=None)
    assert cp.to_dict() == {"seq": 7, "hash": digest, "exported_at": ""}
    assert cp.to_json() == json.dumps(cp.to_dict(), indent=2) + "\n"
    signed = SignedCheckpoint(seq=7, hash=digest, at=AT, key_id="k", signature="s")
    for other in ({"seq": 8}, {"hash": "cd" * 32}):
        raw = {"seq": 7, "hash": digest, "signed": {**signed.to_dict(), **other}}
        with pytest.raises(
            InputError, match="^checkpoint's signed part names another seq or hash$"
        ):
            Checkpoint.from_dict(raw)
    back = Checkpoint.from_dict(
        {"seq": 7, "hash": digest, "exported_at": AT, "signed": signed.to_dict()}
    )
    assert back.signed == signed and back.exported_at == AT
    assert back.to_dict()["signed"] == signed.to_dict()


def test_the_current_checkpoint_carries_the_signature_only_for_the_head(
    signer: AuditSigner,
) -> None:
    """checkpoint() is the head row's seq and hash, with the head's signed checkpoint when it
    names that same position, and the export time when one is given."""
    from datetime import UTC, datetime, timezone

    entries = _chain(3)
    cps = _signed_all(signer, entries)
    now = datetime(2026, 6, 1, 13, 30, tzinfo=timezone(timedelta(hours=1)))
    cp = audit.checkpoint(_bare(entries, table=cps, head_cp=cps[-1]), now=now)
    assert (cp.seq, cp.hash, cp.signed) == (3, entries[-1].hash, cps[-1])
    assert cp.exported_at == "2026-06-01T12:30:00.000000+00:00"
    stale = audit.checkpoint(_bare(entries, table=cps, head_cp=cps[1]))
    assert (stale.seq, stale.signed, stale.exported_at) == (3, None, "")
    moved = audit.checkpoint(_bare(entries, head=(3, entries[1].hash), head_cp=cps[-1]))
    assert moved.signed is None and moved.hash == entries[1].hash
    assert audit.checkpoint(_bare([], head=None)) == Checkpoint(seq=0, hash=GENESIS)
    assert audit.checkpoint(_bare([], head=None), now=datetime(2026, 6, 1, tzinfo=UTC)) == (
        Checkpoint(seq=0, hash=GENESIS, exported_at="2026-06-01T00:00:00.000000+00:00")
    )


def test_entries_read_as_values_and_export_after_a_seq() -> None:
    """Entries read back in seq order as values; an export ``since`` n holds those after n;
    details read as a dict whatever is stored; outcomes are counted, unknown ones too."""
    entries = _chain(4)
    conn = _bare(entries[::-1], head=(4, entries[-1].hash))  # stored out of order
    assert audit.read_entries(conn) == entries
    assert audit.export_entries(conn) == [e.to_dict() for e in entries]
    assert [e["seq"] for e in audit.export_entries(conn, since=2)] == [3, 4]
    assert audit.export_entries(conn, since=4) == []
    assert entries[0].detail_dict == {"n": 1}
    odd = [AuditRecord(**{**entries[0].to_dict(), "detail": d}) for d in ("{nope", "[1]", "3")]
    assert [e.detail_dict for e in odd] == [{"unreadable": "{nope"}, {"value": [1]}, {"value": 3}]
    outcomes = [
        AuditRecord(**{**entries[0].to_dict(), "outcome": o})
        for o in ("done", "done", "denied", "other")
    ]
    assert audit.count_by_outcome(outcomes) == {"done": 2, "denied": 1, "read": 0, "other": 1}
    assert audit.count_by_outcome([]) == {"done": 0, "denied": 0, "read": 0}
    record = entries[1]
    assert record.computed_hash() == record.hash
    for name in (
        "seq",
        "recorded_at",
        "actor",
        "action",
        "target_type",
        "target_id",
        "outcome",
        "detail",
        "prev_hash",
    ):
        value: Any = record.seq + 1 if name == "seq" else getattr(record, name) + "x"
        assert AuditRecord(**{**record.to_dict(), name: value}).computed_hash() != record.hash


def test_an_audit_export_value_unpacks_and_writes_its_document(
    tmp_path: Path, signer: AuditSigner
) -> None:
    """AuditExport unpacks as (entries, checkpoint) and writes the export document as JSON;
    the fingerprint is the signer's key id, or None without a key."""
    entries = [e.to_dict() for e in _chain(2)]
    cp = Checkpoint(seq=2, hash=entries[-1]["hash"])
    export = audit.AuditExport(
        entries=entries, checkpoint=cp, since=0, public_key_pem=signer.public_key_pem()
    )
    got_entries, got_cp = export
    assert got_entries == entries and got_cp == cp
    path = export.write(tmp_path / "out.json")
    assert path == tmp_path / "out.json"
    assert path.read_text(encoding="utf-8") == json.dumps(export.to_dict(), indent=1) + "\n"
    doc = json.loads(path.read_text())
    assert doc["public_key_fingerprint"] == signer.key_id
    assert doc["public_key_pem"] == signer.public_key_pem()
    assert (doc["since"], doc["checkpoint"], doc["entries"]) == (0, cp.to_dict(), entries)
    bare = audit.AuditExport(entries=entries, checkpoint=cp, since=1).to_dict()
    assert bare["public_key_fingerprint"] is None and bare["public_key_pem"] is None
    assert bare["since"] == 1 and bare["format"] == "patrolcast-audit-export/1"


def test_keys_that_are_not_usable_are_refused_with_their_reason(tmp_path: Path) -> None:
    """Public keys: a missing file, text that is not PEM, and a PEM key of another algorithm are
    refused as input; the fingerprint is sha256 of the raw key. Private keys: a missing key, a
    file that is not an unencrypted PEM key, and a key of another algorithm are refused."""
    import hashlib

    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    from patrolcast.governance import signing

    with pytest.raises(InputError, match=f"^no public key file at {tmp_path / 'none.pem'}$"):
        load_public_key_file(tmp_path / "none.pem")
    with pytest.raises(InputError, match="^the public key is not a PEM public key$"):
        signing.key_fingerprint("not a key")
    with pytest.raises(InputError, match="^the public key is not a PEM public key$"):
        signing.key_fingerprint(b"\x00\x01")
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ec_pub = (
        ec_key.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    with pytest.raises(InputError, match="^the public key is not an Ed25519 key$"):
        signing.key_fingerprint(ec_pub)
    (tmp_path / "ec.pem").write_text(ec_pub)
    with pytest.raises(InputError, match="^the public key is not an Ed25519 key$"):
        load_public_key_file(tmp_path / "ec.pem")
    signer = AuditSigner.load_or_create(tmp_path / "keys")
    pem = signer.public_key_pem()
    (tmp_path / "pub.pem").write_text(pem, encoding="ascii")
    assert load_public_key_file(tmp_path / "pub.pem") == pem
    raw = serialization.load_pem_public_key(pem.encode()).public_bytes(
        serialization.Encoding.Raw, serialization.PublicFormat.Raw
    )
    assert signing.key_fingerprint(pem) == "sha256:" + hashlib.sha256(raw).hexdigest()
    assert signing.key_fingerprint(pem.encode("ascii")) == signer.key_id
    keys = tmp_path / "bad"
    keys.mkdir()
    key = keys / signing.KEY_NAME
    key.write_text("not a key")
    key.chmod(0o600)
    with pytest.raises(InputError, match=f"^{key} is not an unencrypted PEM private key$"):
        AuditSigner.load(keys)
    key.write_bytes(
        ec_key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    with pytest.raises(InputError, match=f"^{key} is not an Ed25519 private key$"):
        AuditSigner.load(keys)
    with pytest.raises(
        InputError, match=f"^no audit signing key at {tmp_path / 'none' / signing.KEY_NAME}$"
    ):
        AuditSigner.load(tmp_path / "none")


def test_the_private_key_is_refused_when_any_group_or_other_bit_is_set(tmp_path: Path) -> None:
    """Any permission bit for group or others (read, write or execute) refuses the key, naming
    the mode in octal; owner-only modes load."""
    import stat

    from patrolcast.governance import signing

    keys = tmp_path / "keys"
    signer = AuditSigner.load_or_create(keys, checkpoint_log=False)
    key = keys / signing.KEY_NAME
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    for mode in (0o601, 0o602, 0o604, 0o610, 0o620, 0o640, 0o677):
        key.chmod(mode)
        with pytest.raises(
            InputError,
            match=(
                rf"^audit signing key {key} is readable by group or others \(mode {mode:o}\): "
                "chmod 600 it$"
            ),
        ):
            AuditSigner.load(keys)
    for mode in (0o400, 0o600, 0o700):
        key.chmod(mode)
        assert AuditSigner.load(keys, checkpoint_log=False).key_id == signer.key_id


def test_loading_a_key_writes_or_repairs_its_public_key_and_names_its_log(tmp_path: Path) -> None:
    """The public key file beside the private key is written when missing or different; the
    checkpoint log is the folder's audit-checkpoints.jsonl, or none when turned off."""
    from patrolcast.governance import signing

    keys = tmp_path / "keys"
    signer = AuditSigner.load_or_create(keys)
    public = keys / signing.PUBLIC_KEY_NAME
    assert public.read_text(encoding="ascii") == signer.public_key_pem()
    assert signer.public_key_pem().startswith("-----BEGIN PUBLIC KEY-----")
    assert signer.checkpoint_log == keys / "audit-checkpoints.jsonl"
    assert AuditSigner.load_or_create(keys, checkpoint_log=False).checkpoint_log is None
    assert AuditSigner.load(keys, checkpoint_log=False).checkpoint_log is None
    public.write_text("stale", encoding="ascii")
    again = AuditSigner.load(keys)
    assert public.read_text(encoding="ascii") == again.public_key_pem() == signer.public_key_pem()
    public.unlink()
    AuditSigner.load(keys)
    assert public.read_text(encoding="ascii") == signer.public_key_pem()
    assert AuditSigner.load_or_create(keys).key_id == signer.key_id  # an existing key is kept


def test_a_checkpoint_verifies_only_with_its_own_key_and_a_valid_signature(
    signer: AuditSigner, tmp_path: Path
) -> None:
    """verify_checkpoint is False (never an error) for a key id that is not the key's, a
    signature that is not base64, and a signature by another key; a signed checkpoint carries
    every field it was signed over."""
    cp = signer.sign_checkpoint(4, "ab" * 32, AT, adopted_seq=1, unsigned=2)
    assert (cp.seq, cp.hash, cp.at, cp.key_id, cp.adopted_seq, cp.unsigned) == (
        4,
        "ab" * 32,
        AT,
        signer.key_id,
        1,
        2,
    )
    pem = signer.public_key_pem()
    assert verify_checkpoint(cp, pem) and signer.verify(cp)
    assert not verify_checkpoint(replace(cp, key_id="sha256:" + "0" * 64), pem)
    assert not verify_checkpoint(replace(cp, signature="!!not base64!!"), pem)
    assert not verify_checkpoint(replace(cp, signature=cp.signature + "A"), pem)
    other = AuditSigner.load_or_create(tmp_path / "other", checkpoint_log=False)
    assert not other.verify(cp)
    assert SignedCheckpoint(seq=1, hash="h", at="a", key_id="k").signature == ""


def test_signed_checkpoints_are_parsed_strictly(tmp_path: Path, signer: AuditSigner) -> None:
    """A signed checkpoint needs seq, hash, at, key_id and signature; a line of the checkpoint
    log that is not JSON is named with its number; blank lines are skipped."""
    from patrolcast.governance.signing import read_checkpoint_log

    cp = signer.sign_checkpoint(2, "ab" * 32, AT)
    message = "^signed checkpoint needs seq, hash, at, key_id and signature$"
    for field_name in ("seq", "hash", "at", "key_id", "signature"):
        raw = cp.to_dict()
        del raw[field_name]
        with pytest.raises(InputError, match=message):
            SignedCheckpoint.from_dict(raw)
    for bad in (
        [1],
        "text",
        None,
        {**cp.to_dict(), "seq": "two"},
        {**cp.to_dict(), "unsigned": "x"},
        {**cp.to_dict(), "adopted_seq": None},
    ):
        with pytest.raises(InputError, match=message):
            SignedCheckpoint.from_dict(bad)
    log = tmp_path / "log.jsonl"
    with pytest.raises(InputError, match=f"^no checkpoint log at {log}$"):
        read_checkpoint_log(log)
    line = json.dumps(cp.to_dict())
    log.write_text(f"{line}\n\n   \n{line}\n", encoding="utf-8")
    assert read_checkpoint_log(log) == [cp, cp]
    log.write_text(f"{line}\n\n{{oops\n", encoding="utf-8")
    with pytest.raises(InputError, match=f"^{log} line 3 is not JSON$"):
        read_checkpoint_log(log)
    log.write_text("", encoding="utf-8")
    assert read_checkpoint_log(log) == []


def test_the_checkpoint_log_appends_canonical_lines_and_reads_back_its_last(
    tmp_path: Path,
) -> None:
    """record() appends one canonical JSON line per checkpoint (owner and group may read it);
    last_recorded() is the last readable line, however long the file, and None without a log,
    without a file, with an empty file or a damaged last line."""
    import stat

    keys = tmp_path / "keys"
    signer = AuditSigner.load_or_create(keys)
    assert signer.last_recorded() is None  # no file yet
    first = signer.sign_checkpoint(1, "ab" * 32, AT)
    signer.record(first)
    log = keys / "audit-checkpoints.jsonl"
    assert stat.S_IMODE(log.stat().st_mode) & 0o137 == 0
    assert (
        log.read_text(encoding="utf-8")
        == json.dumps(first.to_dict(), sort_keys=True, separators=(",", ":"), ensure_ascii=False)
        + "\n"
    )
    assert signer.last_recorded() == first
    many = [signer.sign_checkpoint(n, "cd" * 32, AT, unsigned=n) for n in range(2, 80)]
    for cp in many:
        signer.record(cp)
    assert log.stat().st_size > 8192
    assert signer.last_recorded() == many[-1]
    assert len(log.read_text().splitlines()) == 79
    with log.open("a", encoding="utf-8") as fh:
        fh.write("{damaged\n")
    assert signer.last_recorded() is None
    log.write_text("")
    assert signer.last_recorded() is None
    log.write_text('{"seq": 1}\n')
    assert signer.last_recorded() is None
    quiet = AuditSigner.load(keys, checkpoint_log=False)
    quiet.record(first)  # no log: nothing written, no error
    assert quiet.last_recorded() is None and log.read_text() == '{"seq": 1}\n'


def test_row_values_are_normalised_before_they_are_digested() -> None:
    """A row's digest is SHA-256 of the canonical JSON of its table, key and values, with times
    as UTC ISO 8601 (naive read as UTC), dates ISO, decimals as text, bytes as hex."""
    import hashlib
    from datetime import UTC, date, datetime, timezone
    from decimal import Decimal

    from patrolcast.governance.audit_rows import row_digest, row_key

    assert row_key("pairs", [1, "x"]) == "pairs/1,x" and row_key("t", [5]) == "t/5"
    values = {
        "naive": datetime(2026, 6, 1, 12, 0, 0, 5),
        "aware": datetime(2026, 6, 1, 13, 0, tzinfo=timezone(timedelta(hours=1))),
        "day": date(2026, 6, 1),
        "amount": Decimal("1.50"),
        "blob": b"\x01\xff",
        "mem": memoryview(b"\x02"),
        "n": 3,
        "s": "x",
        "none": None,
    }
    body = json.dumps(
        {
            "t": "t",
            "k": "t/5",
            "row": {
                "naive": "2026-06-01T12:00:00.000005+00:00",
                "aware": "2026-06-01T12:00:00.000000+00:00",
                "day": "2026-06-01",
                "amount": "1.50",
                "blob": "hex:01ff",
                "mem": "hex:02",
                "n": 3,
                "s": "x",
                "none": None,
            },
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    )
    assert row_digest("t", "t/5", values) == hashlib.sha256(body.encode()).hexdigest()
    same = {**values, "naive": datetime(2026, 6, 1, 12, 0, 0, 5, tzinfo=UTC)}
    assert row_digest("t", "t/5", same) == row_digest("t", "t/5", values)
    assert row_digest("u", "t/5", values) != row_digest("t", "t/5", values)
    assert row_digest("t", "t/6", values) != row_digest("t", "t/5", values)


def _governed(conn: Any, n: int = 3) -> None:
    """A governed table ``notes`` with ``n`` rows, a keyless one (tags), an ungoverned one."""
    conn.exec_driver_sql("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT)")
    conn.exec_driver_sql("CREATE TABLE tags (name TEXT, colour TEXT)")  # no primary key
    conn.exec_driver_sql("CREATE TABLE credentials (id INTEGER PRIMARY KEY, secret TEXT)")
    conn.exec_driver_sql("INSERT INTO credentials VALUES (1, 's')")
    for i in range(1, n + 1):
        conn.exec_driver_sql(f"INSERT INTO notes VALUES ({i}, 'note {i}')")


def test_the_governed_schema_and_row_descriptions(signer: AuditSigner) -> None:
    """reflect() lists governed tables only (a table without a primary key is keyed by all its
    columns); describe() gives each asked row's digest or "deleted", skips ungoverned tables,
    and reads any number of rows."""
    from patrolcast.governance.audit_rows import (
        DELETED,
        current_digests,
        describe,
        is_governed,
        reflect,
    )

    conn = _bare([])
    _governed(conn, n=620)
    conn.exec_driver_sql("INSERT INTO tags VALUES ('red', '#f00')")
    schema = reflect(conn)
    assert list(schema) == ["notes", "tags"]
    assert schema["notes"].primary_key == ("id",) and schema["notes"].columns == ("id", "body")
    assert schema["tags"].primary_key == ("name", "colour")
    assert not is_governed("sqlite_sequence") and not is_governed("credentials")
    assert is_governed("notes") and is_governed("proposals")
    digests = current_digests(conn)
    assert len(digests) == 621 and "tags/red,#f00" in digests
    asked = [("notes", str(i)) for i in range(1, 621)] + [
        ("notes", "999"),
        ("notes", "-4"),
        ("credentials", "1"),
        ("notes", "1,2"),
    ]
    out = describe(conn, asked)
    assert list(out) == sorted(out)
    assert all(out[f"notes/{i}"] == digests[f"notes/{i}"] for i in range(1, 621))
    assert out["notes/999"] == out["notes/-4"] == out["notes/1,2"] == DELETED
    assert "credentials/1" not in out
    conn.exec_driver_sql("INSERT INTO notes VALUES (-4, 'minus')")
    assert (
        describe(conn, [("notes", "-4")], schema)["notes/-4"] == current_digests(conn)["notes/-4"]
    )
    assert describe(conn, []) == {}
    conn.exec_driver_sql("CREATE TABLE later (id INTEGER PRIMARY KEY)")
    conn.exec_driver_sql("INSERT INTO later VALUES (1)")
    assert describe(conn, [("later", "1")], schema)["later/1"] != DELETED  # reflected again


def test_the_replay_follows_rows_and_lifecycle_entries_only() -> None:
    """Replay.feed keeps the latest digest of every row named in ``rows``; a proposal moves
    only on a done lifecycle entry about a proposal; stored states fold active and expired
    into authorised; extensions count up or take the logged number; a cancel keeps its time."""
    from patrolcast.governance.audit_rows import Replay

    r = Replay()

    def feed(
        seq: int,
        action: str,
        detail: dict[str, Any],
        *,
        actor: str = "ana",
        target_type: str = "proposal",
        outcome: str = "done",
        target: str = "7",
    ) -> None:
        r.feed(
            seq=seq,
            actor=actor,
            action=action,
            target_type=target_type,
            target_id=target,
            outcome=outcome,
            recorded_at=f"T{seq}",
            detail=detail,
        )

    feed(1, "read", {"rows": {"notes/1": "d1", "notes/2": "d2"}})
    feed(2, "read", {"rows": ["notes/1"]})  # not a mapping: ignored
    feed(3, "read", {"rows": {"notes/1": "deleted"}})
    assert r.latest == {"notes/1": (3, "deleted"), "notes/2": (1, "d2")}
    assert r.proposals == {}  # reads do not move proposals
    feed(4, "propose", {"to": "draft", "version": 1}, outcome="denied")
    feed(5, "propose", {"to": "draft", "version": 1}, target_type="person")
    assert r.proposals == {}
    feed(6, "propose", {"to": "draft", "version": 1})
    p = r.proposals["7"]
    assert (p.seq, p.state, p.version, p.proposer) == (6, "draft", 1, "ana")
    feed(7, "authorise", {"to": "active", "version": "2", "start": "S", "end": "E"}, actor="acc1")
    assert (p.state, p.version, p.authoriser, p.start, p.end) == (
        "authorised",
        None,
        "acc1",
        "S",
        "E",
    )
    feed(8, "extend", {"to": 5, "new_end": "E2", "version": 3})  # a non-text state: kept
    assert (p.state, p.end, p.extensions, p.version, p.seq) == ("authorised", "E2", 1, 3, 8)
    feed(9, "extend", {"new_end": "E3", "extension": 5})
    feed(10, "extend", {"new_end": "E4"})
    assert (p.end, p.extensions) == ("E4", 6)
    feed(11, "cancel", {"to": "expired"})
    assert (p.state, p.cancelled_at) == ("authorised", "T11")
    feed(12, "cancel", {"to": "cancelled"}, actor="acc2")
    assert (p.state, p.cancelled_at, p.proposer, p.authoriser) == (
        "cancelled",
        "T12",
        "ana",
        "acc1",
    )


def test_the_replay_check_names_each_row_difference() -> None:
    """Replay.check compares every governed row with the log: a row the log never described,
    one it says was deleted, one edited, one missing; each named with table, key and seq."""
    from patrolcast.governance.audit_rows import DELETED, Replay, current_digests

    conn = _bare([])
    _governed(conn, n=4)
    digests = current_digests(conn)
    r = Replay()
    r.latest = {
        "notes/1": (5, digests["notes/1"]),
        "notes/2": (6, DELETED),
        "notes/3": (7, "0" * 64),
        "notes/9": (8, "ab" * 32),
        "notes/10": (9, DELETED),
        "credentials/2": (2, "ab" * 32),
    }
    problems, checked = r.check(conn)
    assert checked == 4
    assert problems == [
        "notes/2: the log says it was deleted (seq 6) but the row exists",
        "notes/3: the row differs from its audit digest (seq 7): edited outside the application",
        "notes/4: no audit entry describes this row (inserted outside the application)",
        "notes/9: missing, but the log (seq 8) says it exists (deleted outside the application)",
    ]
    assert r.check(conn, max_problems=2)[0] == problems[:2]


def _proposals(conn: Any, *, people: bool = True) -> None:
    conn.exec_driver_sql(
        "CREATE TABLE proposals (id INTEGER PRIMARY KEY, state TEXT, version INTEGER, "
        "proposer_id INTEGER, authorised_start TEXT, authorised_end TEXT, "
        "authorised_by_id INTEGER, extensions_used INTEGER, cancelled_at TEXT)"
    )
    if people:
        conn.exec_driver_sql("CREATE TABLE people (id INTEGER PRIMARY KEY, username TEXT)")
        conn.exec_driver_sql("INSERT INTO people VALUES (1, 'ana'), (2, 'acc1')")


def test_the_replay_check_names_each_proposal_field_against_the_transitions() -> None:
    """Each proposal is compared field by field with its transitions (state, version,
    proposer, authoriser, window, extensions, cancellation time), times compared as instants."""
    from patrolcast.governance.audit_rows import Replay, current_digests

    conn = _bare([])
    _proposals(conn)
    conn.exec_driver_sql(
        "INSERT INTO proposals VALUES (7, 'authorised', 3, 1, '2026-06-01 12:00:00', "
        "'2026-06-01 18:00:00.000000', 2, 1, NULL)"
    )
    r = Replay()
    feed: Any = lambda seq, action, detail, actor="ana": r.feed(  # noqa: E731
        seq=seq,
        actor=actor,
        action=action,
        target_type="proposal",
        target_id="7",
        outcome="done",
        recorded_at="2026-06-01T13:00:00+00:00",
        detail=detail,
    )
    feed(1, "propose", {"to": "draft", "version": 1})
    feed(
        2,
        "authorise",
        {
            "to": "authorised",
            "version": 2,
            "start": "2026-06-01T13:00:00+01:00",
            "end": "2026-06-01T18:00:00+00:00",
        },
        actor="acc1",
    )
    feed(3, "extend", {"new_end": "2026-06-01T18:00:00+00:00", "version": 3})
    r.latest = {k: (1, v) for k, v in current_digests(conn).items()}
    assert r.check(conn) == ([], 3)
    conn.exec_driver_sql(
        "UPDATE proposals SET state = 'active', version = 4, proposer_id = 2, "
        "authorised_start = '2026-06-01 11:00:00', authorised_end = NULL, "
        "authorised_by_id = 5, extensions_used = 2, cancelled_at = '2026-06-01 13:00:00' "
    )
    r.latest = {k: (1, v) for k, v in current_digests(conn).items()}
    problems = r.check(conn)[0]
    g = "but the log's transitions (last seq 3) give"
    assert problems == [
        f"proposals/7: state is 'active' {g} 'authorised'",
        f"proposals/7: version is 4 {g} 3",
        f"proposals/7: proposer is 'acc1' {g} 'ana'",
        f"proposals/7: authoriser is '#5' {g} 'acc1'",
        f"proposals/7: authorised_start is '2026-06-01T11:00:00.000000+00:00' {g} "
        "'2026-06-01T12:00:00.000000+00:00'",
        f"proposals/7: authorised_end is None {g} '2026-06-01T18:00:00.000000+00:00'",
        f"proposals/7: extensions_used is 2 {g} 1",
        f"proposals/7: cancelled_at is '2026-06-01T13:00:00.000000+00:00' {g} None",
    ]
    feed(4, "cancel", {"to": "cancelled"})  # no version logged: the table's is not compared
    conn.exec_driver_sql(
        "UPDATE proposals SET state = 'cancelled', version = 99, "
        "proposer_id = 1, authorised_start = '2026-06-01 12:00:00', "
        "authorised_end = '2026-06-01 18:00:00', authorised_by_id = 2, "
        "extensions_used = 1"
    )
    r.latest = {k: (1, v) for k, v in current_digests(conn).items()}
    assert r.check(conn) == ([], 3)


def test_the_replay_check_of_proposals_without_people_or_columns() -> None:
    """Without a people table, people are named by id ('#1'); a proposals table missing the
    compared columns is named as such; a proposal the log never proposed is named."""
    from patrolcast.governance.audit_rows import Replay, current_digests

    conn = _bare([])
    _proposals(conn, people=False)
    conn.exec_driver_sql(
        "INSERT INTO proposals VALUES (7, 'draft', 1, 1, NULL, NULL, NULL, 0, NULL)"
    )
    r = Replay()
    r.latest = {k: (1, v) for k, v in current_digests(conn).items()}
    assert r.check(conn)[0] == ["proposals/7: no propose entry in the log for this proposal"]
    r.feed(
        seq=1,
        actor="ana",
        action="propose",
        target_type="proposal",
        target_id="7",
        outcome="done",
        recorded_at=AT,
        detail={"to": "draft", "version": 1},
    )
    assert r.check(conn)[0] == [
        "proposals/7: proposer is '#1' but the log's transitions (last seq 1) give 'ana'"
    ]
    other = _bare([])
    other.exec_driver_sql("CREATE TABLE proposals (id INTEGER PRIMARY KEY, state TEXT)")
    assert Replay().check(other)[0] == ["proposals: columns are missing from the table"]


def test_append_refuses_bad_entries_and_links_good_ones(w: Any) -> None:
    """append() refuses an unknown outcome and a detail using the reserved ``rows`` key; an
    entry it adds links to the head, stores its target as text and its time in UTC, moves the
    head, and carries ``rows`` only when governed rows were written."""
    from datetime import datetime, timezone

    from patrolcast.governance.models import AuditHead

    when = datetime(2026, 6, 1, 14, 0, tzinfo=timezone(timedelta(hours=2)))
    with w.session() as s:
        with pytest.raises(
            ValueError, match=(r"^audit outcome must be one of \('done', 'denied', 'read'\)$")
        ):
            audit.append(
                s,
                actor="aud",
                action="read",
                target_type="x",
                target_id=1,
                outcome="maybe",
                detail={},
                now=when,
            )
        with pytest.raises(
            ValueError, match=("^'rows' in an audit detail is reserved for the row digests$")
        ):
            audit.append(
                s,
                actor="aud",
                action="read",
                target_type="x",
                target_id=1,
                outcome="read",
                detail={"rows": {}},
                now=when,
            )
        before = audit.read_entries(s)[-1]
        rec = audit.append(
            s,
            actor="aud",
            action="look",
            target_type="x",
            target_id=42,
            outcome="read",
            detail={"why": "test"},
            now=when,
        )
        assert (rec.seq, rec.prev_hash, rec.target_id) == (before.seq + 1, before.hash, "42")
        assert rec.recorded_at == "2026-06-01T12:00:00.000000+00:00"
        assert rec.detail == '{"why":"test"}' and rec.computed_hash() == rec.hash
        head = s.get(AuditHead, 1)
        assert head is not None and (head.seq, head.hash) == (rec.seq, rec.hash)
        s.commit()
        assert audit.read_entries(s)[-1] == rec
        assert audit.verify(s).ok


def test_writes_are_collected_until_an_entry_describes_them(w: Any) -> None:
    """Every governed row written (added, changed by the ORM, bulk-updated or bulk-deleted) is
    described by the next entry; an object loaded but not changed is not; a bulk insert into
    a governed table is refused; committing undescribed rows names the first five."""
    from datetime import UTC, datetime

    from sqlalchemy import delete, insert, select, update

    from patrolcast.governance.audit_rows import UnauditedWrite
    from patrolcast.governance.models import ForecastSnapshot, Person

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    def note(s: Any) -> dict[str, str]:
        rec = audit.append(
            s,
            actor="aud",
            action="note",
            target_type="x",
            target_id=0,
            outcome="done",
            detail={},
            now=now,
        )
        return rec.detail_dict.get("rows", {})

    with w.session() as s:
        people = s.execute(select(Person).order_by(Person.id)).scalars().all()
        people[0].display_name = people[0].display_name  # loaded, set to the same value
        assert note(s) == {}
        people[0].display_name = "Changed"
        assert list(note(s)) == [f"people/{people[0].id}"]
        s.execute(update(Person).where(Person.id == people[1].id).values(display_name="B"))
        assert list(note(s)) == [f"people/{people[1].id}"]
        s.execute(update(Person).values(rank="PC"))
        assert sorted(note(s)) == sorted(f"people/{p.id}" for p in people)
        with pytest.raises(
            UnauditedWrite,
            match=(
                "^bulk INSERT into the governed table forecast_snapshots cannot be audited: "
                "add ORM objects$"
            ),
        ):
            s.execute(insert(ForecastSnapshot).values(method="m"))
        snaps = [
            ForecastSnapshot(
                method=f"m{i}", params={}, created_at=now, digest="ab" * 8, uri="", recorded_at=now
            )
            for i in range(7)
        ]
        s.add_all(snaps)
        s.flush()
        keys = [f"forecast_snapshots/{x.id}" for x in snaps]
        with pytest.raises(UnauditedWrite) as err:
            s.commit()
        assert str(err.value) == (
            "governed rows written without an audit entry describing them: "
            + ", ".join(keys[:5])
            + " ..."
        )
        s.rollback()
    with w.session() as s:
        s.add_all(
            [
                ForecastSnapshot(
                    method="one",
                    params={},
                    created_at=now,
                    digest="ab" * 8,
                    uri="",
                    recorded_at=now,
                )
            ]
        )
        s.flush()
        with pytest.raises(UnauditedWrite, match=r"forecast_snapshots/\d+$"):
            s.commit()
        s.rollback()
        five = [
            ForecastSnapshot(
                method=f"f{i}", params={}, created_at=now, digest="ab" * 8, uri="", recorded_at=now
            )
            for i in range(5)
        ]
        s.add_all(five)
        s.flush()
        with pytest.raises(UnauditedWrite) as err:
            s.commit()
        assert str(err.value).endswith(f"forecast_snapshots/{five[-1].id}")  # all five, no "..."
        s.rollback()
        s.add(
            ForecastSnapshot(
                method="two", params={}, created_at=now, digest="ab" * 8, uri="", recorded_at=now
            )
        )
        s.flush()
        s.rollback()  # a rollback forgets what was written
        assert note(s) == {}
        snap = ForecastSnapshot(
            method="three", params={}, created_at=now, digest="ab" * 8, uri="", recorded_at=now
        )
        s.add(snap)
        s.flush()
        note(s)
        s.commit()
        s.execute(delete(ForecastSnapshot).where(ForecastSnapshot.id == snap.id))
        assert note(s) == {f"forecast_snapshots/{snap.id}": "deleted"}
        s.commit()
        assert audit.verify(s).ok


def test_a_baseline_entry_describes_every_governed_row(w: Any) -> None:
    """append_baseline adds one done entry (actor, reason, every governed row's digest, sorted)
    linked to the head and moves the head; with no governed row it adds nothing."""
    from datetime import UTC, datetime

    from patrolcast.governance.audit_rows import current_digests

    now = datetime(2026, 6, 1, 13, tzinfo=UTC)
    with w.db.engine.begin() as conn:
        before = audit.read_entries(conn)[-1]
        seq = audit.append_baseline(conn, actor="admin", reason="migration 9", now=now)
        rows = current_digests(conn)
    assert seq == before.seq + 1
    with w.session() as s:
        last = audit.read_entries(s)[-1]
        assert (
            last.seq,
            last.actor,
            last.action,
            last.target_type,
            last.target_id,
            last.outcome,
            last.prev_hash,
        ) == (seq, "admin", "audit_baseline", "audit", "*", "done", before.hash)
        assert last.recorded_at == "2026-06-01T13:00:00.000000+00:00"
        assert last.detail == json.dumps(
            {"reason": "migration 9", "rows": dict(sorted(rows.items()))},
            sort_keys=True,
            separators=(",", ":"),
        )
        assert audit.checkpoint(s).seq == seq
        assert audit.verify(s).ok
    empty = _bare([])
    assert audit.append_baseline(empty, actor="admin", reason="r", now=now) is None
    assert audit.read_entries(empty) == []


def test_the_server_continues_from_its_newest_checkpoint_row_when_the_head_lost_its_own(
    tmp_path: Path,
) -> None:
    """The head row's signature wiped and no checkpoint log kept: the server's next checkpoint
    carries on from its newest row in audit_checkpoints (same adopted_seq, nothing unsigned),
    so the chain still verifies, rather than adopting the chain afresh."""
    from sqlalchemy import text

    from patrolcast.governance import service
    from patrolcast.governance.db import open_database
    from tests.governance.audit_attacks import TRIGGERS, signed_world

    world, signer = signed_world(tmp_path)
    pem = signer.public_key_pem()
    url = str(world.db.engine.url)
    world.db.dispose()
    with open_database(url, create=False).engine.begin() as conn:
        genuine = conn.execute(
            text("SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")
        ).first()
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("UPDATE audit_head SET signed_seq = NULL, signature = NULL")
    assert genuine is not None
    no_log = AuditSigner.load(tmp_path / "keys", checkpoint_log=False)
    db = open_database(url, create=False, signer=no_log)
    with db.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
        newest = s.execute(
            text("SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")
        ).first()
        assert newest is not None and newest[0] == genuine[0] + 1
        assert (newest[1], newest[2]) == (genuine[1], genuine[2])
        report = audit.verify(s, public_key_pem=pem)
    assert report.ok, report.problems
    db.dispose()


def test_verify_can_check_the_rows_alone_and_caps_every_kind_of_problem(
    signer: AuditSigner,
) -> None:
    """``chain=False`` reports only what the tables' replay finds (no chain or signature
    problem, no signed seq, no note); ``max_problems`` caps the whole report."""
    entries = _chain(4)
    broken = [*entries[:2], AuditRecord(**{**entries[2].to_dict(), "actor": "x"}), entries[3]]
    conn = _bare(broken, head=(9, "ab" * 32))
    _governed(conn, n=3)  # three rows no entry describes
    rows_only = audit.verify(conn, chain=False)
    assert not rows_only.ok and rows_only.signed_seq is None and rows_only.notes == ()
    assert rows_only.problems == tuple(
        f"notes/{i}: no audit entry describes this row (inserted outside the application)"
        for i in (1, 2, 3)
    )
    assert rows_only.rows_checked == 3 and rows_only.entries == 4
    full = audit.verify(conn)
    assert full.problems[:2] == (
        "seq 3: content does not match its hash (edited)",
        "head row says seq 9 but the chain ends at seq 4 (truncated or tampered)",
    )
    assert len(full.problems) == 5
    assert audit.verify(conn, max_problems=2).problems == full.problems[:2]
    assert len(audit.verify(conn, max_problems=4).problems) == 4
    clean = _bare(entries)
    assert audit.verify(clean, chain=False).ok
    assert audit.verify(clean, rows=False, chain=False).problems == ()


def test_a_head_checkpoint_needs_both_its_seq_and_its_signature(signer: AuditSigner) -> None:
    """The head's signed checkpoint exists only with a signed seq and a signature; missing
    counters read as zero (a head written before they existed still verifies)."""
    pem = signer.public_key_pem()
    entries = _chain(4)
    cp = signer.sign_checkpoint(4, entries[-1].hash, AT)
    for column_name in ("signature", "signed_seq"):
        conn = _bare(entries, head_cp=cp)
        conn.exec_driver_sql(f"UPDATE audit_head SET {column_name} = NULL")
        assert audit.checkpoint(conn).signed is None
        report = audit.verify(conn, public_key_pem=pem)
        assert report.problems == (
            "no signed checkpoint: 4 entries were not written by the server",
        ), column_name
        assert report.signed_seq is None
    conn = _bare(entries, head_cp=cp)
    conn.exec_driver_sql("UPDATE audit_head SET adopted_seq = NULL, unsigned = NULL")
    assert audit.checkpoint(conn).signed == cp
    assert audit.verify(conn, public_key_pem=pem).ok


def test_times_in_the_replay_compare_as_instants_or_as_text() -> None:
    from datetime import datetime, timezone

    from patrolcast.governance.audit_rows import _as_time

    assert _as_time(None) is None
    assert _as_time("2026-06-01T13:00:00+01:00") == "2026-06-01T12:00:00.000000+00:00"
    assert _as_time("2026-06-01 12:00:00") == "2026-06-01T12:00:00.000000+00:00"
    assert _as_time(datetime(2026, 6, 1, 14, tzinfo=timezone(timedelta(hours=2)))) == (
        "2026-06-01T12:00:00.000000+00:00"
    )
    assert _as_time("not a time") == "not a time" and _as_time(7) == "7"


def test_an_export_without_since_is_read_from_genesis(tmp_path: Path, signer: AuditSigner) -> None:
    """``since`` is optional in an export file: without it the entries start at seq 1."""
    path = _export(tmp_path, signer, _chain(3))
    doc = json.loads(path.read_text())
    del doc["since"]
    path.write_text(json.dumps(doc))
    report = audit.verify_export(path, signer.public_key_pem())
    assert report.ok, report.problems
    assert (report.entries, report.head_seq, report.signed_seq) == (3, 3, 3)
    part = _export(tmp_path, signer, _chain(5)[2:], name="part.json")  # since left at 0
    assert (
        "seq 3 found where 1 was expected (gap/insert)"
        in audit.verify_export(part, signer.public_key_pem()).problems
    )


def test_a_refused_commit_stays_refused_until_its_rows_are_described_or_dropped(w: Any) -> None:
    """Governed rows written without an audit entry: the commit is refused, and so is a retried
    commit (the rows are still in the open transaction); an entry appended afterwards
    describes them, so committing then leaves a log that verifies. Rows dropped by a rollback
    or by closing the session are forgotten: the session commits cleanly afterwards."""
    from datetime import UTC, datetime

    from sqlalchemy import select, text

    from patrolcast.governance.audit_rows import UnauditedWrite, current_digests
    from patrolcast.governance.models import ForecastSnapshot

    now = datetime(2026, 6, 1, 12, tzinfo=UTC)

    def snap(name: str) -> ForecastSnapshot:
        return ForecastSnapshot(
            method=name, params={}, created_at=now, digest="ab" * 8, uri="", recorded_at=now
        )

    with w.session() as s:
        first = snap("first")
        s.add(first)
        s.flush()
        for _ in range(2):
            with pytest.raises(UnauditedWrite, match=f"forecast_snapshots/{first.id}$"):
                s.commit()
        rec = audit.append(s, actor="aud", action="note", target_type="x", target_id=0,
                           outcome="done", detail={}, now=now)  # fmt: skip
        key = f"forecast_snapshots/{first.id}"
        assert rec.detail_dict["rows"] == {key: current_digests(s.connection())[key]}
        s.commit()
        assert audit.verify(s).ok
        for end in ("rollback", "close"):
            s.add(snap(end))
            with pytest.raises(UnauditedWrite):
                s.commit()
            getattr(s, end)()
            s.execute(text("SELECT 1"))
            s.commit()  # nothing left to describe
            assert (
                s.execute(select(ForecastSnapshot).where(ForecastSnapshot.method == end)).first()
                is None
            )
        assert audit.verify(s).ok


def test_a_table_of_another_base_declared_ungoverned_is_never_collected(w: Any) -> None:
    """A mapped table declared ``info={"governed": False}`` on another declarative base (not
    in patrolcast's metadata): rows added, changed in bulk or deleted in bulk are not audited,
    so the transaction commits without an entry."""
    from sqlalchemy import Column, Integer, Text, delete, update
    from sqlalchemy.orm import DeclarativeBase

    class Other(DeclarativeBase):
        pass

    class Cache(Other):
        __tablename__ = "plugin_cache"
        __table_args__ = {"info": {"governed": False}}
        id = Column(Integer, primary_key=True)
        note = Column(Text)

    Other.metadata.create_all(w.db.engine)
    with w.session() as s:
        s.add(Cache(id=1, note="a"))
        s.commit()
        s.execute(update(Cache).values(note="b"))
        s.commit()
        s.execute(delete(Cache).where(Cache.id == 1))
        s.commit()
        assert audit.verify(s).ok
