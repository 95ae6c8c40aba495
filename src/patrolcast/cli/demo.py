"""``patrolcast demo``: the main job on the embedded default (real data from ../shared/data)."""

from __future__ import annotations

import typer

from patrolcast.errors import InputError


def register(app: typer.Typer) -> None:
    @app.command()
    def demo(fail: bool = typer.Option(False, help="test")) -> None:
        """Ingest, forecast, backtest and report on the shared real data."""
        if fail:
            raise InputError("bad thing")
        typer.echo("demo placeholder")
