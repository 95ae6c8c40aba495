"""Zip archives as data.police.uk ships them: monthly folders of street, stop-and-search and
outcomes CSVs, ingested in one run, each kind to its own dataset.

A member's identity is the SHA-256 of its content (the CSV as published, uncompressed), the
same digest a loose copy of that CSV gets: a month ingested from a zip and then again from the
unpacked folder (or from a later archive that repeats it) is skipped the second time. Members are
unpacked one kind at a time into a private temporary folder (never the archive's names as
paths) and ingested with the ordinary per-file accounting; the store records each file as
``<archive>!<member>``.

data.police.uk names members ``YYYY-MM/YYYY-MM-<force>-<street|stop-and-search|outcomes>.csv``;
members named otherwise are classified by their header. Outcomes files have no schema in the
store: their rows are counted and the files skipped with that reason. Anything that is not a
CSV (a README, a folder entry) is listed as skipped.
"""

from __future__ import annotations

import functools
import hashlib
import re
import shutil
import tempfile
import zipfile
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

from patrolcast.errors import InputError
from patrolcast.io._accounting import IngestSummary
from patrolcast.io._ingest import Progress, default_dataset_name, detect_kind, ingest
from patrolcast.io._readers import POLICE_UK_STREET, STOP_SEARCH
from patrolcast.io._text import BLOCK_BYTES, sniff
from patrolcast.io._values import Box
from patrolcast.io.store import Store, check_dataset_name
from patrolcast.taxonomy import Taxonomy

OUTCOMES = "outcomes"
_POLICE_UK_NAME = re.compile(
    r"(?:^|/)(\d{4}-\d{2})-([a-z0-9-]+?)-(street|stop-and-search|outcomes)\.csv$", re.I
)
_NAME_KIND = {"street": POLICE_UK_STREET, "stop-and-search": STOP_SEARCH, "outcomes": OUTCOMES}
# Dataset suffix per kind: ``<name>-street``, ``<name>-stop-and-search``, ...
DATASET_SUFFIX = {POLICE_UK_STREET: "street", STOP_SEARCH: "stop-and-search"}
OUTCOMES_REASON = "skipped: outcomes (the store has no schema for outcome records; rows counted)"
_OUTCOME_COLUMNS = {"Crime ID", "Month", "Outcome type"}
# Refuse an archive whose members would unpack to more than this many times its own size
# (a zip bomb); data.police.uk archives compress CSV about 5-10 times.
MAX_RATIO = 200


def is_zip(path: Path) -> bool:
    """True for a zip archive (by its signature, not its name)."""
    if not path.is_file():
        return False
    with path.open("rb") as fh:
        return fh.read(4) in (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class Member:
    """A member of the archive that was not ingested (outcomes, not a CSV, another layout)."""

    name: str
    status: str
    rows: int | None = None
    sha256: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "status": self.status, "rows": self.rows, "sha256": self.sha256}


@dataclass
class ArchiveSummary:
    """One archive: one ingest summary per kind (dataset), and the members set aside."""

    archive: str
    datasets: list[IngestSummary] = field(default_factory=list)
    skipped: list[Member] = field(default_factory=list)

    @property
    def rows_in(self) -> int:
        return sum(s.rows_in for s in self.datasets)

    def check(self) -> None:
        for s in self.datasets:
            s.check()

    def to_dict(self) -> dict[str, Any]:
        return {
            "archive": self.archive,
            "rows_in": self.rows_in,
            "stored": sum(s.stored for s in self.datasets),
            "quarantined": sum(s.quarantined for s in self.datasets),
            "datasets": [s.to_dict() for s in self.datasets],
            "skipped_members": [m.to_dict() for m in self.skipped],
        }


def _kind_from_name(name: str) -> str | None:
    """The kind of a member from its data.police.uk name, if it has one."""
    match = _POLICE_UK_NAME.search(name)
    return _NAME_KIND[match.group(3).lower()] if match else None


def _safe_name(index: int, name: str) -> str:
    """A file name for an unpacked member: its base name, made safe, prefixed by its index."""
    base = re.sub(r"[^A-Za-z0-9_.-]+", "_", PurePosixPath(name).name).strip("._") or "member"
    return f"{index:05d}-{base[:120]}"


def _unpack(zf: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, archive: Path) -> None:
    try:
        with zf.open(info) as src, target.open("wb") as out:
            shutil.copyfileobj(src, out, 1 << 20)
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise InputError(f"{archive.name}: member {info.filename} is corrupt ({exc})") from None


def _label(labels: dict[Path, str], path: Path) -> str:
    return labels.get(path, str(path))


def _count_and_hash(zf: zipfile.ZipFile, info: zipfile.ZipInfo, archive: Path) -> Member:
    """An outcomes member, read without unpacking: rows after the header and its digest."""
    digest = hashlib.sha256()
    lines = 0
    last = b"\n"
    try:
        with zf.open(info) as src:
            for chunk in iter(lambda: src.read(1 << 20), b""):
                digest.update(chunk)
                lines += chunk.count(b"\n")
                last = chunk[-1:]
    except (zipfile.BadZipFile, OSError, EOFError, RuntimeError) as exc:
        raise InputError(f"{archive.name}: member {info.filename} is corrupt ({exc})") from None
    if last != b"\n":
        lines += 1
    return Member(info.filename, OUTCOMES_REASON, max(lines - 1, 0), digest.hexdigest())


def ingest_archive(
    path: Path | str,
    *,
    store: Store | Path | str,
    dataset: str | None = None,
    crs: str = "EPSG:27700",
    bbox: tuple[float, float, float, float] | Box | None = None,
    taxonomy: Taxonomy | Path | str | None = None,
    shared_data: Path | None = None,
    block_bytes: int = BLOCK_BYTES,
    progress: Progress | None = None,
) -> ArchiveSummary:
    """Ingest every CSV of a zip archive, each kind into dataset ``<dataset>-<kind>``.

    ``dataset`` defaults to the archive's name without ``.zip``. Street files go to
    ``<dataset>-street``, stop-and-search files to ``<dataset>-stop-and-search``; other layouts
    recognised from the header (an incident file a shipped mapping describes, a London
    Datastore table) to ``<dataset>-<kind>``. Per file, ``rows_in = stored + quarantined``, and a
    file whose content digest is already recorded in its dataset is skipped.
    """
    archive = Path(path)
    if not archive.is_file():
        raise InputError(f"{archive} does not exist")
    st = store if isinstance(store, Store) else Store(store)
    prefix = check_dataset_name(dataset or default_dataset_name(archive.with_suffix("")))
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputError(f"{archive.name}: not a readable zip archive ({exc})") from None
    summary = ArchiveSummary(archive=str(archive))
    with zf, tempfile.TemporaryDirectory(prefix="patrolcast-zip-") as tmp:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        declared = sum(i.file_size for i in infos)
        if declared > MAX_RATIO * max(archive.stat().st_size, 1 << 20):
            raise InputError(
                f"{archive.name}: members would unpack to {declared:,} bytes, more than "
                f"{MAX_RATIO} times the archive: refused"
            )
        if any(i.flag_bits & 0x1 for i in infos):
            raise InputError(f"{archive.name}: encrypted members are not supported")
        groups: dict[str, list[tuple[int, zipfile.ZipInfo, Path | None]]] = defaultdict(list)
        loose = Path(tmp) / "sniffed"
        loose.mkdir()
        for index, info in enumerate(sorted(infos, key=lambda i: i.filename)):
            name = info.filename
            if not name.lower().endswith((".csv", ".csv.gz", ".tsv", ".txt")):
                summary.skipped.append(Member(name, "skipped: not a CSV file"))
                continue
            kind = _kind_from_name(name)
            unpacked: Path | None = None
            if kind is None:  # named otherwise: unpacked now, classified by its header
                unpacked = loose / _safe_name(index, name)
                _unpack(zf, info, unpacked, archive)
                fmt = sniff(unpacked)
                if fmt is None:
                    summary.skipped.append(Member(name, "empty", 0))
                    continue
                detected = detect_kind(fmt.header)
                if set(fmt.header) >= _OUTCOME_COLUMNS:
                    kind = OUTCOMES
                elif detected is not None:
                    kind = detected.kind
                else:
                    cols = ", ".join(fmt.header[:4])[:80]
                    summary.skipped.append(Member(name, f"skipped: unknown layout ({cols}...)"))
                    continue
            if kind == OUTCOMES:
                summary.skipped.append(_count_and_hash(zf, info, archive))
                continue
            groups[kind].append((index, info, unpacked))
        for kind in sorted(groups):  # one kind unpacked at a time: disk use is one kind's size
            kind_dir = Path(tmp) / "kind"
            kind_dir.mkdir()
            labels: dict[Path, str] = {}
            for index, info, unpacked in groups[kind]:
                target = kind_dir / _safe_name(index, info.filename)
                if unpacked is not None:
                    unpacked.replace(target)
                else:
                    _unpack(zf, info, target, archive)
                labels[target] = f"{archive}!{info.filename}"
            name = f"{prefix}-{DATASET_SUFFIX.get(kind, kind)}"[:100]
            result = ingest(
                kind_dir, store=st, kind=kind, dataset=check_dataset_name(name), crs=crs,
                bbox=bbox, taxonomy=taxonomy, shared_data=shared_data, block_bytes=block_bytes,
                progress=progress, label=functools.partial(_label, labels),
            )  # fmt: skip
            summary.datasets.append(result)
            shutil.rmtree(kind_dir)
    if not summary.datasets and not summary.skipped:
        raise InputError(f"{archive.name}: the archive holds no files")
    summary.check()
    return summary
