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

    def add_frame(self, frame: pd.DataFrame) -> None:
        if len(frame) == 0:
            return
        names = self.schema.names
        table = pa.Table.from_pandas(frame[names], schema=self.schema, preserve_index=False)
        self.add(table)

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
        pq.write_table(pa.concat_tables(self._buffer), path, compression="zstd")
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
