"""How fast could any ingest be on this machine? Pipelines doing parts of patrolcast's ingest
(the same work or less), against a bare ``pandas.read_csv`` of the same files, in one process.

Per run, one after the other in the same process (so all see the same load), each timed in
wall-clock seconds and in CPU seconds of all the process's threads:

- ``read_csv``: ``pandas.read_csv(path)`` (C engine, default type inference), the baseline.
- stage *parse*: ``pyarrow.csv.read_csv`` of the whole file with ``use_threads=True`` (every
  core), converting only the columns patrolcast's reader for the file's layout reads, every
  one as text (``column_types`` string, ``strings_can_be_null=False``), the delimiter
  patrolcast detects, quote handling off when the file holds no quote character (as the ingest
  does per block; checked before timing) and empty lines ignored. Unlike the ingest, no line
  numbers, no refused-row accounting, no raw text of lines, no chunking of the file.
- stage *write*: ``pyarrow.parquet.write_table`` of that text table (pyarrow's defaults:
  dictionary encoding, Snappy) to a file under the work folder. The ingest writes a different
  table (event records: numbers, times and dictionary-encoded text, plus a quarantine table);
  this is the cost of writing the same rows' text once, a proxy, not the same bytes.
- stage *ipc* (for comparison only): ``pyarrow.feather.write_feather`` of the same table,
  uncompressed (Arrow IPC, about a memory copy): what the write would cost if the store were
  uncompressed Arrow files instead of Parquet.
- stage *sha256*: ``hashlib.sha256`` of the file's bytes in 1 MiB reads (what the ingest
  records for each file), on one thread.

Reported as ratios to the same run's ``read_csv`` (min / median / max over runs):

- (a) parse; (b) parse + write; (c) parse + write + sha256, each run back to back (their
  wall-clock times added);
- (d) a perfect-overlap bound for (c) on the cores present: max(the SHA-256's wall-clock time,
  total CPU seconds of the three stages / cores). Only these two are lower bounds (the digest
  of one file is serial; the parse and the write could be cut into pieces run side by side),
  and only for these tools at these settings (pyarrow's CSV reader, its Parquet writer with
  its defaults, hashlib): another reader or writer may cost less;
- (e) the same bound with the *ipc* stage in place of the Parquet write: the floor of an ingest
  that stored uncompressed Arrow files (larger on disk, and not what DuckDB queries here);
- ``ingest``: patrolcast's full ingest (parse, validation, projection, ids, duplicates,
  accounting, quarantine, Parquet) into a fresh store, timed as in ``bench/ingest_bench.py``.

Before the timed runs of each input, every pipeline runs once untimed on it: loading the
compiled kernels, PROJ and the thread pools is a once-per-process cost, and the first use of a
few GB of fresh memory is slow too (a first ``read_csv`` of the national file in a fresh
process took 6.4 s, the second 2.7 s), which would flatter whichever pipeline comes later.

The CPU ratio of (c) against ``read_csv`` says how much work the unavoidable part alone is; the
wall ratio of (d) says whether a wall-clock parity is possible at all before any validation.
The inputs are ``bench/ingest_bench.py``'s (same flags, same ``--work`` folder). Run on a
shared machine with ``nice -n 10 .venv/bin/python bench/ingest_floor.py --work
/tmp/pc-ingest-bench --runs 5 --national-runs 3``; the load average is printed per run.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import platform
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.feather as pf
import pyarrow.parquet as pq

sys.path.insert(0, str(Path(__file__).resolve().parent))

from ingest_bench import _inputs, _spread  # noqa: E402

from patrolcast.config import default_shared_data  # noqa: E402
from patrolcast.io import Store, ingest  # noqa: E402
from patrolcast.io._ingest import _make_reader, _plan  # noqa: E402
from patrolcast.io._text import sniff  # noqa: E402
from patrolcast.taxonomy import load_taxonomy  # noqa: E402


def _timed_cpu(fn: Callable[[], object]) -> tuple[float, float, object]:
    """Wall-clock and CPU seconds (all threads of the process) of one call, and its result."""
    wall, cpu = time.perf_counter(), time.process_time()
    out = fn()
    return time.perf_counter() - wall, time.process_time() - cpu, out


def _has_quote(path: Path) -> bool:
    with path.open("rb") as fh:
        return any(b'"' in chunk for chunk in iter(lambda: fh.read(1 << 24), b""))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _parser(
    path: Path, header: tuple[str, ...], delimiter: str, wanted: list[str]
) -> Callable[[], pa.Table]:
    """Stage (a): pyarrow's multi-threaded read of the wanted columns, all as text."""
    quoted = _has_quote(path)  # as the ingest, per block: quote handling only where needed

    def parse() -> pa.Table:
        return pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(
                use_threads=True, skip_rows=1, column_names=list(header)
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter, quote_char='"' if quoted else False, ignore_empty_lines=True
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={c: pa.string() for c in header},
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )

    return parse


def _floor(
    name: str, rows: int, path: Path, runs: int, work: Path, shared: Path | None, warm: bool
) -> None:
    """Time the runs of one input and print them and their ratios."""
    cores = os.cpu_count() or 1
    fmt = sniff(path)
    assert fmt is not None
    plan = _plan([path], "auto", None)
    store_dir = work / "floor-store"
    shutil.rmtree(store_dir, ignore_errors=True)
    reader = _make_reader(
        plan, crs="EPSG:27700", bbox=None, taxonomy=load_taxonomy(None), store=Store(store_dir),
        shared_data=shared,
    )  # fmt: skip
    wanted = [c for c in fmt.header if c in set(reader.columns(fmt.header))]
    parse = _parser(path, fmt.header, fmt.delimiter, wanted)
    out_file = work / "floor.parquet"
    ipc_file = work / "floor.arrow"

    def full() -> None:
        shutil.rmtree(store_dir, ignore_errors=True)
        summary = ingest(path, store=Store(store_dir), dataset="bench")
        assert summary.rows_in == rows == summary.stored + summary.quarantined

    print(f"\n{name}: {rows:,} rows, {path.stat().st_size / 1e6:.0f} MB, {len(wanted)} of "
          f"{len(fmt.header)} columns parsed ({', '.join(wanted)})")  # fmt: skip
    print(f"  {'run':>3} {'read_csv':>13} {'parse':>13} {'parquet':>13} {'ipc':>13} "
          f"{'sha256':>13} {'ingest':>13}   seconds wall (CPU); load")  # fmt: skip
    if warm:  # one untimed round: first calls and first use of this much memory
        pd.read_csv(path)
        warm_tbl = parse()
        pq.write_table(warm_tbl, out_file)
        pf.write_feather(warm_tbl, ipc_file, compression="uncompressed")
        del warm_tbl
        full()
    ratios: dict[str, list[float]] = {
        k: [] for k in ("a", "b", "c", "d", "e", "ingest", "a_cpu", "c_cpu", "ingest_cpu")
    }
    for run in range(runs):
        base_w, base_c, _ = _timed_cpu(lambda: pd.read_csv(path))
        pw, pc_, tbl = _timed_cpu(parse)
        assert isinstance(tbl, pa.Table) and tbl.num_rows <= rows
        ww, wc, _ = _timed_cpu(lambda t=tbl: pq.write_table(t, out_file))  # type: ignore[misc]
        xw, xc, _ = _timed_cpu(
            lambda t=tbl: pf.write_feather(t, ipc_file, compression="uncompressed")  # type: ignore[misc]
        )
        del tbl, _
        sw, sc, _ = _timed_cpu(lambda: _sha256(path))
        iw, ic, _ = _timed_cpu(full)
        load = os.getloadavg()[0]
        bound = max(sw, (pc_ + wc + sc) / cores)
        ratios["a"].append(pw / base_w)
        ratios["b"].append((pw + ww) / base_w)
        ratios["c"].append((pw + ww + sw) / base_w)
        ratios["d"].append(bound / base_w)
        ratios["e"].append(max(sw, (pc_ + xc + sc) / cores) / base_w)
        ratios["ingest"].append(iw / base_w)
        ratios["a_cpu"].append(pc_ / base_c)
        ratios["c_cpu"].append((pc_ + wc + sc) / base_c)
        ratios["ingest_cpu"].append(ic / base_c)
        cells = ((base_w, base_c), (pw, pc_), (ww, wc), (xw, xc), (sw, sc), (iw, ic))
        print(f"  {run + 1:>3} " + " ".join(f"{w:>5.2f} ({c:>5.2f})" for w, c in cells)
              + f"   load {load:.1f}", flush=True)  # fmt: skip
    out_file.unlink(missing_ok=True)
    ipc_file.unlink(missing_ok=True)
    shutil.rmtree(store_dir, ignore_errors=True)
    r = {k: _spread(v) for k, v in ratios.items()}
    print(f"  ratio to read_csv, wall: (a) parse {r['a']}  (b) +parquet {r['b']}  (c) +sha256 "
          f"{r['c']}  (d) overlap bound {r['d']}  (e) bound with ipc {r['e']}  "
          f"ingest {r['ingest']}")  # fmt: skip
    print(f"  ratio to read_csv, CPU:  (a) parse {r['a_cpu']}  (c) all three {r['c_cpu']}  "
          f"ingest {r['ingest_cpu']}")  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=20, help="copies of the Chicago file")
    parser.add_argument("--repeat-met", type=int, default=5, help="copies of the Met files")
    parser.add_argument("--runs", type=int, default=5, help="runs per input")
    parser.add_argument(
        "--national-rows", type=int, default=10_000_000,
        help="rows of the synthetic national street file (0: leave it out)",
    )  # fmt: skip
    parser.add_argument("--national-runs", type=int, default=3, help="runs for the national file")
    parser.add_argument("--work", type=Path, default=None, help="folder of the input files")
    args = parser.parse_args()
    cpu = next(
        (ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
         if ln.startswith("model name")), platform.processor(),
    )  # fmt: skip
    print(f"machine: {os.cpu_count()} cores, {cpu}; Python {platform.python_version()}, pandas "
          f"{pd.__version__}, pyarrow {pa.__version__}; nice {os.nice(0)}; load average "
          f"{os.getloadavg()[0]:.2f}")  # fmt: skip
    print("ratios to the same run's pandas.read_csv, min/median/max over runs; (a) parse, (b) "
          "+parquet, (c) +sha256 (serial), (d) perfect-overlap bound of (c), (e) the same with "
          "an uncompressed Arrow IPC write instead of Parquet")  # fmt: skip
    shared = default_shared_data()
    with tempfile.TemporaryDirectory(dir="/tmp") as tmp:
        work = args.work or Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        for name, rows, path in _inputs(shared, work, args):
            runs = args.national_runs if name.startswith("national") else args.runs
            if runs > 0:
                _floor(name, rows, path, runs, work, shared, warm=True)


if __name__ == "__main__":
    main()
