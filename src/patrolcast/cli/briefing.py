"""Briefing packs from the server: ``patrolcast briefing proposal ID --out FOLDER``.

The server builds the pack (the same read rule as ``deployments show``, the read audited) and
the command saves the PDF it returns; identity comes from the token of ``patrolcast login``.
"""

from __future__ import annotations

import json
from pathlib import Path

import typer

from patrolcast.cli.client import ApiClient
from patrolcast.cli.options import JSON, out_folder, out_option
from patrolcast.errors import InputError

briefing_app = typer.Typer(help="One-page PDF briefing packs.", no_args_is_help=True)

SERVER = typer.Option(None, "--server", help="Server URL (default: the last login's server).")


@briefing_app.command("proposal")
def proposal(
    proposal_id: int = typer.Argument(..., min=1, help="The proposal's id."),
    out: Path = out_option(Path("."), "the briefing pack"),
    force: bool = typer.Option(False, "--force", help="Replace a pack already in the folder."),
    server: str = SERVER,
    as_json: bool = JSON,
) -> None:
    """Download a proposal's briefing pack (place, window, trigger, evidence, impact
    assessment, consultations, conditions, decisions, NDM entries) as a PDF."""
    target = out_folder(out) / f"proposal-{proposal_id}-briefing.pdf"
    if target.exists() and not force:
        raise InputError(f"{target} exists: give --force to replace it")
    content = ApiClient.signed_in(server).call("proposal_briefing", proposal_id)
    if not isinstance(content, bytes) or not content.startswith(b"%PDF-"):
        raise InputError("the server did not send a PDF (is it an older patrolcast version?)")
    partial = target.with_suffix(".pdf.part")
    partial.write_bytes(content)
    partial.replace(target)
    if as_json:
        typer.echo(json.dumps({"proposal_id": proposal_id, "file": str(target),
                               "bytes": len(content)}))
    else:
        typer.echo(f"briefing pack of proposal #{proposal_id}: {target} ({len(content):,} bytes)")


def register(app: typer.Typer) -> None:
    app.add_typer(briefing_app, name="briefing")
