"""A partitioned store for national volumes: Parquet by dataset, force and month.

Layout under ``root`` (hive partitioning, read alike by DuckDB and by Dask workers)::

    events/dataset=<d>/force=<f>/month=<YYYY-MM>/part-<sha16>.parquet   one file's events
    quarantine/dataset=<d>/force=<f>/part-<sha16>.parquet                rows not stored
    files/dataset=<d>/<sha256>.parquet     one record per ingested file: digest and accounting
    meta/<d>.json                          kind, CRS, time precision, transformation

Ingest (:func:`ingest_partitioned`) runs **one task per file** through any executor (serial,
local processes or :class:`~patrolcast.evaluate.distributed.DaskExecutor`). Each task runs the
ordinary :func:`patrolcast.io.ingest` on its one file into a private staging store, so the
validation, quarantine reasons and accounting (``rows_in = stored + quarantined``, asserted per
file and in total) are exactly those of the single-machine store. The task then moves the
file's events into their force and month partitions under names taken from the file's SHA-256
digest, and writes the file record last, created exclusively: it is the commit mark. A file
whose digest is already recorded is skipped before it is parsed (idempotence), two tasks never
commit the same content twice, and each file is handled by one task only.

Limit: the duplicate-event check of :func:`patrolcast.io.ingest` runs inside each file here
(event ids already stored by *another* file are not looked up); data.police.uk street files hold
one force and month each, so their ids do not overlap.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.io._accounting import FileSummary, IngestSummary
from patrolcast.io._text import file_digest
from patrolcast.io.store import Store, check_dataset_name

__all__ = ["PartitionedStore", "FileJob", "ingest_partitioned", "force_of_file"]

_FORCE_FILE = re.compile(r"^(\d{4}-\d{2})-(?P<force>[a-z0-9-]+?)-(street|stop-and-search)\.csv")


class _Mapper(Protocol):
    def map(self, fn: Any, items: Any) -> Any: ...


def force_of_file(path: Path) -> str:
    """The force slug of a data.police.uk file name (``2019-01-west-yorkshire-street.csv``)."""
    match = _FORCE_FILE.match(path.name)
    if match is None:
        raise InputError(f"{path.name}: not a data.police.uk file name YYYY-MM-<force>-street.csv")
    return match.group("force")


class PartitionedStore:
    """Read access to the partitioned layout (writing goes through :func:`ingest_partitioned`)."""

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    def force_dir(self, dataset: str, force: str) -> Path:
        return self.root / "events" / f"dataset={check_dataset_name(dataset)}" / f"force={force}"

    def files_dir(self, dataset: str) -> Path:
        return self.root / "files" / f"dataset={check_dataset_name(dataset)}"

    def meta(self, dataset: str) -> dict[str, Any]:
        path = self.root / "meta" / f"{check_dataset_name(dataset)}.json"
        if not path.is_file():
            raise InputError(f"no dataset {dataset!r} in partitioned store {self.root}")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    def digests(self, dataset: str) -> set[str]:
        folder = self.files_dir(dataset)
        return {p.stem for p in folder.glob("*.parquet")} if folder.is_dir() else set()

    def forces(self, dataset: str) -> list[str]:
        folder = self.root / "events" / f"dataset={check_dataset_name(dataset)}"
        if not folder.is_dir():
            return []
        return sorted(p.name.split("=", 1)[1] for p in folder.glob("force=*") if p.is_dir())

    def events_glob(self) -> str:
        return str(self.root / "events" / "*" / "*" / "*" / "*.parquet")

    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """SQL over the hive-partitioned events as the view ``events`` (fresh DuckDB)."""
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            glob = self.events_glob().replace("'", "''")
            con.execute(
                "CREATE VIEW events AS SELECT * FROM read_parquet("
                f"'{glob}', hive_partitioning=true, union_by_name=true)"
            )
            return con.execute(sql, params or []).df()
        finally:
            con.close()

    def counts(self, dataset: str) -> pd.DataFrame:
        """Records per force and month (from partition values, pruned by DuckDB)."""
        return self.query(
            "SELECT force, month, count(*) AS n FROM events WHERE dataset = ? "
            "GROUP BY force, month ORDER BY force, month",
            [dataset],
        )

    def files(self, dataset: str) -> pd.DataFrame:
        folder = self.files_dir(dataset)
        if not folder.is_dir() or not any(folder.glob("*.parquet")):
            return pd.DataFrame(columns=["path", "sha256", "rows_in", "stored", "quarantined"])
        return pq.read_table(folder).to_pandas()

    def events(self, dataset: str, *, force: str) -> EventSet:
        """One force's records as an EventSet (time order; the partition folder read by path).

        Same conversion as :meth:`patrolcast.io.Store.events`; records without coordinates are
        left out.
        """
        meta = self.meta(dataset)
        folder = self.force_dir(dataset, force)
        parts = sorted(str(p) for p in folder.glob("month=*/*.parquet"))
        if not parts:
            raise InputError(f"no records of force {force!r} in dataset {dataset!r}")
        table = pq.read_table(parts, columns=["event_id", "time", "x", "y", "count", "harm"],
                              partitioning=None)  # fmt: skip
        frame = table.to_pandas()
        frame = frame[
            np.isfinite(frame["x"].to_numpy(float)) & np.isfinite(frame["y"].to_numpy(float))
        ]
        frame = frame.sort_values(["time", "event_id"], kind="stable")
        stamps: Any = pd.to_datetime(frame["time"], utc=True)
        t = stamps.dt.as_unit("us").astype("int64").to_numpy() / 86_400e6
        return EventSet.from_arrays(
            t,
            frame["x"].to_numpy(np.float64),
            frame["y"].to_numpy(np.float64),
            crs=meta["crs"],
            count=frame["count"].to_numpy(np.float64),
            harm=frame["harm"].to_numpy(np.float64),
            time_precision=meta.get("time_precision", "minute"),
        )


@dataclass(frozen=True)
class FileJob:
    """One file to ingest into one dataset of the partitioned store (a task's whole input)."""

    path: str
    root: str
    dataset: str
    force: str
    crs: str = "EPSG:27700"


def _write_exclusive(path: Path, table: pa.Table) -> bool:
    """Write ``table`` to ``path`` only if no file is there (atomic: link from a temp file)."""
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    pq.write_table(table, tmp)
    try:
        os.link(tmp, path)
        return True
    except FileExistsError:
        return False
    finally:
        tmp.unlink(missing_ok=True)


def _month_parts(table: pa.Table) -> dict[str, pa.Table]:
    months = pc.strftime(table.column("time"), format="%Y-%m").to_numpy(zero_copy_only=False)
    out: dict[str, pa.Table] = {}
    for month in sorted(set(months.tolist())):
        out[month] = table.filter(pa.array(months == month))
    return out


def ingest_file_partitioned(job: FileJob) -> dict[str, Any]:
    """Ingest one file (a task): stage with :func:`patrolcast.io.ingest`, then commit."""
    from patrolcast.io._ingest import ingest

    root = Path(job.root)
    files_dir = PartitionedStore(root).files_dir(job.dataset)
    files_dir.mkdir(parents=True, exist_ok=True)
    digest = file_digest(Path(job.path))
    if (files_dir / f"{digest}.parquet").exists():
        fs = FileSummary(path=job.path, sha256=digest, kind="", status="skipped")
        return {**fs.to_dict(), "force": job.force, "months": []}
    stage = root / "_staging" / uuid.uuid4().hex
    try:
        summary = ingest(job.path, store=Store(stage), dataset=job.dataset, crs=job.crs)
        fs = summary.files[0]
        meta_path = root / "meta" / f"{job.dataset}.json"
        if not meta_path.exists():
            meta_path.parent.mkdir(parents=True, exist_ok=True)
            source = stage / job.dataset / "dataset.json"
            _write_text_exclusive(meta_path, source.read_text(encoding="utf-8"))
        months: list[str] = []
        tag = fs.sha256[:16]
        staged = Store(stage)
        if staged.has_table(job.dataset, "events"):
            events = pq.read_table(staged.dataset_dir(job.dataset) / "events")
            for month, part in _month_parts(events).items():
                folder = PartitionedStore(root).force_dir(job.dataset, job.force) / f"month={month}"
                folder.mkdir(parents=True, exist_ok=True)
                _write_exclusive(folder / f"part-{tag}.parquet", part)
                months.append(month)
        if staged.has_table(job.dataset, "quarantine"):
            folder = root / "quarantine" / f"dataset={job.dataset}" / f"force={job.force}"
            folder.mkdir(parents=True, exist_ok=True)
            q = pq.read_table(staged.dataset_dir(job.dataset) / "quarantine")
            _write_exclusive(folder / f"part-{tag}.parquet", q)
        record = pq.read_table(staged.dataset_dir(job.dataset) / "files")
        record = record.append_column("force", pa.array([job.force] * record.num_rows))
        if not _write_exclusive(files_dir / f"{fs.sha256}.parquet", record):
            # The same content was committed by another task meanwhile: nothing stored here.
            fs = FileSummary(path=job.path, sha256=fs.sha256, kind=fs.kind, status="skipped")
            months = []
        return {**fs.to_dict(), "force": job.force, "months": months}
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _write_text_exclusive(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    tmp.write_text(text, encoding="utf-8")
    try:
        os.link(tmp, path)
    except FileExistsError:
        pass
    finally:
        tmp.unlink(missing_ok=True)


def _summary(dataset: str, rows: Iterable[dict[str, Any]], meta: dict[str, Any]) -> IngestSummary:
    out = IngestSummary(
        dataset=dataset,
        kind=str(meta.get("kind", "")),
        crs=str(meta.get("crs", "")),
        transformation=str(meta.get("transformation", "")),
    )
    for row in rows:
        fs = FileSummary(
            path=row["path"], sha256=row["sha256"], kind=row["kind"], mapping=row["mapping"],
            encoding=row["encoding"], delimiter=row["delimiter"], rows_in=row["rows_in"],
            stored=row["stored"], events=row["events"], quarantined=row["quarantined"],
            status=row["status"],
        )  # fmt: skip
        fs.reasons.update(row["reasons"])
        fs.notes.update(row["notes"])
        out.files.append(fs)
    return out


def ingest_partitioned(
    paths: Sequence[Path | str],
    *,
    root: Path | str,
    dataset: str,
    executor: _Mapper | None = None,
    force: str | None = None,
) -> IngestSummary:
    """Ingest many files in parallel (one task per file) into the partitioned store.

    ``force`` names the force of every file; by default it is read from each file name
    (data.police.uk's ``YYYY-MM-<force>-street.csv``). Files are deduplicated by path before
    the tasks are made, so no file is read by two tasks.
    """
    import time

    started = time.perf_counter()
    check_dataset_name(dataset)
    unique = list(dict.fromkeys(str(Path(p).resolve()) for p in paths))
    if not unique:
        raise InputError("no files to ingest")
    jobs = [
        FileJob(path=p, root=str(root), dataset=dataset, force=force or force_of_file(Path(p)))
        for p in unique
    ]
    if executor is None:
        rows = [ingest_file_partitioned(job) for job in jobs]
    else:
        rows = list(executor.map(ingest_file_partitioned, jobs))
    store = PartitionedStore(root)
    meta = store.meta(dataset) if (store.root / "meta" / f"{dataset}.json").exists() else {}
    summary = _summary(dataset, rows, meta)
    summary.seconds = time.perf_counter() - started
    summary.check()
    return summary
