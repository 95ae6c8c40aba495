"""``patrolcast ingest``: files into the analytical store, with a per-reason account."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from patrolcast.errors import InputError

if TYPE_CHECKING:
    from patrolcast.io import IngestSummary


def _parse_bbox(text: str | None) -> tuple[float, float, float, float] | None:
    if not text:
        return None
    try:
        parts = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise InputError(f"--bbox {text!r}: give min_lon,min_lat,max_lon,max_lat") from None
    if len(parts) != 4:
        raise InputError(f"--bbox {text!r}: give four numbers min_lon,min_lat,max_lon,max_lat")
    return (parts[0], parts[1], parts[2], parts[3])


fetch_app = typer.Typer(help="Download published crime files.", no_args_is_help=True)


@fetch_app.command("police-uk")
def fetch_police_uk(
    force: str = typer.Option(..., "--force", help="data.police.uk force id, e.g. city-of-london."),
    start: str = typer.Option(..., "--from", help="First month, YYYY-MM."),
    end: str = typer.Option(..., "--to", help="Last month, YYYY-MM."),
    out: Path | None = typer.Option(None, help="Folder (default: <home>/downloads/police-uk)."),
    kind: list[str] = typer.Option(
        ["street", "stop-and-search"], help="street, stop-and-search, outcomes (repeatable)."
    ),
    layout: str = typer.Option(
        "files",
        help="files: {base}/{YYYY-MM}/{YYYY-MM}-{force}-{kind}.csv; "
        "archive: {base}/{YYYY-MM}.zip (all forces); api: street crimes of the force area "
        "from the data.police.uk API (city-of-london), saved as JSON and as the street CSV.",
    ),
    base_url: str | None = typer.Option(
        None,
        help="Base URL (else PATROLCAST_POLICE_UK_BASE_URL, else the data.police.uk archive; "
        "for --layout api: PATROLCAST_POLICE_UK_API_URL, else https://data.police.uk/api).",
    ),
    delay: float = typer.Option(1.0, min=0.0, help="Seconds between requests (be polite)."),
    retries: int = typer.Option(4, min=0, help="Retries per file (dropped connection, 429, 5xx)."),
    max_wait: float = typer.Option(300.0, min=0.0, help="Longest Retry-After to honour, seconds."),
    refresh: bool = typer.Option(False, help="Download finished files again; report changes."),
    home: Path | None = typer.Option(None, help="Data home."),
    as_json: bool = typer.Option(False, "--json", help="Print the result as JSON."),
) -> None:
    """Download a force's monthly data.police.uk files: resumable, checksummed, polite."""
    from patrolcast.config import load_settings
    from patrolcast.io import fetch

    folder = out or load_settings(home=home).home / "downloads" / "police-uk"
    options: dict[str, Any] = dict(
        kinds=tuple(kind), layout=layout, base=base_url, delay=delay, retries=retries,
        max_wait=max_wait, refresh=refresh,
    )  # fmt: skip
    if not as_json and sys.stderr.isatty():
        from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

        with Progress(
            TextColumn("{task.description}"), BarColumn(), DownloadColumn(), transient=True
        ) as bar:
            tasks: dict[str, Any] = {}

            def report(name: str, done: int, total: int | None) -> None:
                if name not in tasks:
                    tasks[name] = bar.add_task(name, total=total)
                bar.update(tasks[name], completed=done, total=total)

            summary = fetch.fetch_police_uk(force, start, end, folder, progress=report, **options)
    else:
        summary = fetch.fetch_police_uk(force, start, end, folder, **options)
    if as_json:
        typer.echo(json.dumps(summary.to_dict(), indent=1))
    else:
        for f in summary.files:
            if f.status != "skipped":
                extra = f": {f.message}" if f.message else ""
                typer.echo(f"{f.status:<10} {f.path}{extra}")
        counts = ", ".join(f"{n} {s}" for s, n in summary.to_dict()["counts"].items())
        typer.echo(
            f"{len(summary.files)} file(s) in {folder}: {counts}; manifest.json records SHA-256"
        )
    if summary.failed:
        raise typer.Exit(1)


@contextmanager
def _progress(show: bool) -> Iterator[Callable[[str, int, int], None] | None]:
    """A rich progress bar (bytes and rows) on a terminal, else nothing."""
    if not show:
        yield None
        return
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(
        TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
        TextColumn("{task.fields[rows]:,} rows"), TimeElapsedColumn(), transient=True,
    ) as bar:  # fmt: skip
        task = bar.add_task("ingest", total=None, rows=0)

        def report(name: str, nbytes: int, rows: int) -> None:
            bar.update(task, advance=nbytes, description=name, rows=rows)

        yield report


def register(app: typer.Typer) -> None:
    app.add_typer(fetch_app, name="fetch")

    @app.command()
    def ingest(
        path: Path = typer.Argument(
            ..., help="A file, a folder of .csv/.tsv (optionally .gz), or a zip archive."
        ),
        kind: str = typer.Option(
            "auto",
            help="auto (from the header), police-uk-street, stop-search, london-datastore, "
            "incidents.",
        ),
        mapping: str | None = typer.Option(
            None,
            help="Incident column mapping: chicago, chicago-crimes, nypd, nyc, "
            "philadelphia, sfpd, or a .toml path.",
        ),  # fmt: skip
        dataset: str | None = typer.Option(None, help="Dataset name (default: file/folder name)."),
        home: Path | None = typer.Option(None, help="Data home; the store is <home>/store."),
        bbox: str | None = typer.Option(
            None, help="Study area min_lon,min_lat,max_lon,max_lat; rows outside are quarantined."
        ),
        taxonomy: Path | None = typer.Option(None, help="Offence taxonomy CSV (default: shipped)."),
        as_json: bool = typer.Option(False, "--json", help="Print the accounting as JSON."),
    ) -> None:
        """Ingest crime files: every row stored or quarantined with a reason."""
        from patrolcast.config import load_settings
        from patrolcast.io import Store
        from patrolcast.io import ingest as run_ingest
        from patrolcast.io.archives import ingest_archive, is_zip

        settings = load_settings(home=home)
        store = Store(settings.store_dir)
        show_progress = not as_json and sys.stderr.isatty()
        if is_zip(path):
            if mapping is not None or kind != "auto":
                raise InputError(
                    "--kind and --mapping do not apply to a zip archive (each member's kind "
                    "is read from its name or header)"
                )
            with _progress(show_progress) as report:
                archive = ingest_archive(
                    path, store=store, dataset=dataset, crs=settings.crs, bbox=_parse_bbox(bbox),
                    taxonomy=taxonomy, shared_data=settings.shared_data, progress=report,
                )  # fmt: skip
            if as_json:
                typer.echo(json.dumps(archive.to_dict(), indent=1))
                return
            from rich.console import Console

            console = Console()
            for part in archive.datasets:
                _print_summary(console, part)
            for member in archive.skipped:
                rows = f" ({member.rows:,} rows)" if member.rows else ""
                console.print(f"member {member.name}{rows}: {member.status}", markup=False)
            return
        if show_progress:
            from rich.progress import (
                BarColumn,
                DownloadColumn,
                Progress,
                TextColumn,
                TimeElapsedColumn,
            )

            with Progress(
                TextColumn("{task.description}"),
                BarColumn(),
                DownloadColumn(),
                TextColumn("{task.fields[rows]:,} rows"),
                TimeElapsedColumn(),
                transient=True,
            ) as bar:
                task = bar.add_task("ingest", total=None, rows=0)

                def report(name: str, nbytes: int, rows: int) -> None:
                    bar.update(task, advance=nbytes, description=name, rows=rows)

                summary = run_ingest(
                    path, store=store, kind=kind, mapping=mapping, dataset=dataset,
                    crs=settings.crs, bbox=_parse_bbox(bbox), taxonomy=taxonomy,
                    shared_data=settings.shared_data, progress=report,
                )  # fmt: skip
        else:
            summary = run_ingest(
                path, store=store, kind=kind, mapping=mapping, dataset=dataset,
                crs=settings.crs, bbox=_parse_bbox(bbox), taxonomy=taxonomy,
                shared_data=settings.shared_data,
            )  # fmt: skip
        if as_json:
            typer.echo(json.dumps(summary.to_dict(), indent=1))
            return
        from rich.console import Console

        _print_summary(Console(), summary)


def _print_summary(console: Any, summary: IngestSummary) -> None:
    from rich.table import Table

    console.print(
        f"[bold]{summary.dataset}[/] ({summary.kind}, {summary.crs}): "
        f"{summary.rows_in:,} rows in = {summary.stored:,} stored + "
        f"{summary.quarantined:,} quarantined; {summary.events:,} records; "
        f"{summary.seconds:.1f} s"
    )
    console.print(f"projection: {summary.transformation}")
    if summary.reasons:
        table = Table(title="Quarantined rows by reason")
        table.add_column("reason")
        table.add_column("rows", justify="right")
        for reason, n in sorted(summary.reasons.items(), key=lambda kv: -kv[1]):
            table.add_row(reason, f"{n:,}")
        console.print(table)
    for note, n in sorted(summary.notes.items()):
        console.print(f"note: {note}: {n:,}")
    skipped = [f for f in summary.files if f.status != "ingested"]
    if skipped:
        console.print(f"{len(skipped)} file(s) skipped:")
        for f in skipped[:10]:
            console.print(f"  {f.path}: {f.status}")
