"""Ingest throughput against a bare ``pandas.read_csv`` of the same files, in one process.

The full ingest parses, validates every row (dates, coordinates, offences, duplicates),
converts local times to UTC, projects once with pyproj, computes stable event ids and writes
Parquet parts to a fresh store; blocks are parsed and validated on two worker threads and
Parquet is written on a third (see ``patrolcast.io._ingest.INGEST_THREADS``). The baseline
only parses the same text with ``pandas.read_csv`` (C engine, default type inference).
Ratio = ingest time / read_csv time; the goal is a ratio <= 1 (the full ingest no slower than
the bare parse). The "parse" column times patrolcast's own streaming parse alone (blocks, line
accounting, pyarrow, every column, one thread), to show how much of the ingest is parsing.

Inputs are built in a temporary folder under /tmp from the shared data (``--work DIR`` keeps
them for the next run; nothing is written into the repository): the Chicago aggravated
assaults repeated ``--repeat`` times (a few million rows), all Met stop-and-search months
concatenated ``--repeat-met`` times, and a synthetic national data.police.uk street file of
``--national-rows`` rows (default 10 million, 2.1 GB). Each run times ``read_csv`` and then the
ingest, alternately, so both see the same load; the ratio of each run is reported as min /
median / max over the runs. Run on a shared machine with
``nice -n 10 .venv/bin/python bench/ingest_bench.py --work /tmp/pc-ingest-bench``. The load
average is printed after each run: figures taken at a high load are noisy; the CPU ratio (CPU
seconds of all the process's threads) moves much less with the load than the wall-clock one.
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


def _timed(fn: Callable[[], object]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def _timed_cpu(fn: Callable[[], object]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (all threads of the process) of one call."""
    wall, cpu = time.perf_counter(), time.process_time()
    fn()
    return time.perf_counter() - wall, time.process_time() - cpu


def _spread(values: list[float]) -> str:
    """min / median / max of a list, as text."""
    ordered = sorted(values)
    mid = ordered[len(ordered) // 2]
    return f"{ordered[0]:.2f}/{mid:.2f}/{ordered[-1]:.2f}"


def _inputs(shared: Path, work: Path, args: argparse.Namespace) -> list[tuple[str, int, Path]]:
    """The bench files, built in ``work`` (kept there: a second run with ``--work`` reuses
    them; the row count is stored beside each file)."""

    def built(name: str, make: Callable[[Path], int]) -> tuple[str, int, Path]:
        path = work / f"{name}.csv"
        count = work / f"{name}.rows"
        if not (path.is_file() and count.is_file()):
            count.write_text(str(make(path)))
        return name, int(count.read_text()), path

    chicago = shared / "incidents_timestamped" / "chicago_aggravated_assaults.csv.gz"
    met = sorted((shared / "police_uk" / "metropolitan_stop_and_search").glob("*.csv.gz"))
    street = sorted((shared / "police_uk" / "other_forces_street").glob("*.csv.gz"))
    cases = []
    if args.repeat:
        cases.append(built(f"chicago-x{args.repeat}", lambda p: _concat([chicago], p, args.repeat)))
    if args.repeat_met:
        cases.append(
            built(f"met-stop-search-x{args.repeat_met}", lambda p: _concat(met, p, args.repeat_met))
        )
    if args.national_rows:
        cases.append(
            built(f"national-street-{args.national_rows}",
                  lambda p: _national(street, p, args.national_rows))
        )  # fmt: skip
    return cases


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--repeat", type=int, default=20, help="copies of the Chicago file (0: none)"
    )
    parser.add_argument(
        "--repeat-met", type=int, default=5, help="copies of the Met files (0: none)"
    )
    parser.add_argument(
        "--runs", type=int, default=3, help="timed read_csv + ingest pairs per input"
    )
    parser.add_argument(
        "--national-rows", type=int, default=10_000_000,
        help="rows of the synthetic national street file (0: leave it out)",
    )  # fmt: skip
    parser.add_argument("--national-runs", type=int, default=2, help="pairs for the national file")
    parser.add_argument("--parse", action="store_true", help="also time patrolcast's parse alone")
    parser.add_argument(
        "--work", type=Path, default=None,
        help="folder for the input files, kept for the next run (default: a temporary folder "
        "under /tmp, removed at the end)",
    )  # fmt: skip
    args = parser.parse_args()
    shared = default_shared_data()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")), platform.processor(),
    )  # fmt: skip
    import os

    import pyarrow as pa

    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, "
          f"pandas {pd.__version__}, pyarrow {pa.__version__}; nice {os.nice(0)}; load average "
          f"{os.getloadavg()[0]:.2f} (other jobs share the cores: figures are noisy)")  # fmt: skip
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        cases = _inputs(shared, work, args)
        print(
            "Each run times a bare pandas.read_csv of the file, then the full ingest into a "
            "fresh store; ratio = ingest / read_csv of the same run, in wall-clock seconds and "
            "in CPU seconds (all threads; less sensitive to other jobs than wall-clock time). "
            "min/median/max over runs."
        )
        print(
            f"{'input':<26}{'rows':>12}{'MB':>7}  {'read_csv s':>18}  {'ingest s':>20}  "
            f"{'ratio':>16}  {'CPU ratio':>16}{'ingest rows/s':>15}  load (1 min) per run"
        )  # fmt: skip
        for name, rows, path in cases:
            mb = path.stat().st_size / 1e6
            runs = args.national_runs if name.startswith("national") else args.runs
            store_dir = work / "store"

            def run(p: Path = path, rows: int = rows, store_dir: Path = store_dir) -> None:
                shutil.rmtree(store_dir, ignore_errors=True)
                summary = ingest(p, store=Store(store_dir), dataset="bench")
                assert summary.rows_in == rows == summary.stored + summary.quarantined

            bases, fulls, cpu_ratios, loads = [], [], [], []
            for _ in range(runs):
                base, base_cpu = _timed_cpu(lambda p=path: pd.read_csv(p))  # type: ignore[misc]
                full, full_cpu = _timed_cpu(run)
                bases.append(base)
                fulls.append(full)
                cpu_ratios.append(full_cpu / base_cpu)
                loads.append(os.getloadavg()[0])
            shutil.rmtree(store_dir, ignore_errors=True)
            ratios = [f / b for f, b in zip(fulls, bases, strict=True)]
            print(
                f"{name:<26}{rows:>12,}{mb:>7.0f}  {_spread(bases):>18}  {_spread(fulls):>20}  "
                f"{_spread(ratios):>16}  {_spread(cpu_ratios):>16}{rows / min(fulls):>15,.0f}  "
                + " ".join(f"{v:.1f}" for v in loads)
            )  # fmt: skip
            if args.parse:

                def parse_only(p: Path = path, rows: int = rows) -> None:
                    fmt = sniff(p)
                    assert fmt is not None
                    assert sum(b.n_lines for b in iter_blocks(p, fmt)) == rows

                print(f"{'':<26}patrolcast parse alone (one thread, every column): "
                      f"{min(_timed(parse_only) for _ in range(runs)):.2f} s")  # fmt: skip


if __name__ == "__main__":
    main()
