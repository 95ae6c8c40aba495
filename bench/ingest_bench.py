"""Ingest throughput against a bare ``pandas.read_csv`` of the same files, in one process.

The full ingest parses, validates every row (dates, coordinates, offences, duplicates),
converts local times to UTC, projects once with pyproj, computes stable event ids and writes
Parquet parts to a fresh store; blocks are parsed and validated on two worker threads and
Parquet is written on a third (see ``patrolcast.io._ingest.INGEST_THREADS``). The baseline
only parses the same text with ``pandas.read_csv`` (C engine, default type inference).
Ratio = ingest time / read_csv time; the goal is a ratio <= 1 (the full ingest no slower than
the bare parse). The "parse" column times patrolcast's own streaming parse alone (blocks, line
accounting, pyarrow, every column, one thread), to show how much of the ingest is parsing.

Inputs are built in a temporary folder from the shared data: the Chicago aggravated
assaults repeated ``--repeat`` times (a few million rows) and all Met stop-and-search months
concatenated ``--repeat-met`` times. Run: ``.venv/bin/python bench/ingest_bench.py``. The
machine is shared: the load average is printed with each line, and both timings are noisy.
"""

from __future__ import annotations

import argparse
import gzip
import platform
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from patrolcast.config import default_shared_data
from patrolcast.io import Store, ingest
from patrolcast.io._text import iter_blocks, sniff


def _concat(sources: list[Path], target: Path, times: int) -> int:
    """Write the sources' rows ``times`` times under one header; return the data row count."""
    header: bytes | None = None
    rows = 0
    with target.open("wb") as out:
        for _ in range(times):
            for src in sources:
                with gzip.open(src, "rb") if src.suffix == ".gz" else src.open("rb") as fh:
                    lines = fh.read().splitlines(keepends=True)
                if header is None:
                    header = lines[0]
                    out.write(header)
                body = lines[1:]
                if body and not body[-1].endswith(b"\n"):
                    body[-1] += b"\n"
                out.writelines(body)
                rows += len(body)
    return rows


def _national(sources: list[Path], target: Path, rows: int) -> int:
    """A synthetic national data.police.uk street file of ``rows`` rows: the real rows of the
    shared street files (three forces) repeated, each copy's Crime IDs made unique (a suffix),
    so nothing is a duplicate; anti-social behaviour rows keep their empty Crime ID."""
    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.csv as pacsv

    tables = [
        pacsv.read_csv(
            src, convert_options=pacsv.ConvertOptions(
                column_types={}, strings_can_be_null=False, auto_dict_encode=False
            ),
            read_options=pacsv.ReadOptions(autogenerate_column_names=False),
        )
        for src in sources
    ]  # fmt: skip
    base = pa.concat_tables(
        [t.cast(pa.schema([pa.field(f.name, pa.string()) for f in t.schema])) for t in tables]
    )
    ids = base.column("Crime ID")
    has_id = pc.greater(pc.utf8_length(ids), 0)
    written = 0
    copy = 0
    # the real files quote nothing (no value holds a comma or a quote), header included
    options = pacsv.WriteOptions(include_header=False, quoting_style="none")
    with target.open("wb") as fh, pacsv.CSVWriter(fh, base.schema, write_options=options) as writer:
        fh.write((",".join(base.column_names) + "\n").encode())
        while written < rows:
            part = base.slice(0, min(base.num_rows, rows - written))
            suffix = pa.scalar(f"{copy:06d}")
            new_ids = pc.if_else(
                has_id.slice(0, part.num_rows),
                pc.binary_join_element_wise(ids.slice(0, part.num_rows), suffix, ""),
                ids.slice(0, part.num_rows),
            )
            part = part.set_column(part.schema.get_field_index("Crime ID"), "Crime ID", new_ids)
            writer.write_table(part)
            written += part.num_rows
            copy += 1
    return written


def _best(fn: Callable[[], object], repeats: int) -> float:
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="copies of the Chicago file")
    parser.add_argument("--repeat-met", type=int, default=5, help="copies of the Met files")
    parser.add_argument("--runs", type=int, default=2, help="timed runs; the best is kept")
    parser.add_argument(
        "--national-rows", type=int, default=10_000_000,
        help="rows of the synthetic national street file (0: leave it out); timed once",
    )  # fmt: skip
    args = parser.parse_args()
    shared = default_shared_data()
    chicago = shared / "incidents_timestamped" / "chicago_aggravated_assaults.csv.gz"
    met = sorted((shared / "police_uk" / "metropolitan_stop_and_search").glob("*.csv.gz"))
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")), platform.processor(),
    )  # fmt: skip
    import os

    import pyarrow as pa

    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, "
          f"pandas {pd.__version__}, pyarrow {pa.__version__}; load average "
          f"{os.getloadavg()[0]:.2f} (other jobs share the cores: figures are noisy)")  # fmt: skip
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        cases = [
            ("chicago", _concat([chicago], work / "chi.csv", args.repeat), work / "chi.csv"),
            ("met-stop-search", _concat(met, work / "met.csv", args.repeat_met), work / "met.csv"),
        ]
        if args.national_rows:
            street = sorted((shared / "police_uk" / "other_forces_street").glob("*.csv.gz"))
            nat = work / "national-street.csv"
            cases.append(("national-street", _national(street, nat, args.national_rows), nat))
        print(f"{'input':<18}{'rows':>12}{'MB':>8}{'read_csv s':>12}{'parse s':>9}"
              f"{'ingest s':>10}"
              f"{'ratio':>8}{'parse ratio':>13}{'ingest rows/s':>15}")  # fmt: skip
        for name, rows, path in cases:
            mb = path.stat().st_size / 1e6
            runs = 1 if name == "national-street" else args.runs
            base = _best(lambda p=path: pd.read_csv(p), runs)  # type: ignore[misc]

            def run(p: Path = path, rows: int = rows) -> None:
                store_dir = work / "store"
                shutil.rmtree(store_dir, ignore_errors=True)
                summary = ingest(p, store=Store(store_dir), dataset="bench")
                assert summary.rows_in == rows == summary.stored + summary.quarantined

            def parse_only(p: Path = path, rows: int = rows) -> None:
                fmt = sniff(p)
                assert fmt is not None
                assert sum(b.n_lines for b in iter_blocks(p, fmt)) == rows

            full = _best(run, runs)
            parse = _best(parse_only, runs)
            print(f"{name:<18}{rows:>12,}{mb:>8.0f}{base:>12.2f}{parse:>9.2f}{full:>10.2f}"
                  f"{full / base:>8.2f}{parse / base:>13.2f}{rows / full:>15,.0f}"
                  f"   (load {os.getloadavg()[0]:.2f})")  # fmt: skip


if __name__ == "__main__":
    main()
