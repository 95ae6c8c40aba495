"""``patrolcast ingest``: files into the analytical store, with a per-reason account."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from patrolcast.cli.options import (
    BBOX,
    HOME,
    JSON,
    QUIET,
    note,
    parse_bbox,
    progress,
    writing_home,
)
from patrolcast.errors import InputError

if TYPE_CHECKING:
    from patrolcast.io import IngestSummary


BBOX_CRS_HELP = (
    "CRS of --bbox: EPSG:27700 (British National Grid, metres) by default; EPSG:4326 for "
    "longitude/latitude in degrees; any CRS pyproj knows."
)


def _box(text: str | None, crs: str) -> Any:
    """``--bbox`` in the CRS of ``--bbox-crs`` as a :class:`patrolcast.io._values.Box`."""
    if not text:
        return None
    from pyproj import CRS
    from pyproj.exceptions import CRSError

    from patrolcast.io._values import Box

    xmin, ymin, xmax, ymax = parse_bbox(text)
    try:
        name = CRS.from_user_input(crs).to_string()
    except CRSError:
        raise InputError(f"--bbox-crs {crs!r}: not a CRS (e.g. EPSG:27700, EPSG:4326)") from None
    return Box(xmin, ymin, xmax, ymax, crs=name)


def _reporter(step: Any) -> Callable[[str, int, int], None]:
    """An ingest progress callback (file, bytes of the block, rows so far) on a shared step."""
    done = [0]

    def report(name: str, nbytes: int, rows: int) -> None:
        done[0] += nbytes
        step.label(f"ingest {name}: {rows:,} rows, {done[0] / 1e6:,.0f} MB read")

    return report


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
    home: Path | None = HOME,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Download a force's monthly data.police.uk files: resumable, checksummed, polite."""
    from patrolcast.io import fetch

    folder = out or writing_home(home, quiet=quiet or as_json).home / "downloads" / "police-uk"
    options: dict[str, Any] = dict(
        kinds=tuple(kind), layout=layout, base=base_url, delay=delay, retries=retries,
        max_wait=max_wait, refresh=refresh,
    )  # fmt: skip
    with progress("fetch", quiet=quiet or as_json) as step:

        def report(name: str, done: int, total: int | None) -> None:
            size = f" of {total / 1e6:,.1f}" if total else ""
            step.label(f"fetch {name}: {done / 1e6:,.1f}{size} MB")

        summary = fetch.fetch_police_uk(force, start, end, folder, progress=report, **options)
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
        dataset: str | None = typer.Option(
            None, "--dataset", "-d", help="Dataset name (default: file/folder name)."
        ),
        home: Path | None = HOME,
        bbox: str | None = BBOX,
        bbox_crs: str = typer.Option("EPSG:27700", "--bbox-crs", help=BBOX_CRS_HELP),
        taxonomy: Path | None = typer.Option(None, help="Offence taxonomy CSV (default: shipped)."),
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Ingest crime files: every row stored or quarantined with a reason (rows outside
        --bbox are quarantined as outside the study area)."""
        from patrolcast.io import Store
        from patrolcast.io import ingest as run_ingest
        from patrolcast.io.archives import ingest_archive, is_zip

        box = _box(bbox, bbox_crs)
        if not path.exists():
            raise InputError(f"{path} does not exist")
        settings = writing_home(home, quiet=True)  # said after the ingest (errors: one line)
        store = Store(settings.store_dir)
        if is_zip(path):
            if mapping is not None or kind != "auto":
                raise InputError(
                    "--kind and --mapping do not apply to a zip archive (each member's kind "
                    "is read from its name or header)"
                )
            with progress("ingest", quiet=quiet or as_json) as step:
                archive = ingest_archive(
                    path, store=store, dataset=dataset, crs=settings.crs, bbox=box,
                    taxonomy=taxonomy, shared_data=settings.shared_data, progress=_reporter(step),
                )  # fmt: skip
            if as_json:
                typer.echo(json.dumps(archive.to_dict(), indent=1))
                return
            note(f"data home: {settings.home.resolve()}", quiet=quiet)
            from rich.console import Console

            console = Console()
            for part in archive.datasets:
                _print_summary(console, part)
            for member in archive.skipped:
                rows = f" ({member.rows:,} rows)" if member.rows else ""
                console.print(f"member {member.name}{rows}: {member.status}", markup=False)
            return
        with progress("ingest", quiet=quiet or as_json) as step:
            summary = run_ingest(
                path, store=store, kind=kind, mapping=mapping, dataset=dataset,
                crs=settings.crs, bbox=box, taxonomy=taxonomy,
                shared_data=settings.shared_data, progress=_reporter(step),
            )  # fmt: skip
        if as_json:
            typer.echo(json.dumps(summary.to_dict(), indent=1))
            return
        from rich.console import Console

        note(f"data home: {settings.home.resolve()}", quiet=quiet)
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
    for text, n in sorted(summary.notes.items()):
        console.print(f"note: {text}: {n:,}")
    skipped = [f for f in summary.files if f.status != "ingested"]
    if skipped:
        console.print(f"{len(skipped)} file(s) skipped:")
        for f in skipped[:10]:
            console.print(f"  {f.path}: {f.status}")
