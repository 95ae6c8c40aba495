"""``patrolcast quarantine``: the rows ingest set aside, reachable without Python.

``list`` counts them by reason and shows the first rows; ``export`` writes them to CSV. The raw
text is as stored: the values of personal columns were blanked at ingest and stay blank. Every
text cell of the CSV is escaped against spreadsheet formula injection (a leading ``=``, ``+``,
``-``, ``@``, tab, carriage return or NUL gets a ``'`` in front).
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import typer

from patrolcast.cli.options import HOME, JSON, dataset_option, reading_home

quarantine_app = typer.Typer(
    help="Quarantined rows of a dataset: list them, export them to CSV.", no_args_is_help=True
)

_COLUMNS = ("file", "line", "reason", "raw")


def _store(home: Path | None):  # type: ignore[no-untyped-def]
    from patrolcast.io import Store

    return Store(reading_home(home).store_dir)


@quarantine_app.command("list")
def list_rows(
    dataset: str = dataset_option(),
    reason: str | None = typer.Option(None, help="Only rows quarantined for this reason."),
    limit: int = typer.Option(20, min=0, help="Rows to show (0: counts only)."),
    home: Path | None = HOME,
    as_json: bool = JSON,
) -> None:
    """Count the quarantined rows by reason and show the first of them."""
    frame = _store(home).quarantine(dataset, reason=reason)
    counts = frame["reason"].value_counts().sort_index() if len(frame) else None
    by_reason = {str(k): int(v) for k, v in counts.items()} if counts is not None else {}
    shown = frame.head(limit)
    if as_json:
        payload = {
            "dataset": dataset,
            "reason": reason,
            "quarantined": len(frame),
            "by_reason": by_reason,
            "rows": [
                {"file": r.file, "line": int(r.line), "reason": r.reason, "raw": r.raw}
                for r in shown.itertuples()
            ],
        }
        typer.echo(json.dumps(payload, indent=1))
        return
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    what = f" for reason {reason!r}" if reason else ""
    console.print(f"[bold]{escape(dataset)}[/]: {len(frame):,} quarantined rows{escape(what)}")
    for name, n in sorted(by_reason.items(), key=lambda kv: -kv[1]):
        console.print(f"  {n:>9,}  {escape(name)}")
    if len(shown):
        table = Table()
        for col in _COLUMNS:
            table.add_column(col, overflow="fold")
        for r in shown.itertuples():
            raw = r.raw if len(r.raw) <= 160 else r.raw[:160] + "..."
            table.add_row(escape(Path(r.file).name), str(r.line), escape(r.reason), escape(raw))
        console.print(table)
        if len(frame) > len(shown):
            console.print(f"... {len(frame) - len(shown):,} more (quarantine export --out DIR)")


@quarantine_app.command("export")
def export_rows(
    dataset: str = dataset_option(),
    out: Path = typer.Option(
        Path("."), "--out",
        help="Folder for quarantine_<dataset>[_<reason>].csv (created if absent).",
    ),
    reason: str | None = typer.Option(None, help="Only rows quarantined for this reason."),
    home: Path | None = HOME,
    as_json: bool = JSON,
) -> None:
    """Write the quarantined rows to CSV (file, line, reason, raw), formula-escaped."""
    import re

    from patrolcast.cli.options import out_folder
    from patrolcast.io.writers import escape_csv_cell

    frame = _store(home).quarantine(dataset, reason=reason)
    suffix = "_" + re.sub(r"[^A-Za-z0-9.-]+", "-", reason).strip("-") if reason else ""
    out = out_folder(out) / f"quarantine_{dataset}{suffix}.csv"
    tmp = out.with_name(out.name + ".tmp")
    with tmp.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(_COLUMNS)
        for r in frame.itertuples():
            writer.writerow(
                [escape_csv_cell(str(r.file)), int(r.line), escape_csv_cell(str(r.reason)),
                 escape_csv_cell(str(r.raw))]
            )  # fmt: skip
    tmp.replace(out)
    if as_json:
        typer.echo(json.dumps({"dataset": dataset, "rows": len(frame), "file": str(out)}))
    else:
        typer.echo(f"{len(frame):,} quarantined rows of {dataset} written to {out}")


def register(app: typer.Typer) -> None:
    app.add_typer(quarantine_app, name="quarantine")
