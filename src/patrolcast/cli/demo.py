"""``patrolcast demo``: the main job on the embedded default (real data from ../shared/data).

Ingests London LSOA counts, Chicago aggravated assaults and NYPD shootings (once), writes a
forecast for each with GIS, CSV and PNG outputs, backtests naive, KDE and prospective hotspot
methods on the same rolling origins, and writes the reports to ``out/demo``.

Without the shared data (a user's own machine), it says so, fetches a small real sample (the
City of London's street crimes of the last 12 published months, from the data.police.uk API)
into ``<home>/samples`` and runs on that; unreachable network: one line saying what to do.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.options import HOME, JSON, QUIET, writing_home


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(
        out: Path = typer.Option(Path("out/demo"), help="Folder for forecasts and reports."),
        origins: int = typer.Option(
            12, min=2, help="Rolling origins per backtest (more: longer, tighter intervals)."
        ),
        methods: str = typer.Option("naive,kde,prospective", help="Methods to compare."),
        executor: str = typer.Option("local", help="local (processes) or serial."),
        workers: int = typer.Option(0, min=0, help="Worker processes (0: all CPUs)."),
        n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap replicates."),
        only: str = typer.Option(
            "", help="Comma-separated subset: london-lsoa, chicago-assaults, nypd-shootings."
        ),
        home: Path | None = HOME,
        shared_data: Path | None = typer.Option(
            None, "--shared-data", help="Real-data folder (default ../shared/data)."
        ),
        boundary: Path | None = typer.Option(
            None, help="Study-area boundary for the one dataset of --only (default: its own)."
        ),
        layer: str = typer.Option("", help="Layer of the boundary file."),
        where: str = typer.Option("", help="Feature filter of the boundary file (OGR SQL)."),
        quiet: bool = QUIET,
        as_json: bool = JSON,
        fetch_delay: float = typer.Option(
            1.0, "--fetch-delay", min=0.0,
            help="Seconds between requests when fetching the sample (no shared data).",
        ),  # fmt: skip
    ) -> None:
        """Ingest, forecast, backtest and report on the shared real data."""
        from rich.console import Console
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
        )

        from patrolcast.errors import InputError
        from patrolcast.evaluate.demo import (
            DEMO_DATASETS,
            SAMPLE_DATASET,
            DemoDataset,
            headline,
            needs_sample,
            run_demo,
        )
        from patrolcast.io import Store

        settings = writing_home(home, quiet=quiet or as_json, shared_data=shared_data)
        chosen = DEMO_DATASETS
        if only:
            names = {n.strip() for n in only.split(",") if n.strip()}
            unknown = names - {d.name for d in DEMO_DATASETS}
            if unknown:
                raise InputError(
                    f"unknown demo dataset(s) {', '.join(sorted(unknown))}: choose from "
                    + ", ".join(d.name for d in DEMO_DATASETS)
                )
            chosen = tuple(d for d in DEMO_DATASETS if d.name in names)
        err = Console(stderr=True)
        shared = settings.shared_data
        sample = not only and boundary is None and needs_sample(shared, chosen)
        if sample:
            shared = settings.home / "samples"
            _fetch_sample(shared / SAMPLE_DATASET.path, settings.shared_data, fetch_delay, err)
            chosen = (SAMPLE_DATASET,)
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=quiet or as_json or not err.is_terminal,  # no frames in logs and pipes
        ) as progress:
            ingest_task: dict[str, Any] = {}

            def on_ingest(name: str, nbytes: int, rows: int) -> None:
                if name not in ingest_task:
                    ingest_task[name] = progress.add_task(f"ingest {name}", total=None)
                progress.update(ingest_task[name], description=f"ingest {name}: {rows:,} rows")

            def on_backtest(ds: DemoDataset, total: int) -> Callable[[int], None]:
                task = progress.add_task(f"backtest {ds.name}", total=total)
                return lambda done: progress.update(task, completed=done)

            outcome = run_demo(
                out_dir=out,
                store=Store(settings.store_dir),
                shared_data=shared,
                origins=origins,
                executor=executor,
                workers=workers or None,
                n_boot=n_boot,
                methods=methods,
                datasets=chosen,
                ingest_progress=on_ingest,
                on_backtest=on_backtest,
                notify=lambda text: None if quiet or as_json else progress.console.print(text),
                boundary=boundary,
                layer=layer or None,
                where=where or None,
            )
        if as_json:
            typer.echo(json.dumps(outcome.to_json(), indent=1, default=str))
            return
        console = Console()
        console.print("[bold]Backtests[/] (mean hit rate over origins, 95% bootstrap CI):")
        for b in outcome.backtests:
            console.print(" - " + headline(b))
        console.print(f"Reports, plots and forecasts: {outcome.out_dir}  (start with "
                      f"{outcome.summary_path})")


def _fetch_sample(folder: Path, shared: Path, delay: float, err: Any) -> None:
    """Say what is about to be downloaded and why, then fetch it (or one line on failure)."""
    from patrolcast.errors import InputError
    from patrolcast.io import police_uk_api
    from patrolcast.io.sample import SAMPLE_FORCE, SAMPLE_MONTHS, SampleUnavailable, fetch_sample

    api = police_uk_api.api_url()
    err.print(
        f"No demo data in {shared} (the shared data folder; set PATROLCAST_SHARED_DATA to use "
        f"a copy). Fetching a small real sample instead: {SAMPLE_FORCE} street crimes, the "
        f"last {SAMPLE_MONTHS} published months, from {api} ({SAMPLE_MONTHS + 1} requests, "
        f"{delay:g} s apart) into {folder}",
        soft_wrap=True,
        highlight=False,
    )
    try:
        got = fetch_sample(folder, api=api, delay=delay)
    except SampleUnavailable as exc:
        raise InputError(
            f"{exc}: set PATROLCAST_SHARED_DATA to a folder holding the shared data, or fetch "
            f"by hand (patrolcast fetch police-uk --layout api --force {SAMPLE_FORCE} --from "
            "YYYY-MM --to YYYY-MM) and ingest it"
        ) from None
    missing = f"; not published: {', '.join(got.missing)}" if got.missing else ""
    err.print(
        f"sample: {got.files} month(s), {got.months[0]} to {got.months[-1]}, in {got.folder}"
        f"{missing}",
        soft_wrap=True,
        highlight=False,
    )
