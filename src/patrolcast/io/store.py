"""The analytical store: Parquet part files per dataset, queried with DuckDB.

Layout under ``root`` (``<home>/store``)::

    <dataset>/dataset.json          kind, CRS, time precision, transformation used
    <dataset>/events/*.parquet      one record per event (or per area x offence x month)
    <dataset>/quarantine/*.parquet  rows not stored: file, line, reason, raw text (redacted)
    <dataset>/files/*.parquet       one record per ingested file: digest and accounting

Part files are appended, never rewritten, so the store scales to tens of millions of rows;
DuckDB scans them in parallel and pushes filters down.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.events import EventSet

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,99}$")
TABLES = ("events", "quarantine", "files")


def check_dataset_name(name: str) -> str:
    """A dataset name usable as a folder name (letters, digits, ``_ . -``)."""
    if not _NAME.match(name):
        raise InputError(
            f"dataset name {name!r} is not allowed: use letters, digits, '_', '.', '-' (max 100)"
        )
    return name


@dataclass(frozen=True)
class DatasetInfo:
    """What the store knows about one dataset."""

    name: str
    kind: str
    crs: str
    time_precision: str
    transformation: str
    mapping: str | None
    events: int
    files: int

    def to_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


def _as_timestamp(value: datetime | float | str | None) -> pd.Timestamp | None:
    """A UTC timestamp from an aware datetime, days since epoch, or ISO text."""
    if value is None:
        return None
    if isinstance(value, int | float):
        return pd.Timestamp(float(value) * 86_400.0, unit="s", tz="UTC")
    if isinstance(value, datetime) and (value.tzinfo is None or value.utcoffset() is None):
        raise InputError(f"naive datetime {value!r}: give a timezone (times are stored in UTC)")
    stamp = pd.Timestamp(value)
    if stamp.tzinfo is None:
        raise InputError(f"time {value!r} has no timezone (times are stored in UTC)")
    return stamp.tz_convert("UTC")


class Store:
    """Read access to the analytical store (writing happens through :func:`patrolcast.io.ingest`).

    Parameters
    ----------
    root : the store folder, usually ``Settings.store_dir`` (``<home>/store``).
    """

    def __init__(self, root: Path | str) -> None:
        self.root = Path(root)

    # -- paths -----------------------------------------------------------------------------
    def dataset_dir(self, dataset: str) -> Path:
        return self.root / check_dataset_name(dataset)

    def table_glob(self, dataset: str, table: str) -> str:
        return str(self.dataset_dir(dataset) / table / "*.parquet")

    def has_table(self, dataset: str, table: str) -> bool:
        folder = self.dataset_dir(dataset) / table
        return folder.is_dir() and any(folder.glob("*.parquet"))

    def meta(self, dataset: str) -> dict[str, Any]:
        path = self.dataset_dir(dataset) / "dataset.json"
        if not path.is_file():
            known = ", ".join(d.name for d in self.datasets()) or "none"
            raise InputError(f"no dataset {dataset!r} in store {self.root} (datasets: {known})")
        data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
        return data

    # -- queries ---------------------------------------------------------------------------
    def query(self, sql: str, params: Sequence[Any] | None = None) -> pd.DataFrame:
        """Run SQL on a fresh in-memory DuckDB connection; returns a DataFrame."""
        con = duckdb.connect()
        try:
            con.execute("SET enable_progress_bar = false")
            return con.execute(sql, params or []).df()
        finally:
            con.close()

    def _source(self, dataset: str, table: str) -> str:
        glob = str(self.table_glob(dataset, table)).replace("'", "''")
        return f"read_parquet('{glob}', union_by_name=true)"

    def datasets(self) -> list[DatasetInfo]:
        """Every dataset in the store, with its kind, CRS and size."""
        out: list[DatasetInfo] = []
        if not self.root.is_dir():
            return out
        for folder in sorted(p for p in self.root.iterdir() if (p / "dataset.json").is_file()):
            meta = json.loads((folder / "dataset.json").read_text(encoding="utf-8"))
            name = folder.name
            events = files = 0
            if self.has_table(name, "events"):
                events = int(
                    self.query(f"SELECT count(*) AS n FROM {self._source(name, 'events')}")["n"][0]
                )
            if self.has_table(name, "files"):
                files = int(
                    self.query(f"SELECT count(*) AS n FROM {self._source(name, 'files')}")["n"][0]
                )
            out.append(
                DatasetInfo(
                    name=name,
                    kind=meta.get("kind", ""),
                    crs=meta.get("crs", ""),
                    time_precision=meta.get("time_precision", "minute"),
                    transformation=meta.get("transformation", ""),
                    mapping=meta.get("mapping"),
                    events=events,
                    files=files,
                )
            )
        return out

    def _where(
        self,
        groups: Sequence[str] | str | None,
        start: datetime | float | str | None,
        end: datetime | float | str | None,
    ) -> tuple[str, list[Any]]:
        clauses: list[str] = []
        params: list[Any] = []
        if groups is not None:
            group_list = [groups] if isinstance(groups, str) else list(groups)
            if not group_list:
                raise InputError(
                    "groups is empty: give at least one offence group, or None for all"
                )
            clauses.append(f"offence_group IN ({', '.join('?' for _ in group_list)})")
            params.extend(group_list)
        lo, hi = _as_timestamp(start), _as_timestamp(end)
        if lo is not None:
            clauses.append('"time" >= ?')
            params.append(lo.to_pydatetime())
        if hi is not None:
            clauses.append('"time" < ?')
            params.append(hi.to_pydatetime())
        return (" WHERE " + " AND ".join(clauses)) if clauses else "", params

    def events_frame(
        self,
        dataset: str,
        *,
        groups: Sequence[str] | str | None = None,
        start: datetime | float | str | None = None,
        end: datetime | float | str | None = None,
        columns: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Stored records of ``dataset`` as a DataFrame, ordered by time.

        ``groups`` filters offence groups (None: all); ``start``/``end`` give the half-open
        window ``[start, end)`` as aware datetimes, days since epoch, or ISO text with a zone.
        """
        self.meta(dataset)
        if not self.has_table(dataset, "events"):
            return pd.DataFrame(columns=list(columns or ["event_id", "time", "x", "y"]))
        where, params = self._where(groups, start, end)
        cols = ", ".join(f'"{c}"' for c in columns) if columns else "*"
        sql = (
            f'SELECT {cols} FROM {self._source(dataset, "events")}{where} ORDER BY "time", event_id'
        )
        frame = self.query(sql, params)
        if "time" in frame.columns:
            frame["time"] = pd.to_datetime(frame["time"], utc=True).dt.tz_convert("UTC")
        return frame

    def events(
        self,
        dataset: str,
        *,
        groups: Sequence[str] | str | None = None,
        start: datetime | float | str | None = None,
        end: datetime | float | str | None = None,
    ) -> EventSet:
        """Stored records of ``dataset`` as an :class:`~patrolcast.events.EventSet`.

        Records without coordinates (stop-and-search rows kept for aggregate checks, areas with
        no boundary) are left out: an EventSet is for spatial work.
        """
        meta = self.meta(dataset)
        frame = self.events_frame(
            dataset, groups=groups, start=start, end=end,
            columns=["time", "x", "y", "count", "harm", "mark"],
        )  # fmt: skip
        if len(frame):
            frame = frame[
                np.isfinite(frame["x"].to_numpy(float)) & np.isfinite(frame["y"].to_numpy(float))
            ]
        stamps: Any = pd.to_datetime(frame["time"], utc=True)
        t = (
            stamps.dt.as_unit("us").astype("int64").to_numpy() / 86_400e6
            if len(frame)
            else np.zeros(0)
        )
        mark = frame["mark"].to_numpy(dtype=np.int64) if len(frame) else np.zeros(0, np.int64)
        has_mark = bool(len(mark)) and bool((mark >= 0).any())
        return EventSet.from_arrays(
            t,
            frame["x"].to_numpy(dtype=np.float64) if len(frame) else np.zeros(0),
            frame["y"].to_numpy(dtype=np.float64) if len(frame) else np.zeros(0),
            crs=meta["crs"],
            count=frame["count"].to_numpy(dtype=np.float64) if len(frame) else np.zeros(0),
            harm=frame["harm"].to_numpy(dtype=np.float64) if len(frame) else np.zeros(0),
            time_precision=meta.get("time_precision", "minute"),
            mark=mark if has_mark else None,
        )

    def area_counts(
        self, dataset: str, *, groups: Sequence[str] | str | None = None
    ) -> pd.DataFrame:
        """Counts and harm per area, month and offence group.

        Columns: ``area_code, area_name, borough, month`` (UTC timestamp of the month's start),
        ``offence_group, count, harm``. For point datasets with an area code (data.police.uk
        LSOA, US police districts) the events are counted per area and month.
        """
        self.meta(dataset)
        cols = ["area_code", "area_name", "borough", "month", "offence_group", "count", "harm"]
        if not self.has_table(dataset, "events"):
            return pd.DataFrame(columns=cols)
        where, params = self._where(groups, None, None)
        where = (where + " AND " if where else " WHERE ") + "area_code IS NOT NULL"
        sql = f"""
            SELECT area_code, any_value(area_name) AS area_name, any_value(borough) AS borough,
                   date_trunc('month', "time" AT TIME ZONE 'UTC') AS month_naive,
                   offence_group, sum("count") AS "count", sum(harm) AS harm
            FROM {self._source(dataset, "events")}{where}
            GROUP BY area_code, month_naive, offence_group
            ORDER BY area_code, month_naive, offence_group
        """
        frame = self.query(sql, params)
        frame["month"] = pd.to_datetime(frame.pop("month_naive")).dt.tz_localize("UTC")
        return frame[cols]

    def stop_searches(self, dataset: str) -> pd.DataFrame:
        """Stop-and-search records of ``dataset`` (time, place, search fields, ethnicity)."""
        meta = self.meta(dataset)
        if meta.get("kind") != "stop-search":
            raise InputError(f"dataset {dataset!r} is {meta.get('kind')!r}, not stop-search")
        frame = self.events_frame(dataset)
        return frame.drop(columns=["count", "harm", "mark", "rows", "key"], errors="ignore")

    def quarantine(self, dataset: str, *, reason: str | None = None) -> pd.DataFrame:
        """Quarantined rows of ``dataset``: file, line, reason and (redacted) raw text;
        ``reason`` keeps the rows of that reason only."""
        self.meta(dataset)
        if not self.has_table(dataset, "quarantine"):
            return pd.DataFrame(columns=["file_id", "file", "line", "reason", "raw"])
        where = " WHERE reason = ?" if reason is not None else ""
        return self.query(
            f"SELECT * FROM {self._source(dataset, 'quarantine')}{where} ORDER BY file, line",
            [reason] if reason is not None else None,
        )

    def files(self, dataset: str) -> pd.DataFrame:
        """One row per ingested file: path, SHA-256 digest and its accounting."""
        self.meta(dataset)
        if not self.has_table(dataset, "files"):
            return pd.DataFrame(columns=["file_id", "path", "sha256"])
        return self.query(
            f"SELECT * FROM {self._source(dataset, 'files')} ORDER BY ingested_at, path"
        )

    def event_ids(self, dataset: str) -> np.ndarray:
        """Sorted ids of the stored events of ``dataset`` (empty if none)."""
        if not (self.dataset_dir(dataset) / "dataset.json").is_file() or not self.has_table(
            dataset, "events"
        ):
            return np.zeros(0, dtype=np.int64)
        ids = self.query(f"SELECT event_id FROM {self._source(dataset, 'events')}")[
            "event_id"
        ].to_numpy(np.int64)
        return np.sort(ids)

    def digests(self, dataset: str) -> set[str]:
        if not (self.dataset_dir(dataset) / "dataset.json").is_file() or not self.has_table(
            dataset, "files"
        ):
            return set()
        return set(self.query(f"SELECT sha256 FROM {self._source(dataset, 'files')}")["sha256"])
