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
            "seq": seq, "recorded_at": AT, "actor": "ana", "action": "read",
            "target_type": "proposal", "target_id": str(seq), "outcome": "read",
            "detail": json.dumps({"n": seq}), "prev_hash": prev,
        }
        prev = entry_hash(**fields)
        out.append(AuditRecord(**fields, hash=prev))
    return out


def _export(
    tmp_path: Path, signer: AuditSigner, entries: list[AuditRecord], *, since: int = 0,
    unsigned: int = 0, name: str = "export.json",
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
            "adopted_seq": 2, "at": at, "domain": "patrolcast-audit-checkpoint/v1",
            "hash": "ab" * 32, "key_id": signer.key_id, "seq": 9, "unsigned": 1,
        }
        message = (
            "{" + ",".join(f"{json.dumps(k)}:{json.dumps(v, ensure_ascii=False)}"
                           for k, v in body.items()) + "}"
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
            service.authorise(s, actor="acc2", clock=w.clock, proposal_id=pid,
                              details=authorisation(w))
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
        service.extend(s, actor="acc2", clock=w.clock, proposal_id=pid,
                       details=ExtensionDetails(view.authorised_end + timedelta(hours=1),
                                                "Further stabbing.", ndm()))
        assert audit.verify(s).ok
    _raw(w, f"UPDATE proposals SET extensions_used = 0 WHERE id = {pid}")
    with w.session() as s:
        problems = audit.verify(s).problems
    assert any(p.startswith(f"proposals/{pid}: extensions_used is 0 but") and p.endswith(
        "give 1") for p in problems), problems



def test_rows_of_a_table_no_longer_governed_are_not_reported_missing(w: Any) -> None:
    """A table registered as ungoverned after its rows were logged: those rows are no longer
    compared, so their removal is not reported (the table name is the key's part before '/')."""
    from datetime import UTC, datetime

    from patrolcast.governance.audit_rows import UNGOVERNED_TABLES, register_ungoverned

    _raw(w, "CREATE TABLE scratch_notes (id INTEGER PRIMARY KEY, note TEXT)")
    _raw(w, "INSERT INTO scratch_notes (id, note) VALUES (1, 'x')")
    with w.db.engine.begin() as conn:
        audit.append_baseline(conn, actor="admin", reason="new table",
                              now=datetime(2026, 6, 1, 13, tzinfo=UTC))
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
        problems)


def test_a_field_the_log_says_is_unset_is_named_when_set(w: Any) -> None:
    """A cancellation time (or an authorised window) written into a proposal the log never
    cancelled (or authorised) is named as that field, not only as a changed row."""
    from patrolcast.governance.states import State
    from tests.governance.helpers import walk_to

    pid = walk_to(w, State.SUBMITTED)
    _raw(w, f"UPDATE proposals SET cancelled_at = '2026-06-01 13:00:00.000000', "
            f"authorised_end = '2026-06-01 18:00:00.000000' WHERE id = {pid}")
    with w.session() as s:
        problems = audit.verify(s).problems
    for name in ("cancelled_at", "authorised_end"):
        assert any(p.startswith(f"proposals/{pid}: {name} is ") and p.endswith("give None")
                   for p in problems), (name, problems)


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
            f"UPDATE audit_head SET seq = {prev.seq}, hash = '{prev.hash}' WHERE id = 1")
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

    t = Table("scratch_cache", Base.metadata, Column("id", Integer, primary_key=True),
              Column("note", Text), info={"governed": False})
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

    fields: dict[str, Any] = {"seq": 3, "recorded_at": AT, "actor": "ana", "action": "read",
              "target_type": "proposal", "target_id": "7", "outcome": "read",
              "detail": "{}", "prev_hash": GENESIS}
    body = json.dumps(fields, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    assert entry_hash(**fields) == hashlib.sha256(body.encode("utf-8")).hexdigest()


def test_naive_audit_times_are_refused_and_unkeyed_checks_say_so(w: Any) -> None:
    from datetime import datetime

    with w.session() as s:
        with pytest.raises(ValueError, match="^audit times must be aware$"):
            audit.append(s, actor="aud", action="read", target_type="x", target_id=1,
                         outcome="read", detail={}, now=datetime(2026, 6, 1, 12))
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
        genuine = conn.execute(text(
            "SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")).first()
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("UPDATE audit_head SET unsigned = 7, adopted_seq = 3 WHERE id = 1")
    assert genuine is not None
    with world.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
    with world.db.engine.begin() as conn:
        newest = conn.execute(text(
            "SELECT seq, adopted_seq, unsigned FROM audit_checkpoints ORDER BY seq DESC")).first()
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
