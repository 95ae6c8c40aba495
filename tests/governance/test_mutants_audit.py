"""Sharp tests of the tamper-evident record (audit.py, audit_rows.py, signing.py).

Written from the survivors of the governance-audit mutation run (scripts/mutation.sh): each test
names the rule it protects and checks real behaviour, mostly on hand-built chains and exports
(no database) so that each runs well under a second.
"""

from __future__ import annotations

import json
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
