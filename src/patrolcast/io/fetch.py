"""Download data.police.uk monthly files: resumable, checksummed, polite.

URL patterns (``base_url`` is a setting: ``--base-url``, else ``PATROLCAST_POLICE_UK_BASE_URL``,
else :data:`DEFAULT_BASE_URL`)::

    layout "files"   {base_url}/{YYYY-MM}/{YYYY-MM}-{force}-{kind}.csv
                     kind: street, stop-and-search, outcomes (the names inside the archive)
    layout "archive" {base_url}/{YYYY-MM}.zip
                     data.police.uk's monthly archive: every force, 36 months up to YYYY-MM
    layout "api"     {api_url}/crimes-street/all-crime?poly=<force outline>&date=YYYY-MM
                     street crimes of one force area as JSON, saved and converted to the
                     street CSV layout (see :mod:`patrolcast.io.police_uk_api`)

The live site publishes the monthly archives at ``https://data.police.uk/data/archive/YYYY-MM.zip``
and the per-force CSVs only inside them (or in custom downloads it builds on request), so the
"files" layout is for a server that mirrors the unpacked archive (an internal file server, a
cache); ``--layout archive`` fetches the published archives themselves.

Each file is downloaded to ``<out>/<relative path>.part`` and renamed when complete; an
interrupted file (a dropped connection, an interrupted run) is resumed with an HTTP ``Range``
request from the bytes already on disk (restarted if the server ignores the range). Finished
files are skipped on the next run after their SHA-256 is checked against the manifest
(``<out>/manifest.json``: URL, bytes, SHA-256, time); a file whose digest differs from the one
recorded (changed on disk, or republished when ``refresh`` downloads it again) is reported. A
month that is not published (404) is reported and the others continue. ``429``/``503`` responses
are waited out (``Retry-After``, capped) and retried; every request is preceded by a delay
(``delay`` seconds, default 1) so a public server is never hammered.
"""

from __future__ import annotations

import email.utils
import hashlib
import http.client
import json
import os
import re
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError
from patrolcast.io import police_uk_api

DEFAULT_BASE_URL = "https://data.police.uk/data/archive"
BASE_URL_ENV = "PATROLCAST_POLICE_UK_BASE_URL"
KINDS = ("street", "stop-and-search", "outcomes")
LAYOUTS = ("files", "archive", "api")
MANIFEST = "manifest.json"
USER_AGENT = "patrolcast-fetch (+https://github.com/; polite: one request at a time)"
_FORCE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
_MONTH = re.compile(r"^(\d{4})-(\d{2})$")
_MAX_MONTHS = 240
_CHUNK = 1 << 16

Progress = Callable[[str, int, int | None], None]  # (file, bytes so far, total or None)


class FetchError(InputError):
    """A download that failed after its retries (one line: file, what happened)."""


def base_url(flag: str | None = None) -> str:
    """The base URL: the flag, else ``PATROLCAST_POLICE_UK_BASE_URL``, else the default."""
    url = (flag or os.environ.get(BASE_URL_ENV) or DEFAULT_BASE_URL).rstrip("/")
    scheme = urllib.parse.urlsplit(url).scheme
    if scheme not in ("http", "https"):
        raise InputError(f"base URL {url!r}: use an http:// or https:// URL")
    return url


def months(start: str, end: str) -> list[str]:
    """``YYYY-MM`` months from ``start`` to ``end`` inclusive."""
    bounds = []
    for text, flag in ((start, "--from"), (end, "--to")):
        match = _MONTH.match(text)
        if not match or not 1 <= int(match.group(2)) <= 12:
            raise InputError(f"{flag} {text!r}: give a month as YYYY-MM")
        bounds.append(int(match.group(1)) * 12 + int(match.group(2)) - 1)
    if bounds[0] > bounds[1]:
        raise InputError(f"--from {start} is after --to {end}")
    if bounds[1] - bounds[0] >= _MAX_MONTHS:
        raise InputError(f"{start} to {end} is more than {_MAX_MONTHS} months: fetch in parts")
    return [f"{m // 12:04d}-{m % 12 + 1:02d}" for m in range(bounds[0], bounds[1] + 1)]


def plan(
    force: str, start: str, end: str, *, kinds: tuple[str, ...] = ("street", "stop-and-search"),
    layout: str = "files", base: str | None = None,
) -> list[tuple[str, str]]:  # fmt: skip
    """(URL, relative path) of every file to fetch, in month order."""
    if not _FORCE.match(force):
        raise InputError(
            f"--force {force!r}: give the data.police.uk force id (e.g. city-of-london, "
            "metropolitan, west-yorkshire)"
        )
    if layout not in LAYOUTS:
        raise InputError(f"--layout {layout!r}: use one of {', '.join(LAYOUTS)}")
    unknown = [k for k in kinds if k not in KINDS]
    if unknown or not kinds:
        raise InputError(f"--kind {', '.join(unknown) or '(none)'}: use {', '.join(KINDS)}")
    if layout == "api":
        if "street" not in kinds:
            raise InputError("--layout api fetches street crimes only: use --kind street")
        return police_uk_api.street_items(force, months(start, end), police_uk_api.api_url(base))
    root = base_url(base)
    out: list[tuple[str, str]] = []
    for month in months(start, end):
        if layout == "archive":
            out.append((f"{root}/{month}.zip", f"{month}.zip"))
            continue
        for kind in kinds:
            rel = f"{month}/{month}-{force}-{kind}.csv"
            out.append((f"{root}/{rel}", rel))
    return out


@dataclass
class FileResult:
    """What happened to one file."""

    url: str
    path: str  # relative to the output folder
    status: str  # downloaded | resumed | skipped | not found | changed | restored | failed
    bytes: int = 0
    sha256: str = ""
    message: str = ""
    previous_sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {k: v for k, v in self.__dict__.items() if v != ""}


@dataclass
class FetchSummary:
    out: str
    files: list[FileResult] = field(default_factory=list)

    def count(self, status: str) -> int:
        return sum(f.status == status for f in self.files)

    @property
    def failed(self) -> list[FileResult]:
        return [f for f in self.files if f.status == "failed"]

    def to_dict(self) -> dict[str, Any]:
        statuses = sorted({f.status for f in self.files})
        return {
            "out": self.out,
            "counts": {s: self.count(s) for s in statuses},
            "files": [f.to_dict() for f in self.files],
        }


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _load_manifest(out: Path) -> dict[str, dict[str, Any]]:
    path = out / MANIFEST
    if not path.is_file():
        return {}
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise InputError(
            f"{path}: unreadable manifest ({exc}); move it away to start anew"
        ) from None
    files = data.get("files", {}) if isinstance(data, dict) else {}
    return files if isinstance(files, dict) else {}


def _save_manifest(out: Path, files: dict[str, dict[str, Any]]) -> None:
    path = out / MANIFEST
    tmp = path.with_name(MANIFEST + ".tmp")
    tmp.write_text(json.dumps({"files": files}, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def _retry_after(value: str | None, default: float) -> float:
    """Seconds to wait from a ``Retry-After`` header (seconds or an HTTP date)."""
    if not value:
        return default
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return default
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return max(0.0, (when - datetime.now(UTC)).total_seconds())


class _Gone(Exception):
    """404/410: not published."""


class _Retry(Exception):
    def __init__(self, message: str, wait: float) -> None:
        super().__init__(message)
        self.wait = wait


def _get(
    url: str, part: Path, *, timeout: float, max_wait: float, progress: Progress | None, label: str
) -> bool:
    """One request, appending to ``part`` (resuming from its size). True if it resumed."""
    have = part.stat().st_size if part.exists() else 0
    headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}
    if have:
        headers["Range"] = f"bytes={have}-"
    request = urllib.request.Request(url, headers=headers)
    try:
        response = urllib.request.urlopen(request, timeout=timeout)  # noqa: S310 (scheme checked)
    except urllib.error.HTTPError as exc:
        exc.close()
        if exc.code in (404, 410):
            raise _Gone(f"HTTP {exc.code}") from None
        if exc.code == 416 and have:  # the range starts at or past the end: start again
            part.unlink()
            raise _Retry("HTTP 416 for the partial file; starting again", 0.0) from None
        if exc.code in (429, 503):
            wait = _retry_after(exc.headers.get("Retry-After"), 30.0)
            if wait > max_wait:
                raise FetchError(
                    f"{label}: HTTP {exc.code}, server asks to wait {wait:.0f} s "
                    f"(more than --max-wait {max_wait:.0f} s)"
                ) from None
            raise _Retry(f"HTTP {exc.code}", wait) from None
        if 500 <= exc.code < 600:
            raise _Retry(f"HTTP {exc.code}", 0.0) from None
        raise FetchError(f"{label}: HTTP {exc.code} {exc.reason}") from None
    except (urllib.error.URLError, OSError, http.client.HTTPException) as exc:
        reason = getattr(exc, "reason", exc)
        raise _Retry(f"connection failed ({reason})", 0.0) from None
    with response:
        resumed = have > 0 and response.status == 206
        if have and response.status == 200:
            have = 0  # the server ignored the range: the whole file again
        length = response.headers.get("Content-Length")
        total = have + int(length) if length and length.isdigit() else None
        done = have
        try:
            with part.open("ab" if resumed else "wb") as fh:
                while True:
                    chunk = response.read(_CHUNK)
                    if not chunk:
                        break
                    fh.write(chunk)
                    done += len(chunk)
                    if progress:
                        progress(label, done, total)
        except (OSError, http.client.HTTPException) as exc:
            raise _Retry(f"connection dropped after {done:,} bytes ({exc})", 0.0) from None
        if total is not None and done < total:
            raise _Retry(f"connection dropped after {done:,} of {total:,} bytes", 0.0)
    return resumed


def fetch_files(
    items: list[tuple[str, str]],
    out: Path | str,
    *,
    delay: float = 1.0,
    retries: int = 4,
    timeout: float = 60.0,
    max_wait: float = 300.0,
    refresh: bool = False,
    progress: Progress | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> FetchSummary:
    """Download ``items`` (URL, relative path) into ``out``; see the module docstring."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    manifest = _load_manifest(folder)
    summary = FetchSummary(out=str(folder))
    first_request = True
    for url, rel in items:
        target = folder / rel
        part = target.with_name(target.name + ".part")
        recorded = manifest.get(rel)
        result = FileResult(url=url, path=rel, status="downloaded")
        summary.files.append(result)
        if target.is_file() and not refresh:
            digest = _sha256(target)
            if recorded is None or recorded.get("sha256") == digest:
                result.status, result.sha256 = "skipped", digest
                result.bytes = target.stat().st_size
                if recorded is None:  # a file put there by hand: recorded as found
                    manifest[rel] = _entry(url, target, digest)
                    _save_manifest(folder, manifest)
                continue
            result.previous_sha256 = str(recorded.get("sha256", ""))
            result.message = "changed on disk since it was downloaded; downloading again"
        target.parent.mkdir(parents=True, exist_ok=True)
        resumed_any = False  # True once a request continued a partial file (HTTP 206)
        attempt = 0
        while True:
            if not first_request and delay > 0:
                sleep(delay)
            first_request = False
            try:
                resumed_any = _get(
                    url, part, timeout=timeout, max_wait=max_wait, progress=progress, label=rel
                )
                break
            except _Gone as gone:
                result.status, result.message = "not found", f"{gone} (not published?)"
                part.unlink(missing_ok=True)
                break
            except _Retry as again:
                attempt += 1
                if attempt > retries:
                    result.status = "failed"
                    result.message = f"{again} after {attempt} attempts"
                    break
                sleep(max(again.wait, delay))
                first_request = True  # the wait above was this request's delay
            except FetchError as exc:
                result.status, result.message = "failed", str(exc)
                break
        if result.status in ("not found", "failed"):
            continue
        part.replace(target)
        digest = _sha256(target)
        result.sha256, result.bytes = digest, target.stat().st_size
        if resumed_any:
            result.status = "resumed"
        previous = recorded.get("sha256") if recorded else None
        if previous and previous != digest:
            result.status = "changed"
            result.previous_sha256 = str(previous)
            result.message = result.message or "the publisher's file changed since last download"
        elif previous == digest and result.message:
            result.status = "restored"
            result.message = "the copy on disk had changed; downloaded again, same as recorded"
        manifest[rel] = _entry(url, target, digest)
        _save_manifest(folder, manifest)
    return summary


def _entry(url: str, target: Path, digest: str) -> dict[str, Any]:
    return {
        "url": url,
        "bytes": target.stat().st_size,
        "sha256": digest,
        "fetched_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


def fetch_police_uk(
    force: str, start: str, end: str, out: Path | str, *,
    kinds: tuple[str, ...] = ("street", "stop-and-search"), layout: str = "files",
    base: str | None = None, **options: Any,
) -> FetchSummary:  # fmt: skip
    """Download a force's monthly files from ``start`` to ``end`` (``YYYY-MM``) into ``out``."""
    items = plan(force, start, end, kinds=kinds, layout=layout, base=base)
    summary = fetch_files(items, out, **options)
    if layout == "api":  # each month's JSON, as downloaded, also in the archive's CSV layout
        for f in summary.files:
            if f.status not in ("not found", "failed"):
                police_uk_api.street_csv(Path(out) / f.path)
    return summary


__all__ = [
    "DEFAULT_BASE_URL",
    "FetchError",
    "FetchSummary",
    "FileResult",
    "base_url",
    "fetch_files",
    "fetch_police_uk",
    "months",
    "plan",
]
