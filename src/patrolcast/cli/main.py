"""The ``patrolcast`` command. Each domain registers its commands from its own module.

Errors a user can correct (:class:`patrolcast.errors.PatrolcastError`) print as one line on
stderr with exit code 2; nothing prints a traceback unless ``PATROLCAST_DEBUG=1``.
"""

from __future__ import annotations

import importlib
import os
import sys

import typer
from typer.exceptions import TyperException

from patrolcast.cli.groups import report_app
from patrolcast.errors import PatrolcastError

_CONVENTIONS = (
    "Data home (store, governance database, keys): --home, else $PATROLCAST_HOME, else the "
    "settings file's home, else the per-user data folder. Times without a zone are local "
    "time: Europe/London, or a US city dataset's own zone; stored in UTC. --out is always a "
    "folder; --quiet turns off progress and notes. See docs/readme/15-command-line.md."
)

app = typer.Typer(
    name="patrolcast",
    help="Accountable, place-based decision support for short targeted patrols.",
    epilog=_CONVENTIONS,
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


def _print_version(value: bool) -> None:
    if value:
        from patrolcast import __version__

        typer.echo(f"patrolcast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(
        False, "--version", help="Print the version and exit.", is_eager=True,
        callback=_print_version,
    ),
) -> None:  # fmt: skip
    """Accountable, place-based decision support for short targeted patrols."""


# Modules under patrolcast.cli that define ``register(app)``. Order sets the help listing.
COMMAND_MODULES = (
    "ingest",
    "forecasting",
    "evaluation",
    "imminent",
    "accounts",
    "governance",
    "audit",
    "oversight",
    "outcomes",
    "quarantine",
    "national",
    "briefing",
    "demo",
)


def _register_all() -> None:
    for name in COMMAND_MODULES:
        try:
            module = importlib.import_module(f"patrolcast.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name == f"patrolcast.cli.{name}":
                continue  # that domain's commands are not installed in this build
            raise
        module.register(app)


_register_all()
app.add_typer(report_app, name="report")


def main() -> None:
    try:
        result = app(standalone_mode=False)
    except PatrolcastError as exc:
        if os.environ.get("PATROLCAST_DEBUG") == "1":
            raise
        typer.secho(f"error: {exc}", err=True, fg=typer.colors.RED)
        sys.exit(2)
    except typer.Exit as exc:
        sys.exit(exc.exit_code)
    except (typer.Abort, KeyboardInterrupt):
        typer.secho("aborted", err=True)
        sys.exit(130)
    except TyperException as exc:  # usage errors: bad option, missing argument
        typer.secho(f"error: {exc.format_message()}", err=True, fg=typer.colors.RED)
        sys.exit(exc.exit_code)
    except Exception as exc:
        if os.environ.get("PATROLCAST_DEBUG") == "1":
            raise
        typer.secho(
            f"internal error: {type(exc).__name__}: {exc} (set PATROLCAST_DEBUG=1 for details)",
            err=True,
            fg=typer.colors.RED,
        )
        sys.exit(1)
    sys.exit(result if isinstance(result, int) else 0)


if __name__ == "__main__":
    main()
