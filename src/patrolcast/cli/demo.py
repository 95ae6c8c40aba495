"""``patrolcast demo``: the main job on the embedded default (real data from ../shared/data).

Ingests London LSOA counts, Chicago aggravated assaults and NYPD shootings (once), writes a
forecast for each with GIS, CSV and PNG outputs, backtests naive, KDE and prospective hotspot
methods on the same rolling origins, and writes the reports to ``out/demo``.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import typer


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
        home: Path | None = typer.Option(None, help="Data home (default: settings, ./var)."),
        shared_data: Path | None = typer.Option(
            None, "--shared-data", help="Real-data folder (default ../shared/data)."
        ),
        boundary: Path | None = typer.Option(
            None, help="Study-area boundary for the one dataset of --only (default: its own)."
        ),
        layer: str = typer.Option("", help="Layer of the boundary file."),
        where: str = typer.Option("", help="Feature filter of the boundary file (OGR SQL)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
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

        from patrolcast.config import load_settings
        from patrolcast.errors import InputError
        from patrolcast.evaluate.demo import DEMO_DATASETS, DemoDataset, headline, run_demo
        from patrolcast.io import Store

        settings = load_settings(home=home, shared_data=shared_data)
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
        with Progress(
            TextColumn("[progress.description]{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=err,
            disable=not err.is_terminal,  # no bar frames in logs and pipes
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
                shared_data=settings.shared_data,
                origins=origins,
                executor=executor,
                workers=workers or None,
                n_boot=n_boot,
                methods=methods,
                datasets=chosen,
                ingest_progress=on_ingest,
                on_backtest=on_backtest,
                notify=lambda message: progress.console.print(message),
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
