"""Command groups shared by several domains (each domain adds its own commands to them)."""

from __future__ import annotations

import typer

report_app = typer.Typer(
    help="Reports: backtest results, the intelligence picture, transparency.",
    no_args_is_help=True,
)
