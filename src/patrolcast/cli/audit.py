"""``patrolcast audit verify``: check the audit record, its signatures and the tables against it.

Exit status: 0 when everything verifies, 1 when tampering is found (each problem is listed), 2
for bad input (a missing database, key, checkpoint or export file, or one that is not what it
should be), with one line on standard error.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import typer
from sqlalchemy.exc import SQLAlchemyError

from patrolcast.cli.options import HOME, JSON, QUIET, progress
from patrolcast.errors import InputError

__all__ = ["audit_app", "register"]

audit_app = typer.Typer(
    help="The audit record: verify the chain, its signed checkpoints and the tables.",
    no_args_is_help=True,
)


@audit_app.callback()
def _group() -> None:
    """The audit record: verify the chain, its signed checkpoints and the tables."""


def _read_checkpoint(path: Path) -> Any:
    from patrolcast.governance.audit import Checkpoint

    if not path.is_file():
        raise InputError(f"no checkpoint file at {path}")
    return Checkpoint.from_json(path.read_text(encoding="utf-8", errors="replace"))


def _verify_database(
    url: str,
    *,
    public_key_pem: str | None,
    checkpoint: Path | None,
    checkpoint_log: Path | None,
) -> dict[str, Any]:
    from patrolcast.governance import audit
    from patrolcast.governance.db import open_database
    from patrolcast.governance.signing import read_checkpoint_log

    cp = _read_checkpoint(checkpoint) if checkpoint is not None else None
    logged = read_checkpoint_log(checkpoint_log) if checkpoint_log is not None else []
    database = open_database(url, create=False, allow_new=False)
    try:
        with database.engine.connect() as conn:
            conn.execution_options(sqlite_deferred=True)  # a read snapshot: writers carry on
            report = audit.verify(
                conn, checkpoint=cp, public_key_pem=public_key_pem, checkpoint_log=logged
            )
    except SQLAlchemyError as exc:
        first = str(exc).splitlines()[0]
        raise InputError(f"cannot read the audit record at {url}: {first}") from None
    finally:
        database.dispose()
    return {"source": "database", **report.to_dict()}


def _text(result: dict[str, Any]) -> str:
    what = "export" if result["source"] == "export" else "audit record"
    if result["ok"]:
        signed = (
            f", signed through #{result['signed_seq']}" if result.get("signed_seq") else ""
        )
        checked = result.get("rows_checked")
        rows = f"; {checked} rows match the log" if checked else ""
        lines = [
            f"{what} OK: {result['entries']} entries, head #{result['head_seq']} "
            f"{result['head_hash'][:16]}{signed}{rows}"
        ]
    else:
        lines = [f"{what} TAMPERED ({len(result['problems'])} problems):"]
        lines += [f"  {p}" for p in result["problems"]]
    lines += [f"  note: {n}" for n in result.get("notes", [])]
    return "\n".join(lines)


@audit_app.command("verify")
def verify(
    home: Path | None = HOME,
    public_key: Path | None = typer.Option(
        None, "--public-key", help="The server's audit public key (PEM); checks signatures."
    ),
    keys_dir: Path | None = typer.Option(
        None,
        "--keys-dir",
        help="The server's keys folder: its public key and checkpoint log are used.",
    ),
    checkpoint: Path | None = typer.Option(
        None, "--checkpoint", help="A checkpoint file kept outside the database."
    ),
    checkpoint_log: Path | None = typer.Option(
        None, "--checkpoint-log", help="The server's JSON-lines checkpoint log."
    ),
    export: Path | None = typer.Option(
        None, "--export", help="Verify an exported file on its own (needs the public key)."
    ),
    as_json: bool = JSON,
    quiet: bool = QUIET,
) -> None:
    """Verify the audit record; exit 1 if anything was tampered with, 2 on bad input.

    Reads the governance database of the data home (or the database_url setting); with only
    --export, the export file alone (add --home to check the database too)."""
    from patrolcast.config import load_settings
    from patrolcast.governance import audit
    from patrolcast.governance.signing import (
        CHECKPOINT_LOG_NAME,
        PUBLIC_KEY_NAME,
        load_public_key_file,
    )

    try:
        if keys_dir is not None:
            if not keys_dir.is_dir():
                raise InputError(f"no keys folder at {keys_dir}")
            public_key = public_key or keys_dir / PUBLIC_KEY_NAME
            log = keys_dir / CHECKPOINT_LOG_NAME
            if checkpoint_log is None and log.is_file():
                checkpoint_log = log
        pem = load_public_key_file(public_key) if public_key is not None else None
        results: list[dict[str, Any]] = []
        if export is not None:
            if pem is None:
                raise InputError("verifying an export needs --public-key (the server's key)")
            report = audit.verify_export(export, pem)
            results.append({"source": "export", "file": str(export), **report.to_dict()})
        if export is None or home is not None:
            settings = load_settings(home=home)
            if not settings.database_url:
                settings.require_home()
            with progress("verifying the audit record", quiet=quiet or as_json):
                results.append(
                    _verify_database(
                        settings.effective_database_url, public_key_pem=pem,
                        checkpoint=checkpoint, checkpoint_log=checkpoint_log,
                    )
                )
    except InputError as exc:
        typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(2) from None
    ok = all(r["ok"] for r in results)
    if as_json:
        payload: Any = results[0] if len(results) == 1 else {"ok": ok, "results": results}
        typer.echo(json.dumps(payload, indent=2))
    else:
        typer.echo("\n".join(_text(r) for r in results))
    if not ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(audit_app, name="audit")
