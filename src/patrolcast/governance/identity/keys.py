"""The server's secret key: one random 32-byte key in a file that only the server reads.

Kept outside the database, so someone with database access alone can neither mint a session
token (the table holds only HMACs of tokens) nor seal a credential row they edited, nor read a
TOTP secret (encrypted with a key derived from this one). The file is created with mode 0600 and
refused if group or others can read it.

Public API
----------
``ServerKey.load_or_create(keys_dir) -> ServerKey``; ``.mac(purpose, *parts) -> str`` (hex
HMAC-SHA256, domain-separated by ``purpose``); ``.encrypt(text)`` / ``.decrypt(token)``
(Fernet, AES-128-CBC + HMAC); ``ServerKey.for_tests()``.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import stat
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from patrolcast.errors import InputError

__all__ = ["KEY_FILE", "ServerKey"]

KEY_FILE = "server.key"


def _private_file_ok(path: Path) -> None:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise InputError(
            f"{path} is readable by other users (mode {stat.S_IMODE(mode):o}): "
            f"chmod 600 {path}"
        )


@dataclass(frozen=True)
class ServerKey:
    """The server's secret (never logged, never stored in the database)."""

    secret: bytes = field(repr=False)

    def __post_init__(self) -> None:
        if len(self.secret) < 32:
            raise InputError("the server key must be at least 32 bytes")

    @classmethod
    def load_or_create(cls, keys_dir: Path) -> ServerKey:
        """Read ``keys_dir/server.key`` (creating folder and key, mode 0600, on first use)."""
        keys_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        path = keys_dir / KEY_FILE
        if not path.exists():
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(fd, "w") as fh:
                fh.write(secrets.token_hex(32) + "\n")
        _private_file_ok(path)
        try:
            return cls(bytes.fromhex(path.read_text().strip()))
        except ValueError:
            raise InputError(f"{path} is not a hex key written by patrolcast") from None

    @classmethod
    def for_tests(cls) -> ServerKey:
        return cls(secrets.token_bytes(32))

    def mac(self, purpose: str, *parts: str | int) -> str:
        """Hex HMAC-SHA256 over ``purpose`` and the parts (unambiguous length-prefixed)."""
        msg = b"".join(
            len(b).to_bytes(4, "big") + b
            for b in (str(p).encode("utf-8") for p in (purpose, *parts))
        )
        return hmac.new(self.secret, msg, hashlib.sha256).hexdigest()

    def _fernet(self) -> Fernet:
        derived = HKDF(
            algorithm=hashes.SHA256(), length=32, salt=None, info=b"patrolcast totp secrets"
        ).derive(self.secret)
        return Fernet(base64.urlsafe_b64encode(derived))

    def encrypt(self, text: str) -> str:
        return self._fernet().encrypt(text.encode("utf-8")).decode("ascii")

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet().decrypt(token.encode("ascii")).decode("utf-8")
        except (InvalidToken, ValueError):
            raise InputError("a stored secret cannot be decrypted with this server's key") from None
