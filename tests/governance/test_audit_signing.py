"""Signed checkpoints: the server's key file, signatures, appends made without the key."""

from __future__ import annotations

import os
import stat
from dataclasses import replace
from pathlib import Path

import pytest
from sqlalchemy import create_engine

from patrolcast.errors import InputError
from patrolcast.governance import audit, service
from patrolcast.governance.db import open_database
from patrolcast.governance.roles import Role, RoleSpec, add_person
from patrolcast.governance.signing import (
    CHECKPOINT_LOG_NAME,
    KEY_NAME,
    PUBLIC_KEY_NAME,
    AuditSigner,
    key_fingerprint,
    read_checkpoint_log,
    verify_checkpoint,
)
from patrolcast.governance.states import State
from tests.governance.audit_attacks import TRIGGERS, signed_world
from tests.governance.helpers import World, make_world, sqlite_url, walk_to


def test_key_is_created_private_and_refused_when_others_can_read_it(tmp_path: Path) -> None:
    keys = tmp_path / "keys"
    signer = AuditSigner.load_or_create(keys)
    assert stat.S_IMODE((keys / KEY_NAME).stat().st_mode) == 0o600
    assert stat.S_IMODE(keys.stat().st_mode) == 0o700
    assert (keys / PUBLIC_KEY_NAME).read_text() == signer.public_key_pem()
    again = AuditSigner.load_or_create(keys)
    assert again.key_id == signer.key_id == key_fingerprint(signer.public_key_pem())
    os.chmod(keys / KEY_NAME, 0o640)
    with pytest.raises(InputError, match="readable by group or others"):
        AuditSigner.load(keys)
    with pytest.raises(InputError, match="no audit signing key"):
        AuditSigner.load(tmp_path / "elsewhere")


def test_signatures_bind_every_field_and_the_key(tmp_path: Path) -> None:
    signer = AuditSigner.load_or_create(tmp_path / "a")
    other = AuditSigner.load_or_create(tmp_path / "b")
    cp = signer.sign_checkpoint(7, "ab" * 32, "2026-06-01T12:00:00.000000+00:00", adopted_seq=2)
    assert verify_checkpoint(cp, signer.public_key_pem())
    assert not verify_checkpoint(cp, other.public_key_pem())
    for change in ({"seq": 8}, {"hash": "cd" * 32}, {"at": "x"}, {"adopted_seq": 0},
                   {"unsigned": 1}, {"signature": cp.signature[:-4] + "AAA="}):
        assert not verify_checkpoint(replace(cp, **change), signer.public_key_pem()), change
    forged = other.sign_checkpoint(7, "ab" * 32, cp.at)
    assert not verify_checkpoint(replace(forged, key_id=signer.key_id), signer.public_key_pem())


def _unsigned_read(world: World) -> None:
    """A process without the key (e.g. a script on the database host) appends an entry."""
    rogue = open_database(str(world.db.engine.url), create=False)
    with rogue.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
    rogue.dispose()


def test_entries_appended_without_the_key_are_reported(tmp_path: Path) -> None:
    world, signer = signed_world(tmp_path)
    pem = signer.public_key_pem()
    walk_to(world, State.SUBMITTED)
    with world.session() as s:
        good = audit.verify(s, public_key_pem=pem)
    assert good.ok and good.signed_seq == good.head_seq
    _unsigned_read(world)
    with world.session() as s:
        report = audit.verify(s, public_key_pem=pem)
        assert audit.verify(s).ok  # without the key the chain looks fine
    assert report.problems == (
        f"1 entries after the last signed checkpoint (seq {good.head_seq}) were not written by "
        "the server",
    )
    # the server writing again does not launder the foreign entry
    with world.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
        later = audit.verify(s, public_key_pem=pem)
    assert not later.ok
    assert later.problems == (
        f"1 entries between seq 0 and seq {good.head_seq + 2} were not written by the server",
    )
    world.db.dispose()


def test_a_database_made_before_the_key_is_adopted(tmp_path: Path) -> None:
    world = make_world(sqlite_url(tmp_path))  # written without a key (e.g. before the server)
    with world.session() as s:
        before = audit.read_entries(s)[-1].seq
    signer = AuditSigner.load_or_create(tmp_path / "keys")
    world.db = open_database(str(world.db.engine.url), signer=signer)
    walk_to(world, State.DRAFT)
    with world.session() as s:
        report = audit.verify(s, public_key_pem=signer.public_key_pem())
    assert report.ok, report.problems
    assert report.notes == (f"entries up to seq {before} predate the signing key",)
    world.db.dispose()


def test_checkpoint_log_has_one_line_per_committed_write_transaction(tmp_path: Path) -> None:
    world, signer = signed_world(tmp_path)
    log = tmp_path / "keys" / CHECKPOINT_LOG_NAME
    assert signer.checkpoint_log == log
    lines = read_checkpoint_log(log)
    with world.session() as s:
        head = audit.checkpoint(s)
    assert (lines[-1].seq, lines[-1].hash) == (head.seq, head.hash)
    assert all(verify_checkpoint(cp, signer.public_key_pem()) for cp in lines)
    with world.session() as s, pytest.raises(InputError, match="first user|needs --rank"):
        add_person(s, actor="admin", username="newbie", roles=[RoleSpec(Role.AUTHORISING_OFFICER)],
                   clock=world.clock)  # refused after its rows were flushed: rolled back
    assert read_checkpoint_log(log) == lines
    with world.session() as s:
        assert audit.verify(s, public_key_pem=signer.public_key_pem(), checkpoint_log=lines).ok
    world.db.dispose()


def test_checkpoint_file_with_signature_round_trips(tmp_path: Path) -> None:
    world, signer = signed_world(tmp_path)
    with world.session() as s:
        cp = audit.checkpoint(s)
    assert cp.signed is not None and cp.signed.seq == cp.seq
    back = audit.Checkpoint.from_json(cp.to_json())
    assert back == cp
    with pytest.raises(InputError, match="another seq"):
        audit.Checkpoint.from_json(replace(cp, seq=cp.seq - 1).to_json())
    world.db.dispose()


def test_wiping_the_signatures_does_not_make_the_server_adopt_the_chain(tmp_path: Path) -> None:
    world, signer = signed_world(tmp_path)
    pem = signer.public_key_pem()
    walk_to(world, State.SUBMITTED)
    with world.session() as s:
        signed = audit.checkpoint(s).seq
    engine = create_engine(str(world.db.engine.url))
    with engine.begin() as conn:  # an owner: triggers dropped, every signature removed
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("DELETE FROM audit_checkpoints")
        conn.exec_driver_sql("UPDATE audit_head SET signed_seq = NULL, signature = NULL")
    engine.dispose()
    _unsigned_read(world)  # a forged entry, then the server writes again
    with world.session() as s:
        service.list_proposals(s, actor="aud", clock=world.clock)
        report = audit.verify(s, public_key_pem=pem)
    # the server found its last checkpoint in its own log, so the forged entry is counted
    assert report.problems == (
        f"1 entries between seq 0 and seq {signed + 2} were not written by the server",
    )
    world.db.dispose()


def test_an_unwritable_checkpoint_log_never_fails_a_committed_write(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    world, signer = signed_world(tmp_path)
    assert signer.checkpoint_log is not None
    signer.checkpoint_log.unlink()
    signer.checkpoint_log.mkdir()  # writing a line now fails
    walk_to(world, State.DRAFT)  # committed and acknowledged all the same
    assert "not written to the checkpoint log" in caplog.text
    with world.session() as s:
        assert audit.verify(s, public_key_pem=signer.public_key_pem()).ok
    world.db.dispose()
