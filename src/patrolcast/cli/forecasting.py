"""``patrolcast forecast``: a forecast for the next window, written as GIS, CSV and PNG."""

from __future__ import annotations

import json
from pathlib import Path

import typer


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        dataset: str = typer.Option(..., "--dataset", "-d", help="Ingested dataset name."),
        method: str = typer.Option("kde", help="naive, kde, prospective..."),
        start: str = typer.Option(
            "", help="Window start (ISO date or date-time, UTC); default: where the data ends."
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
        out: Path = typer.Option(Path("out/forecast"), help="Output folder."),
        home: Path | None = typer.Option(None, help="Data home (default: settings)."),
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
        )
        outcome = forecast_job(spec, out_dir=out, home=home)
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
