"""Appending Parquet part files: staged per input file, moved into place when the file is done."""

from __future__ import annotations

import contextlib
import os
import shutil
import threading
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FLUSH_ROWS = 262_144  # rows per part: small enough that writing overlaps validation


_POOL: ThreadPoolExecutor | None = None
_POOL_LOCK = threading.Lock()


def _writer_pool() -> ThreadPoolExecutor:
    """One thread, kept for the process, that writes Parquet parts for every writer."""
    global _POOL
    with _POOL_LOCK:
        if _POOL is None:
            _POOL = ThreadPoolExecutor(max_workers=1, thread_name_prefix="patrolcast-parquet")
        return _POOL


class PartWriter:
    """Buffers record batches of one table and writes them as numbered part files.

    Parts are written to ``stage`` and only moved to ``final`` by :meth:`commit`, so a crash
    half-way through a file leaves nothing visible in the store.
    """

    def __init__(self, stage: Path, final: Path, schema: pa.Schema, prefix: str) -> None:
        self.stage, self.final, self.schema, self.prefix = stage, final, schema, prefix
        self._buffer: list[pa.Table] = []
        self._rows = 0
        self._parts: list[Path] = []
        self.written = 0
        self._pending: Future[None] | None = None
        # Dictionary-encode repetitive text and small integers only (ids, times and coordinates
        # are near-unique: encoding them costs time and saves nothing); keep min/max statistics
        # where queries filter (time window, offence group, area, file).
        self._dictionary_columns = [
            f.name
            for f in schema
            if (pa.types.is_string(f.type) and f.name not in ("key", "raw"))
            or f.name in ("mark", "rows", "file_id")
        ]
        # Snappy gains little on near-random values (64-bit ids, publishers' hexadecimal crime
        # ids: 14% on the key column) and costs half of the writer's time there: stored plain.
        self._compression = {
            f.name: "none" if f.name in ("event_id", "key") else "snappy" for f in schema
        }
        self._statistics_columns = [
            n
            for n in ("time", "offence_group", "area_code", "file_id", "file", "line")
            if n in schema.names
        ]

    def add_frame(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        names = self.schema.names
        table = pa.Table.from_pandas(frame[names], schema=self.schema, preserve_index=False)
        self.add(table)

    def add_records(self, records: pa.Table) -> None:
        """Add a record table, cast to the table's schema.

        Text columns that arrive dictionary-encoded stay so: Parquet stores them from the
        dictionary without hashing every value again, and the files carry no Arrow schema,
        so every reader (DuckDB, pyarrow, pandas) sees plain text.
        """
        if records.num_rows == 0:
            return
        columns, fields = [], []
        for field in self.schema:
            column = records.column(field.name)
            if pa.types.is_dictionary(column.type) and pa.types.is_string(field.type):
                target = pa.dictionary(pa.int32(), pa.string())
                field = pa.field(field.name, target, nullable=field.nullable)
            if column.type != field.type:
                column = column.cast(field.type)
            columns.append(column)
            fields.append(field)
        self.add(pa.Table.from_arrays(columns, schema=pa.schema(fields)))

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._rows += table.num_rows
        if self._rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        """Write the buffered rows as one part, on a background thread (Parquet encoding and
        compression release the GIL); at most one part is being written at a time."""
        if not self._buffer:
            return
        self.stage.mkdir(parents=True, exist_ok=True)
        path = self.stage / f"{self.prefix}-{len(self._parts):05d}.parquet"
        buffer = self._buffer
        if any(t.schema != buffer[0].schema for t in buffer):
            buffer = [t.cast(self.schema) for t in buffer]
        table = pa.concat_tables(buffer)
        self._wait()
        self._pending = _writer_pool().submit(self._write, table, path)
        self._parts.append(path)
        self.written += self._rows
        self._buffer, self._rows = [], 0

    def _write(self, table: pa.Table, path: Path) -> None:
        pq.write_table(
            table,
            path,
            compression=self._compression,
            use_dictionary=self._dictionary_columns,
            write_statistics=self._statistics_columns,
            store_schema=False,
        )

    def _wait(self) -> None:
        if self._pending is not None:
            pending, self._pending = self._pending, None
            pending.result()  # re-raises a write error here

    def close(self) -> None:
        """Wait for the part being written."""
        self._wait()

    def abandon(self) -> None:
        """Stop writing after a failure (a write error is dropped: the first error wins)."""
        with contextlib.suppress(Exception):  # the caller is already handling an error
            self.close()

    def commit(self) -> None:
        self.flush()
        self.close()
        if not self._parts:
            return
        self.final.mkdir(parents=True, exist_ok=True)
        for part in self._parts:
            os.replace(part, self.final / part.name)
        self._parts = []


def remove_parts(folder: Path, prefix: str) -> None:
    """Delete part files left by an interrupted ingest of the file with this prefix."""
    if folder.is_dir():
        for part in folder.glob(f"{prefix}-*.parquet"):
            part.unlink()


def clear_stage(stage: Path) -> None:
    if stage.exists():
        shutil.rmtree(stage, ignore_errors=True)
