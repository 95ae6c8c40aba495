"""Reading a ``*.snapshot.json`` written by ``patrolcast forecast`` before it is recorded.

The digest must be a full SHA-256 of the forecast's values (64 hex characters, optionally
``sha256:``-prefixed); a short or malformed one is refused. The forecast file the snapshot names
(``uri``) must exist; its SHA-256 is checked against ``file_sha256`` when the snapshot carries
one, and is otherwise computed now and recorded with the snapshot, so the file a decision relied
on can be checked later.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError

__all__ = ["file_sha256", "read_snapshot_file"]

_SHA256 = re.compile(r"(sha256:)?[0-9a-f]{64}")


def file_sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read_snapshot_file(path: Path) -> dict[str, Any]:
    """The snapshot as the API's input (method, digest, created_at, params, uri)."""
    if not path.is_file():
        raise InputError(f"snapshot file {path} does not exist")
    try:
        snap = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read snapshot file {path}: {exc}") from None
    if not isinstance(snap, dict) or not {"method", "digest", "created_at"} <= set(snap):
        raise InputError(f"{path} is not a forecast snapshot (method, digest, created_at)")
    digest = str(snap["digest"]).strip().lower()
    if not _SHA256.fullmatch(digest):
        raise InputError(f"{path}: the digest is not a SHA-256 (64 hex characters)")
    params = dict(snap.get("params") or {})
    params.update({k: snap[k] for k in ("window_start", "window_end") if k in snap})
    uri = str(snap.get("uri", ""))
    if uri:
        target = Path(uri.removeprefix("file://"))
        if not target.is_absolute():
            target = path.parent / target
        if not target.is_file():
            raise InputError(f"{path}: the forecast file it names ({target}) does not exist")
        actual = file_sha256(target)
        expected = snap.get("file_sha256")
        if expected is not None and str(expected).lower() != actual:
            raise InputError(
                f"{path}: the forecast file {target.name} has changed since the snapshot was "
                "written (its SHA-256 differs)"
            )
        params["file_sha256"] = actual
    return {
        "method": str(snap["method"]),
        "digest": digest,
        "created_at": str(snap["created_at"]),
        "params": params,
        "uri": uri,
    }
