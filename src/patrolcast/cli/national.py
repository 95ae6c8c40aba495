"""``patrolcast national replica|ingest|backtest``: national scale, locally or on Dask.

Where the work runs: ``--scheduler tcp://host:8786`` (a running Dask cluster), ``--workers N``
(a Dask LocalCluster of N single-threaded processes on 127.0.0.1), or neither (local processes,
the default on one machine). The Dask dashboard address is printed when a cluster is used.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.options import (
    HOME,
    JSON,
    QUIET,
    dataset_option,
    out_folder,
    progress,
    reading_home,
    writing_home,
)
from patrolcast.errors import InputError

national_app = typer.Typer(help="National scale: replica, partitioned ingest, backtest on Dask.")

SCHEDULER = typer.Option(None, help="A running Dask scheduler, e.g. tcp://host:8786.")
WORKERS = typer.Option(None, help="Start a Dask LocalCluster of N worker processes.")
ROOT = typer.Option(
    None, help="The partitioned store's folder (default: <home>/national).", show_default=False
)
DATASET = dataset_option("Dataset name in the partitioned store (default: street).",
                         required=False)
SHARED = typer.Option(None, "--shared-data",
                      help="The shared data folder (default: settings, ../shared/data).")


def _shared(path: Path | None) -> Path:
    from patrolcast.config import load_settings

    return path if path is not None else load_settings().shared_data


@contextlib.contextmanager
def _executor(scheduler: str | None, workers: int | None, quiet: bool) -> Iterator[Any]:
    """A Dask executor sharing one client for the run, or local processes by default."""
    if scheduler is None and workers is None:
        from patrolcast.evaluate.executors import LocalProcessExecutor

        yield LocalProcessExecutor()
        return
    from patrolcast.evaluate.distributed import DaskExecutor, dask_client

    def say(line: str) -> None:
        if not quiet:
            typer.echo(line, err=True)

    with dask_client(scheduler=scheduler, workers=workers, log=say) as client:
        yield DaskExecutor(client=client, log=say)


def _report(executor: Any) -> dict[str, Any]:
    total = getattr(executor, "total", None)
    return total().to_dict() if callable(total) else {}


def _force_names(shared_data: Path, slugs: str | None) -> list[str] | None:
    """Boundary-file names of the forces with these data.police.uk slugs."""
    if not slugs:
        return None
    from patrolcast.io.national_replica import force_areas, slug_of

    by_slug = {slug_of(name): name for name in force_areas(shared_data)}
    wanted = [s.strip() for s in slugs.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in by_slug]
    if unknown:
        raise InputError(f"unknown force(s) {', '.join(unknown)}; known: {', '.join(by_slug)}")
    return [by_slug[s] for s in wanted]


@national_app.command("replica")
def replica(
    out: Path = typer.Option(
        ..., "--out", help="Folder for YYYY-MM/YYYY-MM-<force>-street.csv (created if absent)."
    ),
    shared_data: Path | None = SHARED,
    start: str = typer.Option("2023-01", help="First month (YYYY-MM)."),
    months: int = typer.Option(12, help="Number of months."),
    records_per_month: int = typer.Option(500_000, help="National records a month."),
    compress: bool = typer.Option(False, help="Write .csv.gz."),
    forces: str | None = typer.Option(
        None, help="Comma-separated force slugs, e.g. cleveland,city-of-london (default: 43)."
    ),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Lay out a synthetic national replica of data.police.uk street files (43 forces)."""
    from patrolcast.io.national_replica import generate_replica

    shared = _shared(shared_data)
    quiet = quiet or as_json
    with _executor(scheduler, workers, quiet) as ex, progress("replica", quiet=quiet):
        made = generate_replica(
            out_folder(out), shared_data=shared, start=start, n_months=months,
            records_per_month=records_per_month, compress=compress, executor=ex,
            forces=_force_names(shared, forces),
        )  # fmt: skip
    rows = {m["force"]: sum(m["rows"].values()) for m in made}
    if as_json:
        typer.echo(json.dumps({"out": str(out), "rows": rows, "total": sum(rows.values())}))
    else:
        typer.echo(f"{sum(rows.values()):,} rows in {len(made) * months} files under {out}")


@national_app.command("ingest")
def ingest(
    path: Path = typer.Argument(..., help="A folder of data.police.uk files (recursive)."),
    root: Path | None = ROOT,
    dataset: str | None = DATASET,
    home: Path | None = HOME,
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Ingest many files in parallel into the store partitioned by dataset, force and month."""
    from patrolcast.io import discover
    from patrolcast.io.partitioned import ingest_partitioned

    files = discover(path)
    if not files:
        raise InputError(f"no .csv files under {path}")
    quiet = quiet or as_json
    if root is None:
        root = writing_home(home, quiet=quiet).home / "national"
    with _executor(scheduler, workers, quiet) as ex, \
            progress(f"ingest {len(files)} files", quiet=quiet):
        summary = ingest_partitioned(files, root=root, dataset=dataset or "street", executor=ex)
        report = _report(ex)
    if as_json:
        typer.echo(json.dumps({**summary.to_dict(), "dask": report}, default=str))
        return
    typer.echo(
        f"{len(summary.files)} files: rows in {summary.rows_in:,} = stored {summary.stored:,} "
        f"+ quarantined {summary.quarantined:,} ({summary.seconds:.1f} s)"
    )
    skipped = sum(f.status != "ingested" for f in summary.files)
    if skipped:
        typer.echo(f"{skipped} files already ingested (same SHA-256): skipped")


@national_app.command("backtest")
def backtest(
    root: Path | None = ROOT,
    dataset: str | None = DATASET,
    home: Path | None = HOME,
    forces: str | None = typer.Option(None, help="Comma-separated force slugs (default: all)."),
    methods: str = typer.Option("naive,kde,prospective", help="Methods (baselines added)."),
    origins: int = typer.Option(12, help="Number of rolling origins."),
    horizon: str = typer.Option("1M", help="Scoring window (data.police.uk: months)."),
    cell_size: float = typer.Option(500.0, help="Grid cell size in metres."),
    shared_data: Path | None = typer.Option(
        None, "--shared-data",
        help="Shared data folder: grids clipped to the real force boundaries (default: none, "
        "each force's data extent).",
    ),
    out: Path | None = typer.Option(
        None, "--out", help="Folder for national_backtest_<dataset>_<horizon>.parquet (all "
        "rows; created if absent).",
    ),
    scheduler: str | None = SCHEDULER,
    workers: int | None = WORKERS,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Backtest every force, one task per origin; workers read their force from the store."""
    import pandas as pd

    from patrolcast.evaluate.distributed import national_backtest
    from patrolcast.evaluate.jobs import with_baselines
    from patrolcast.evaluate.splitters import RollingOrigin, parse_period
    from patrolcast.forecast.registry import make_forecaster
    from patrolcast.io.partitioned import PartitionedStore

    dataset = dataset or "street"
    if root is None:
        root = reading_home(home).home / "national"
    if not root.is_dir():
        raise InputError(f"no partitioned store at {root} (national ingest first, or --root)")
    store = PartitionedStore(root)
    chosen = forces.split(",") if forces else store.forces(dataset)
    if not chosen:
        raise InputError(f"no forces in dataset {dataset!r} of {root}")
    period = parse_period(horizon, what="--horizon")
    names = with_baselines(tuple(m.strip() for m in methods.split(",") if m.strip()))

    def build() -> dict[str, Any]:
        return {n: make_forecaster(n, horizon_days=period.approx_days) for n in names}

    areas = None
    if shared_data is not None:
        from patrolcast.io.national_replica import force_areas, slug_of

        areas = {slug_of(n): g for n, g in force_areas(shared_data).items()}
    splitter = RollingOrigin(horizon=period, n_origins=origins)
    quiet = quiet or as_json
    with _executor(scheduler, workers, quiet) as ex, \
            progress(f"backtest {len(chosen)} forces", quiet=quiet):
        runs = national_backtest(
            root, dataset, forces=chosen, methods=build, splitter=splitter, executor=ex,
            areas=areas, cell_size=cell_size, concurrent_forces=4 if scheduler or workers else 1,
        )  # fmt: skip
        report = _report(ex)
    written = None
    if out is not None:
        frames = [r.result.rows.assign(force=r.force) for r in runs]
        written = out_folder(out) / f"national_backtest_{dataset}_{horizon}.parquet"
        pd.concat(frames, ignore_index=True).to_parquet(written)
    summary = [
        {"force": r.force, "records": r.records, "seconds": round(r.seconds, 2),
         "hit_rate_5pct": r.result.rows[r.result.rows["fraction"] == 0.05]
         .groupby("method")["hit_rate"].mean().round(4).to_dict()}
        for r in runs
    ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps({"forces": summary, "dask": report,
                               "file": str(written) if written else None}, default=str))
        return
    for row in summary:
        typer.echo(f"{row['force']:<24} {row['records']:>9,} records {row['seconds']:>8.1f} s")
    if report:
        typer.echo(
            f"tasks {report['tasks']}, retried after error {report['retried_after_error']}, "
            f"rerun after a lost worker {report['rerun_after_worker_loss']}"
        )
    if written is not None:
        typer.echo(f"wrote {written}")


def register(app: typer.Typer) -> None:
    app.add_typer(national_app, name="national")
