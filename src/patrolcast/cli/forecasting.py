"""``patrolcast forecast``: a forecast for the next window, written as GIS, CSV, a briefing
map and a PDF briefing pack (conventions: :mod:`patrolcast.cli.options`)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer

from patrolcast.app.times import time_help
from patrolcast.cli.options import (
    BOUNDARY,
    HOME,
    JSON,
    LAYER,
    QUIET,
    STUDY_AREA,
    WHERE,
    dataset_option,
    out_folder,
    out_option,
    progress,
    reading_home,
)

STAGES = {
    "reading": "reading the data and the study area",
    "selecting": "choosing parameters by validation",
    "fitting": "fitting",
    "predicting": "predicting",
    "writing": "writing the outputs",
}


def _number(value: Any) -> str:
    return f"{value:g}" if isinstance(value, float) else str(value)


def register(app: typer.Typer) -> None:
    @app.command()
    def forecast(
        dataset: str = dataset_option(),
        method: str = typer.Option("kde", help="naive, kde, prospective, etas, boosted..."),
        start: str = typer.Option(
            "", help=time_help("Window start; default: where the data ends (month data: the "
                               "month of that day in the UK)", dataset=True),
        ),
        horizon: str = typer.Option("7d", help="Window length: 8h, 1d, 7d, 2w, 1M..."),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        level: str = typer.Option("grid", help="grid, or lsoa / ward / borough areas."),
        groups: str = typer.Option(
            "", help="Offence groups (comma-separated); default serious_violence,violence."
        ),
        boundary: Path | None = BOUNDARY,
        layer: str = LAYER,
        where: str = WHERE,
        study_area: str = STUDY_AREA,
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
        pack: bool = typer.Option(
            True, "--pack/--no-pack", help="Also write the one-page PDF briefing pack.",
        ),
        out: Path = out_option(Path("out/forecast"), "the GeoPackage, GeoJSON, CSV, map, "
                               "briefing pack and snapshot"),
        force: bool = typer.Option(False, "--force", help="Overwrite existing output files."),
        home: Path | None = HOME,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Forecast expected violence per cell or area; write GeoPackage, GeoJSON, CSV, a
        briefing map (PNG) and pack (PDF), named <dataset>_<method>_<level>_<horizon>_<start>."""
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
            pack=pack,
        )
        settings = reading_home(home)
        label = f"{dataset} {spec.method} forecast"
        with progress(label, quiet=quiet or as_json) as step:
            outcome = forecast_job(
                spec, out_dir=out_folder(out), home=settings.home, overwrite=force,
                on_stage=lambda name: step.label(f"{label}: {STAGES.get(name, name)}"),
            )
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
        source = str(area.get("source"))
        if "km2)" not in source:  # some sources already state their area
            source += f" ({float(area.get('km2', 0)):,.1f} km2)"
        console.print(f"study area: {source}, "
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
