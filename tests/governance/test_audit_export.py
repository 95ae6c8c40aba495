"""Exports that verify on their own, and ``patrolcast audit verify`` exit codes (0 / 1 / 2)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import typer
from sqlalchemy import create_engine
from typer.testing import CliRunner

from patrolcast.cli.audit import register
from patrolcast.governance import audit, service
from patrolcast.governance.signing import PUBLIC_KEY_NAME, AuditSigner
from patrolcast.governance.states import State
from tests.governance.audit_attacks import TRIGGERS, signed_world
from tests.governance.helpers import World, walk_to


@pytest.fixture()
def exported(tmp_path: Path) -> tuple[World, AuditSigner, Path]:
    world, signer = signed_world(tmp_path, "patrolcast.db")  # a data home: db and keys
    walk_to(world, State.ACTIVE)
    with world.session() as s:
        export = service.export_audit(s, actor="aud", clock=world.clock)
        last = audit.read_entries(s)[-1]
    entries, cp = export
    assert (last.action, last.seq) == ("audit_export", cp.seq)  # the export covers itself
    assert entries[-1]["seq"] == cp.seq and cp.signed is not None and cp.signed.seq == cp.seq
    assert export.public_key_pem == signer.public_key_pem()
    doc = export.to_dict()
    assert doc == audit.export_document(entries, cp, public_key_pem=signer.public_key_pem())
    assert doc["public_key_fingerprint"] == signer.key_id
    json.dumps(doc)  # JSON-ready as it is (an API response)
    return world, signer, export.write(tmp_path / "export.json")


def _edit(path: Path, change: Any) -> Path:
    doc = json.loads(path.read_text())
    change(doc)
    out = path.with_name("edited.json")
    out.write_text(json.dumps(doc))
    return out


def test_an_export_verifies_on_its_own(exported: tuple[World, AuditSigner, Path]) -> None:
    _, signer, path = exported
    report = audit.verify_export(path, signer.public_key_pem())
    assert report.ok, report.problems
    assert report.signed_seq == report.head_seq == report.entries


def test_a_partial_export_verifies(exported: tuple[World, AuditSigner, Path]) -> None:
    world, signer, _ = exported
    with world.session() as s:
        entries, cp = service.export_audit(s, actor="aud", clock=world.clock, since=10)
    assert entries[0]["seq"] == 11
    path = _edit(exported[2], lambda d: d.update(
        audit.export_document(entries, cp, since=10, public_key_pem=signer.public_key_pem())))
    assert audit.verify_export(path, signer.public_key_pem()).ok


@pytest.mark.parametrize(
    ("label", "change", "expected"),
    [
        ("edit", lambda d: d["entries"][3].update(actor="acc2"), "content does not match"),
        ("drop-last", lambda d: d["entries"].pop(), "does not cover the last entry"),
        ("drop-middle", lambda d: d["entries"].pop(5), "gap/insert"),
        ("unsigned", lambda d: d["checkpoint"].pop("signed"), "not signed"),
        ("resigned", lambda d: d["checkpoint"]["signed"].update(at="2020-01-01"),
         "signature is invalid"),
    ],
)
def test_a_tampered_export_fails(
    exported: tuple[World, AuditSigner, Path], label: str, change: Any, expected: str
) -> None:
    _, signer, path = exported
    report = audit.verify_export(_edit(path, change), signer.public_key_pem())
    assert not report.ok and any(expected in p for p in report.problems), (label, report.problems)


def test_a_rewritten_export_signed_by_another_key_fails(
    exported: tuple[World, AuditSigner, Path], tmp_path: Path
) -> None:
    _, signer, path = exported
    forger = AuditSigner.load_or_create(tmp_path / "forger")
    doc = json.loads(path.read_text())
    entries = doc["entries"]
    entries[2]["actor"] = "acc2"
    prev = entries[1]["hash"]
    for e in entries[2:]:
        e["prev_hash"] = prev
        e["hash"] = prev = audit.AuditRecord(**e).computed_hash()
    last = entries[-1]
    signed = forger.sign_checkpoint(last["seq"], last["hash"], "2026-06-01T12:00:00+00:00")
    doc["checkpoint"] = audit.Checkpoint(last["seq"], last["hash"], signed=signed).to_dict()
    doc["public_key_fingerprint"] = signed.key_id
    path.write_text(json.dumps(doc))
    assert audit.verify_export(path, forger.public_key_pem()).ok  # the forger's own key: fine
    report = audit.verify_export(path, signer.public_key_pem())
    assert not report.ok
    assert "the export names another signing key than the one given" in report.problems


# --- the command -------------------------------------------------------------------------------


def _run(*args: str) -> tuple[int, str]:
    app = typer.Typer()
    register(app)
    result = CliRunner().invoke(app, ["audit", "verify", *args])
    return result.exit_code, result.output


def test_cli_exit_codes(exported: tuple[World, AuditSigner, Path], tmp_path: Path) -> None:
    world, signer, path = exported
    url = str(world.db.engine.url)
    keys = tmp_path / "keys"
    pub = str(keys / PUBLIC_KEY_NAME)
    home = str(tmp_path)
    code, out = _run("--home", home, "--keys-dir", str(keys))
    assert code == 0 and "audit record OK" in out and "signed through" in out, out
    assert _run("--export", str(path), "--public-key", pub)[0] == 0
    code, out = _run("--export", str(path), "--public-key", pub, "--json")
    assert code == 0 and json.loads(out)["source"] == "export"
    tampered = _edit(path, lambda d: d["entries"][1].update(action="x"))
    assert _run("--export", str(tampered), "--public-key", pub)[0] == 1
    # bad input: exit 2 with one line
    for args, message in (
        (("--home", home, "--checkpoint", str(tmp_path / "missing.json")), "no checkpoint file"),
        (("--export", str(path)), "needs --public-key"),
        (("--export", str(tmp_path / "nope.json"), "--public-key", pub), "no export file"),
        (("--home", str(tmp_path / "absent")), "no data home at"),
        (("--home", str(keys)), "no database at"),
        (("--home", home, "--public-key", str(path)), "not a PEM public key"),
    ):
        code, out = _run(*args)
        assert code == 2, (args, out)
        assert out.strip().count("\n") == 0 and message in out, (args, out)
    # tampering in the tables: exit 1, JSON names the row
    engine = create_engine(url)
    with engine.begin() as conn:
        for name in TRIGGERS:
            conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {name}")
        conn.exec_driver_sql("UPDATE decisions SET reasons = 'nothing to see'")
    engine.dispose()
    code, out = _run("--home", home, "--public-key", pub, "--json")
    report = json.loads(out)
    assert code == 1 and not report["ok"]
    assert any(p.startswith("decisions/") for p in report["problems"])
    world.db.dispose()
