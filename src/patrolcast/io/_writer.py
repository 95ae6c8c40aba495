"""Appending Parquet part files: staged per input file, moved into place when the file is done."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FLUSH_ROWS = 1_000_000


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
        # Dictionary-encode repetitive text and small integers only (ids, times and coordinates
        # are near-unique: encoding them costs time and saves nothing); keep min/max statistics
        # where queries filter (time window, offence group, area, file).
        self._dictionary_columns = [
            f.name
            for f in schema
            if (pa.types.is_string(f.type) and f.name not in ("key", "raw"))
            or f.name in ("mark", "rows", "file_id")
        ]
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
        """Add a record table (dictionary-encoded text allowed), cast to the table's schema."""
        if records.num_rows == 0:
            return
        columns = []
        for field in self.schema:
            column = records.column(field.name)
            if column.type != field.type:
                column = column.cast(field.type)
            columns.append(column)
        self.add(pa.Table.from_arrays(columns, schema=self.schema))

    def add(self, table: pa.Table) -> None:
        if table.num_rows == 0:
            return
        self._buffer.append(table)
        self._rows += table.num_rows
        if self._rows >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self._buffer:
            return
        self.stage.mkdir(parents=True, exist_ok=True)
        path = self.stage / f"{self.prefix}-{len(self._parts):05d}.parquet"
        pq.write_table(
            pa.concat_tables(self._buffer),
            path,
            compression="snappy",
            use_dictionary=self._dictionary_columns,
            write_statistics=self._statistics_columns,
        )
        self._parts.append(path)
        self.written += self._rows
        self._buffer, self._rows = [], 0

    def commit(self) -> None:
        self.flush()
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
