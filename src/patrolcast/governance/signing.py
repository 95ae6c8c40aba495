"""Ed25519 signatures over audit checkpoints: the server's key, kept outside the database.

The server holds a private key in a keys folder (never in the database). Every audit entry it
appends is covered by a :class:`SignedCheckpoint` signed in the same transaction, so an entry
appended by anyone without the key (a person with database access, a process started without
the key) leaves the head unsigned, and a rewritten chain no longer matches the signed hashes.
Each checkpoint also carries two counters the server keeps honest from the previous signed
checkpoint: ``adopted_seq`` (entries up to this seq existed before the key first signed) and
``unsigned`` (entries after ``adopted_seq`` that the key did not sign), so one signature check
of the newest checkpoint vouches for the whole chain (Crosby & Wallach 2009, tamper-evident
logging; RFC 8032 Ed25519).

Files in ``keys_dir`` (see :meth:`AuditSigner.load_or_create`):

``audit-signing-key.pem``
    PKCS#8 PEM private key, created with mode 0600; a key file readable by group or others is
    refused.
``audit-signing-key.pub.pem``
    The public key (SubjectPublicKeyInfo PEM) for verifiers.
``audit-checkpoints.jsonl``
    Append-only JSON lines, one signed checkpoint per committed write transaction (optional);
    a truncated chain whose old head was restored in the database is still caught from here.

Public API
----------
``AuditSigner`` (``load_or_create(keys_dir)``, ``load(keys_dir)``, ``public_key_pem()``,
``key_id``, ``sign_checkpoint(seq, hash, at) -> SignedCheckpoint``), ``SignedCheckpoint``,
``verify_checkpoint(cp, public_key_pem) -> bool``, ``key_fingerprint(public_key_pem)``,
``read_checkpoint_log(path)``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import stat
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from patrolcast.errors import InputError

__all__ = [
    "CHECKPOINT_LOG_NAME",
    "KEY_NAME",
    "PUBLIC_KEY_NAME",
    "SIGNER_INFO_KEY",
    "AuditSigner",
    "SignedCheckpoint",
    "key_fingerprint",
    "load_public_key_file",
    "read_checkpoint_log",
    "verify_checkpoint",
]

KEY_NAME = "audit-signing-key.pem"
PUBLIC_KEY_NAME = "audit-signing-key.pub.pem"
CHECKPOINT_LOG_NAME = "audit-checkpoints.jsonl"
#: Where :func:`patrolcast.governance.db.open_database` keeps the signer in ``Session.info``.
SIGNER_INFO_KEY = "patrolcast.audit.signer"
_DOMAIN = "patrolcast-audit-checkpoint/v1"


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _public_raw(key: Ed25519PublicKey) -> bytes:
    return key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _load_public(pem: str | bytes) -> Ed25519PublicKey:
    try:  # a non-ASCII text (a wrong file) is refused like any other non-PEM input
        data = pem.encode("ascii") if isinstance(pem, str) else pem
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError):
        raise InputError("the public key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("the public key is not an Ed25519 key")
    return key


def key_fingerprint(public_key_pem: str | bytes) -> str:
    """``sha256:<hex>`` of the raw 32-byte Ed25519 public key (the ``key_id`` of checkpoints)."""
    return "sha256:" + hashlib.sha256(_public_raw(_load_public(public_key_pem))).hexdigest()


def load_public_key_file(path: Path) -> str:
    """Read a PEM public key file (InputError if missing or not an Ed25519 public key)."""
    if not path.is_file():
        raise InputError(f"no public key file at {path}")
    text = path.read_text(encoding="ascii", errors="replace")
    _load_public(text)
    return text


@dataclass(frozen=True)
class SignedCheckpoint:
    """``{seq, hash}`` of the chain at ``at``, signed by the key ``key_id``.

    ``adopted_seq``: entries up to this seq were in the chain when this key first signed.
    ``unsigned``: how many entries after ``adopted_seq`` and up to ``seq`` this key did not
    sign (zero when every later entry was written by the server).
    """

    seq: int
    hash: str
    at: str
    key_id: str
    adopted_seq: int = 0
    unsigned: int = 0
    signature: str = ""

    def message(self) -> bytes:
        body = {
            "domain": _DOMAIN,
            "seq": self.seq,
            "hash": self.hash,
            "at": self.at,
            "key_id": self.key_id,
            "adopted_seq": self.adopted_seq,
            "unsigned": self.unsigned,
        }
        return _canonical(body).encode("utf-8")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, raw: Any) -> SignedCheckpoint:
        try:
            return cls(
                seq=int(raw["seq"]),
                hash=str(raw["hash"]),
                at=str(raw["at"]),
                key_id=str(raw["key_id"]),
                adopted_seq=int(raw.get("adopted_seq", 0)),
                unsigned=int(raw.get("unsigned", 0)),
                signature=str(raw["signature"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError):
            raise InputError(
                "signed checkpoint needs seq, hash, at, key_id and signature"
            ) from None


def verify_checkpoint(cp: SignedCheckpoint, public_key_pem: str | bytes) -> bool:
    """True when ``cp`` carries a valid signature by this public key (and names its key)."""
    key = _load_public(public_key_pem)
    if cp.key_id != "sha256:" + hashlib.sha256(_public_raw(key)).hexdigest():
        return False
    try:
        key.verify(base64.b64decode(cp.signature, validate=True), cp.message())
    except (InvalidSignature, ValueError):
        return False
    return True


class AuditSigner:
    """The server's checkpoint signer (an Ed25519 private key) and its checkpoint log file."""

    def __init__(self, private_key: Ed25519PrivateKey, *, checkpoint_log: Path | None = None):
        self._key = private_key
        self._public = private_key.public_key()
        self.key_id = "sha256:" + hashlib.sha256(_public_raw(self._public)).hexdigest()
        self.checkpoint_log = checkpoint_log

    # --- keys -------------------------------------------------------------------------------
    @classmethod
    def load_or_create(cls, keys_dir: Path, *, checkpoint_log: bool = True) -> AuditSigner:
        """Load ``keys_dir/audit-signing-key.pem``, creating the folder (0700) and a new key
        (0600) when there is none; the public key is written beside it. ``checkpoint_log``
        appends every signed checkpoint to ``keys_dir/audit-checkpoints.jsonl``."""
        keys_dir = Path(keys_dir)
        path = keys_dir / KEY_NAME
        if not path.exists():
            keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            key = Ed25519PrivateKey.generate()
            pem = key.private_bytes(
                serialization.Encoding.PEM,
                serialization.PrivateFormat.PKCS8,
                serialization.NoEncryption(),
            )
            try:
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            except FileExistsError:  # another process created it first: load theirs
                return cls.load(keys_dir, checkpoint_log=checkpoint_log)
            with os.fdopen(fd, "wb") as fh:
                fh.write(pem)
                fh.flush()
                os.fsync(fh.fileno())
        return cls.load(keys_dir, checkpoint_log=checkpoint_log)

    @classmethod
    def load(cls, keys_dir: Path, *, checkpoint_log: bool = True) -> AuditSigner:
        """Load an existing key; refuse a missing key or one readable by group or others."""
        keys_dir = Path(keys_dir)
        path = keys_dir / KEY_NAME
        if not path.is_file():
            raise InputError(f"no audit signing key at {path}")
        mode = stat.S_IMODE(path.stat().st_mode)
        if mode & 0o077:
            raise InputError(
                f"audit signing key {path} is readable by group or others (mode {mode:o}): "
                "chmod 600 it"
            )
        try:
            key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        except (ValueError, TypeError):
            raise InputError(f"{path} is not an unencrypted PEM private key") from None
        if not isinstance(key, Ed25519PrivateKey):
            raise InputError(f"{path} is not an Ed25519 private key")
        signer = cls(key, checkpoint_log=keys_dir / CHECKPOINT_LOG_NAME if checkpoint_log else None)
        public = keys_dir / PUBLIC_KEY_NAME
        if not public.exists() or public.read_text(encoding="ascii") != signer.public_key_pem():
            public.write_text(signer.public_key_pem(), encoding="ascii")
        return signer

    def public_key_pem(self) -> str:
        return self._public.public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        ).decode("ascii")

    # --- checkpoints ------------------------------------------------------------------------
    def sign_checkpoint(
        self, seq: int, hash: str, at: str, *, adopted_seq: int = 0, unsigned: int = 0
    ) -> SignedCheckpoint:
        unsigned_cp = SignedCheckpoint(
            seq=seq, hash=hash, at=at, key_id=self.key_id, adopted_seq=adopted_seq,
            unsigned=unsigned,
        )
        signature = base64.b64encode(self._key.sign(unsigned_cp.message())).decode("ascii")
        return SignedCheckpoint(**{**asdict(unsigned_cp), "signature": signature})

    def verify(self, cp: SignedCheckpoint) -> bool:
        """True when ``cp`` was signed by this signer's key."""
        return verify_checkpoint(cp, self.public_key_pem())

    def last_recorded(self) -> SignedCheckpoint | None:
        """The last checkpoint in the log file (None without a log or a readable last line)."""
        if self.checkpoint_log is None or not self.checkpoint_log.is_file():
            return None
        with self.checkpoint_log.open("rb") as fh:
            fh.seek(0, os.SEEK_END)
            fh.seek(max(0, fh.tell() - 8192))
            tail = fh.read().decode("utf-8", errors="replace").strip().splitlines()
        try:
            return SignedCheckpoint.from_dict(json.loads(tail[-1])) if tail else None
        except (ValueError, InputError):
            return None

    def record(self, cp: SignedCheckpoint) -> None:
        """Append ``cp`` to the checkpoint log file (if configured) and fsync it."""
        if self.checkpoint_log is None:
            return
        line = _canonical(cp.to_dict()) + "\n"
        fd = os.open(self.checkpoint_log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o640)
        try:
            os.write(fd, line.encode("utf-8"))
            os.fsync(fd)
        finally:
            os.close(fd)


def read_checkpoint_log(path: Path) -> list[SignedCheckpoint]:
    """Every checkpoint of a JSON-lines checkpoint log (InputError on a malformed line)."""
    if not path.is_file():
        raise InputError(f"no checkpoint log at {path}")
    out: list[SignedCheckpoint] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        try:
            raw = json.loads(line)
        except ValueError:
            raise InputError(f"{path} line {n} is not JSON") from None
        out.append(SignedCheckpoint.from_dict(raw))
    return out
