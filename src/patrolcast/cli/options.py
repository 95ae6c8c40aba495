"""The conventions every ``patrolcast`` command follows (docs/readme/15-command-line.md).

- ``--home DIR``: one data home for the analytical store (``<home>/store``), the governance
  database (``<home>/patrolcast.db``) and the server's keys (``<home>/keys``). Default:
  ``$PATROLCAST_HOME``, then the settings file's ``home``, then the per-user data folder
  (``platformdirs.user_data_dir("patrolcast")``). A command that writes there prints
  ``data home: DIR``; a command that only reads refuses a home that does not exist.
- ``--out DIR``: always a folder (created if absent); file names are chosen by the command.
- ``-d/--dataset NAME``: an ingested dataset. Ids (proposals, tokens) are positional.
- Times: :data:`patrolcast.app.times.TIME_RULE`, stated in every help text taking a time.
- ``--bbox xmin,ymin,xmax,ymax`` with ``--bbox-crs`` (default stated in the help).
- Boroughs: a name ("Hackney") or a GSS code ("E09000012"), wherever a borough is named.
- ``--permutations``: Monte Carlo permutations, 999 everywhere.
- ``--quiet``: no progress display and no notes (results and errors still print); ``--json``
  prints only JSON on stdout, and implies ``--quiet`` for the notes.

Use the option objects as defaults (``home: Path | None = HOME``) and the helpers below; do not
redefine them per command.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer

from patrolcast.app.times import TIME_RULE, time_help
from patrolcast.config import Settings, load_settings
from patrolcast.errors import InputError

__all__ = [
    "BBOX",
    "BBOX_CRS",
    "BOROUGH_HELP",
    "BOUNDARY",
    "DATASET",
    "DEFAULT_PERMUTATIONS",
    "HOME",
    "HOME_HELP",
    "JSON",
    "LAYER",
    "PERMUTATIONS",
    "QUIET",
    "STUDY_AREA",
    "TIME_RULE",
    "WHERE",
    "Step",
    "dataset_option",
    "note",
    "out_folder",
    "out_option",
    "parse_bbox",
    "progress",
    "reading_home",
    "stderr_console",
    "time_help",
    "writing_home",
]

HOME_HELP = (
    "Data home: the analytical store (<home>/store), the governance database "
    "(<home>/patrolcast.db) and the server's keys (<home>/keys). Default: $PATROLCAST_HOME, "
    "the settings file's home, else the per-user data folder (~/.local/share/patrolcast)."
)
HOME: Any = typer.Option(None, "--home", help=HOME_HELP, show_default=False)

DATASET: Any = typer.Option(
    ..., "--dataset", "-d", help="Ingested dataset name (see `patrolcast ingest`)."
)


def dataset_option(help: str = "Ingested dataset name (see `patrolcast ingest`).",
                   *, required: bool = True) -> Any:
    """``-d/--dataset`` with a command's own help text."""
    return typer.Option(... if required else None, "--dataset", "-d", help=help)


QUIET: Any = typer.Option(
    False, "--quiet", "-q",
    help="No progress display and no notes on stderr (results and errors still print).",
)
JSON: Any = typer.Option(
    False, "--json", help="Print the result as JSON on stdout only (no notes, no progress)."
)

DEFAULT_PERMUTATIONS = 999
PERMUTATIONS: Any = typer.Option(
    DEFAULT_PERMUTATIONS, "--permutations", min=19,
    help="Monte Carlo permutations (999: p-values down to 0.001).",
)

BBOX: Any = typer.Option(
    None, "--bbox", help="Box xmin,ymin,xmax,ymax in the CRS of --bbox-crs.", show_default=False
)
BBOX_CRS: Any = typer.Option(
    "EPSG:27700", "--bbox-crs",
    help="CRS of --bbox (and of an area polygon): a projected CRS in metres "
    "(EPSG:27700, British National Grid, by default).",
)

BOROUGH_HELP = "a London borough by name (Hackney) or GSS code (E09000012)"

# The study area of every command that builds a grid or scores one.
BOUNDARY: Any = typer.Option(
    None, "--boundary",
    help="Study-area boundary (GeoPackage, GeoJSON, shapefile, zip) read through GDAL; default: "
    "the force area (UK) or the mapping's city limits (US). Events outside are left out, counted.",
)
LAYER: Any = typer.Option("", "--layer", help="Layer of the boundary file (GeoPackage).")
WHERE: Any = typer.Option(
    "", "--where", help="Feature filter of the boundary file, OGR SQL: \"PFA22NM = 'Merseyside'\"."
)
STUDY_AREA: Any = typer.Option(
    "default", "--study-area", help="default, or hull: the data's extent (a warning)."
)


def out_option(default: Path | None, what: str) -> Any:
    """``--out DIR``: always a folder, created if absent."""
    return typer.Option(default, "--out", help=f"Folder for {what} (created if absent).")


def out_folder(out: Path) -> Path:
    """Create the ``--out`` folder; refuse a path that is a file."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out} is a file: --out takes a folder")
    out.mkdir(parents=True, exist_ok=True)
    return out


def parse_bbox(text: str, option: str = "--bbox") -> list[float]:
    """Four finite numbers xmin,ymin,xmax,ymax with xmin < xmax and ymin < ymax."""
    try:
        box = [float(v) for v in text.split(",")]
    except ValueError:
        raise InputError(f"{option} must be four numbers: xmin,ymin,xmax,ymax") from None
    if len(box) != 4 or not all(abs(v) < float("inf") for v in box):
        raise InputError(f"{option} must be four numbers: xmin,ymin,xmax,ymax")
    if not (box[0] < box[2] and box[1] < box[3]):
        raise InputError(f"{option}: xmin must be below xmax and ymin below ymax")
    return box


def stderr_console() -> Any:
    """Progress and notes go to stderr, so that results on stdout stay clean."""
    from rich.console import Console

    return Console(stderr=True)


def note(text: str, *, quiet: bool = False) -> None:
    """One line on stderr, unless ``--quiet`` (or ``--json``)."""
    if not quiet:
        typer.echo(text, err=True)


def reading_home(home: Path | None, **settings: Any) -> Settings:
    """Settings for a command that only reads the home: a home that does not exist is refused
    (one line naming it), never created."""
    resolved = load_settings(home=home, **settings)
    resolved.require_home()
    return resolved


def writing_home(home: Path | None, *, quiet: bool = False, **settings: Any) -> Settings:
    """Settings for a command that writes into the home: creates it and prints
    ``data home: DIR`` on stderr (unless ``--quiet``/``--json``)."""
    resolved = load_settings(home=home, **settings)
    try:
        resolved.home.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot create the data home {resolved.home}: {exc.strerror}") from None
    note(f"data home: {resolved.home.resolve()}", quiet=quiet)
    return resolved


class Step:
    """What a running job reports to: ``advance(n)``, ``update(done)``, ``total(n)``."""

    def __init__(self, bar: Any, task: Any) -> None:
        self._bar, self._task = bar, task

    def advance(self, n: float = 1) -> None:
        self._bar.update(self._task, advance=n)

    def update(self, done: float) -> None:
        self._bar.update(self._task, completed=done)

    def total(self, n: float | None) -> None:
        self._bar.update(self._task, total=n)

    def label(self, text: str) -> None:
        self._bar.update(self._task, description=text)

    def __call__(self, done: float) -> None:  # a plain callback: on_done(done)
        self.update(done)


@contextmanager
def progress(label: str, total: float | None = None, *, quiet: bool = False) -> Iterator[Step]:
    """A rich progress display on stderr for a job of ``total`` steps (``None``: a spinner).

    Silent with ``--quiet``/``--json`` and when stderr is not a terminal (no frames in logs and
    pipes). Yields a :class:`Step`; it is also a callback ``step(done)``.
    """
    from rich.progress import (
        BarColumn,
        MofNCompleteColumn,
        Progress,
        SpinnerColumn,
        TimeElapsedColumn,
    )

    console = stderr_console()
    columns: list[Any] = [SpinnerColumn(), "[progress.description]{task.description}"]
    if total is not None:
        columns += [BarColumn(), MofNCompleteColumn()]
    columns.append(TimeElapsedColumn())
    with Progress(*columns, console=console, transient=False,
                  disable=quiet or not console.is_terminal) as bar:
        task = bar.add_task(label, total=total)
        yield Step(bar, task)
        if total is None:
            bar.update(task, total=1, completed=1)
