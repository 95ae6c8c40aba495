"""``patrolcast forecast``: a forecast for the next window, written as GIS, CSV and PNG."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

STAGES = {
    "reading": "reading the data and the study area",
    "selecting": "choosing parameters by validation",
    "fitting": "fitting",
    "predicting": "predicting",
    "writing": "writing the outputs",
}


@contextmanager
def stage_progress(label: str, *, quiet: bool) -> Iterator[Callable[[str], None]]:
    """A rich spinner on stderr naming the stage a long forecast is in (LSOA levels take
    20-30 s); off with ``--quiet`` and when stderr is not a terminal (logs, pipes)."""
    from rich.console import Console
    from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn

    console = Console(stderr=True)
    with Progress(
        SpinnerColumn(),
        TextColumn("[progress.description]{task.description}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=quiet or not console.is_terminal,
    ) as progress:
        task = progress.add_task(label, total=None)

        def on_stage(name: str) -> None:
            progress.update(task, description=f"{label}: {STAGES.get(name, name)}")

        yield on_stage


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        dataset: str = typer.Option(..., "--dataset", "-d", help="Ingested dataset name."),
        method: str = typer.Option("kde", help="naive, kde, prospective..."),
        start: str = typer.Option(
            "", help="Window start (ISO date or date-time; without a zone: the data's local time, "
            "Europe/London for UK data); default: where the data ends."
        ),
        horizon: str = typer.Option("7d", help="Window length: 1d, 7d, 2w, 1M..."),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        level: str = typer.Option("grid", help="grid, or lsoa / ward / borough areas."),
        groups: str = typer.Option(
            "", help="Offence groups (comma-separated); default serious_violence,violence."
        ),
        boundary: Path | None = typer.Option(
            None,
            help="Study-area boundary (GeoPackage, GeoJSON, shapefile, zip) read through GDAL; "
            "default: the force area (UK) or the mapping's city limits (US).",
        ),
        layer: str = typer.Option("", help="Layer of the boundary file (GeoPackage)."),
        where: str = typer.Option(
            "", help="Feature filter of the boundary file, OGR SQL: \"PFA22NM = 'Merseyside'\"."
        ),
        study_area: str = typer.Option(
            "default", "--study-area", help="default, or hull: the data's extent (a warning)."
        ),
        target: str = typer.Option("count", help="Rank units by expected count or harm."),
        select: bool = typer.Option(
            False, "--select/--no-select",
            help="Choose kde/prospective parameters by rolling-origin validation before --start.",
        ),
        bandwidth: float | None = typer.Option(
            None, help="Spatial bandwidth in metres (kde, prospective, etas); default: the "
            "method's own (kde 300 m, prospective 250 m).",
        ),
        lookback: str = typer.Option(
            "", help="History the method learns from before the start (e.g. 56d, 12w, 12M); "
            "default: the method's own (kde and prospective 8 weeks, naive one horizon, "
            "etas two years).",
        ),
        out: Path = typer.Option(Path("out/forecast"), help="Output folder."),
        force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
        home: Path | None = typer.Option(None, help="Data home (default: settings)."),
        quiet: bool = typer.Option(False, "--quiet", "-q", help="No progress display."),
        as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
    ) -> None:
        """Forecast expected violence per cell or area; write GeoPackage, GeoJSON, CSV, PNG."""
        from patrolcast.evaluate.jobs import ForecastSpec, forecast_job

        spec = ForecastSpec.from_options(
            dataset=dataset,
            method=method,
            start=start or None,
            horizon=horizon,
            cell_size=cell_size,
            level=level,
            groups=groups or None,
            boundary=boundary,
            layer=layer or None,
            where=where or None,
            study_area=study_area,
            target=target,
            select=select,
            bandwidth=bandwidth,
            lookback=lookback or None,
        )
        with stage_progress(f"{dataset} {spec.method} forecast", quiet=quiet) as on_stage:
            outcome = forecast_job(spec, out_dir=out, home=home, overwrite=force,
                                   on_stage=on_stage)
        if as_json:
            typer.echo(json.dumps(outcome.to_json(), indent=1))
            return
        from rich.console import Console
        from rich.table import Table

        payload = outcome.to_json()
        console = Console()
        console.print(
            f"[bold]{dataset}[/] {spec.method} forecast {payload['start'][:16]} to "
            f"{payload['end'][:16]} (UTC{payload['start'][19:] or '+00:00'}, the data's local "
            f"time) over {outcome.n_units:,} units: "
            f"{outcome.expected_total:.1f} events expected"
        )
        area = outcome.study_area
        console.print(f"study area: {area.get('source')} ({float(area.get('km2', 0)):,.1f} km2), "
                      f"{float(area.get('events_outside', 0)):,.0f} events outside left out")
        params = outcome.snapshot.get("params", {})
        shown = {k: params[k] for k in ("bandwidth", "lookback_days", "history_days")
                 if params.get(k) is not None}
        if shown:
            console.print("parameters: " + ", ".join(f"{k} {_number(v)}"
                                                     for k, v in shown.items()))
        for warning in outcome.warnings:
            console.print(f"[bold yellow]warning:[/] {warning}")
        table = Table(title=f"Top units by expected {spec.target}")
        for col in ("rank", "unit", "easting", "northing", "expected count", "expected harm"):
            table.add_column(col, justify="left" if col == "unit" else "right")
        for row in outcome.top:
            table.add_row(
                str(row["rank"]), row["unit_id"], f"{row['easting']:.0f}",
                f"{row['northing']:.0f}", f"{row['expected_count']:.2f}",
                f"{row['expected_harm']:.1f}",
            )
        console.print(table)
        for path in outcome.paths.values():
            console.print(f"wrote {path}")
