"""``patrolcast backtest`` and ``patrolcast report backtest``: thin adapters over evaluate.jobs."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.groups import report_app


def stderr_console() -> Any:
    """Progress and notes go to stderr, so that ``--json`` output on stdout stays clean."""
    from rich.console import Console

    return Console(stderr=True)


@contextmanager
def origin_progress(console: Any, label: str, total: int) -> Iterator[Callable[[int], None]]:
    """A rich progress bar over origins; yields ``advance(done)``."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
        disable=not getattr(console, "is_terminal", False),  # no bar frames in logs and pipes
    ) as progress:
        task = progress.add_task(label, total=total)

        def advance(done: int) -> None:
            progress.update(task, completed=done)

        yield advance


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        dataset: str = typer.Option(..., "--dataset", "-d", help="Ingested dataset name."),
        level: str = typer.Option("grid", help="grid (cells) or lsoa (LSOA 2021 areas)."),
        horizon: str = typer.Option("7d", help="Scoring window: 1d, 7d, 2w, 1M..."),
        origins: int = typer.Option(12, min=1, help="Number of rolling origins."),
        methods: str = typer.Option("naive,kde,prospective", help="Comma-separated methods."),
        lookback: str = typer.Option(
            "", help="Common training window before each origin (e.g. 365d, 6M); default: "
            "none, each method takes the history it asks for (stated in the report).",
        ),
        step: str = typer.Option("", help="Distance between origins (default: the horizon)."),
        protocol: str = typer.Option(
            "mask", help="mask: units with an event before each origin (the field's); area: all."
        ),
        boundary: Path | None = typer.Option(
            None,
            help="Study-area boundary (GeoPackage, GeoJSON, shapefile, zip) read through GDAL; "
            "default: the force area (UK) or the mapping's city limits (US).",
        ),
        layer: str = typer.Option("", help="Layer of the boundary file (GeoPackage)."),
        where: str = typer.Option("", help="Feature filter of the boundary file (OGR SQL)."),
        study_area: str = typer.Option(
            "default", "--study-area", help="default, or hull: the data's extent (a warning)."
        ),
        select: bool = typer.Option(
            True, "--select/--no-select",
            help="Choose kde/prospective parameters on data before the first origin (nested).",
        ),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        groups: str = typer.Option(
            "", help="Offence groups (comma-separated); default: the dataset's violence groups."
        ),
        target: str = typer.Option("count", help="Rank and score by event count or harm."),
        end: str = typer.Option(
            "", help="End of the last scoring window (ISO date); default: the end of the data."
        ),
        executor: str = typer.Option("local", help="local (processes) or serial."),
        workers: int = typer.Option(0, min=0, help="Worker processes (0: all CPUs)."),
        n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap replicates."),
        seed: int = typer.Option(20080101, help="Bootstrap seed."),
        out: Path = typer.Option(
            Path("out/backtest"), help="Folder for the JSON, markdown and PNG report."
        ),
        home: Path | None = typer.Option(None, help="Data home (default: settings)."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Rolling-origin backtest of forecasting methods on the same origins."""
        from patrolcast.evaluate.jobs import BacktestSpec, backtest_job, study_for

        spec = BacktestSpec.from_options(
            dataset=dataset,
            level=level,
            horizon=horizon,
            origins=origins,
            methods=methods,
            lookback=lookback or None,
            cell_size=cell_size,
            groups=groups or None,
            target=target,
            executor=executor,
            workers=workers or None,
            n_boot=n_boot,
            seed=seed,
            end=end or None,
            step=step or None,
            protocol=protocol,
            boundary=boundary,
            layer=layer or None,
            where=where or None,
            study_area=study_area,
            select=select,
        )
        study = study_for(spec, home=home)
        console = stderr_console()
        with origin_progress(console, f"backtest {dataset}", spec.origins) as advance:
            outcome = backtest_job(spec, out_dir=out, study=study, on_origin_done=advance)
        if as_json:
            typer.echo(json.dumps(outcome.summary_json(), indent=1))
            return
        from rich.console import Console

        from patrolcast.evaluate.report import rich_table

        for warning in outcome.result.meta.get("warnings", []):
            console.print(f"[bold yellow]warning:[/] {warning}")
        Console().print(rich_table(outcome.summary, title=outcome.title))
        Console().print(f"report: {', '.join(str(p) for p in outcome.paths.values())}")

    @report_app.command("backtest")
    def report_backtest(
        result: Path = typer.Argument(..., help="A JSON file written by `patrolcast backtest`."),
        out: Path | None = typer.Option(None, help="Also write markdown and PNG to this folder."),
        n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap replicates."),
        seed: int = typer.Option(20080101, help="Bootstrap seed."),
        as_json: bool = typer.Option(False, "--json", help="Print the summary as JSON."),
    ) -> None:
        """Summarise a saved backtest: table with bootstrap CIs (and PNG with --out)."""
        from patrolcast.evaluate.bootstrap import summarise
        from patrolcast.evaluate.report import (
            load_json,
            rich_table,
            summary_json,
            write_report,
        )

        loaded = load_json(result)
        summary = summarise(loaded, n_boot=n_boot, seed=seed)
        paths = {}
        if out is not None:
            paths = write_report(loaded, out, name=result.stem, n_boot=n_boot, seed=seed,
                                 title=str(loaded.meta.get("title", result.stem)))
        if as_json:
            payload = summary_json(loaded, n_boot=n_boot, seed=seed)
            payload["files"] = {k: str(v) for k, v in paths.items()}
            typer.echo(json.dumps(payload, indent=1))
            return
        from rich.console import Console

        Console().print(rich_table(summary, title=str(loaded.meta.get("title", result.stem))))
        for path in paths.values():
            Console().print(f"wrote {path}")
