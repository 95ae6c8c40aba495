"""``patrolcast briefing proposal``: the CLI downloads the pack from a real server (uvicorn)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import uvicorn
from pypdf import PdfReader
from typer.testing import CliRunner

from patrolcast.cli.client import save_token
from patrolcast.cli.main import app
from patrolcast.errors import InputError, PermissionDenied
from tests.api.test_journey import consulted
from tests.api.world import ApiWorld, make_api_world


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture()
def served(tmp_path: Path) -> Iterator[tuple[ApiWorld, str]]:
    world = make_api_world(f"sqlite:///{tmp_path / 'gov.db'}", tmp_path / "keys")
    port = _free_port()
    server = uvicorn.Server(
        uvicorn.Config(world.app, host="127.0.0.1", port=port, log_level="warning")
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started and time.time() < deadline:
        time.sleep(0.05)
    assert server.started
    yield world, f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=10)
    world.ctx.db.dispose()


def _as(world: ApiWorld, who: str, url: str, tmp: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """``who``'s machine: their own token file, as ``patrolcast login`` leaves it."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp / "machines" / who))
    monkeypatch.delenv("PATROLCAST_SERVER_URL", raising=False)
    save_token(url, world.tokens[who], who, "2099-01-01T00:00:00+00:00", 1)


def test_briefing_proposal_saves_the_pdf_in_the_out_folder(
    served: tuple[ApiWorld, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, url = served
    pid = consulted(world)
    _as(world, "aud", url, tmp_path, monkeypatch)
    runner = CliRunner()
    out = tmp_path / "packs"
    result = runner.invoke(app, ["briefing", "proposal", str(pid), "--out", str(out)])
    assert result.exit_code == 0, (result.output, result.exception)
    pack = out / f"proposal-{pid}-briefing.pdf"
    assert str(pack) in result.output
    text = " ".join(p.extract_text() for p in PdfReader(pack).pages)
    assert f"Deployment proposal #{pid}" in text and "OFFICIAL - SENSITIVE" in text
    assert [p.name for p in out.iterdir()] == [pack.name]  # no partial file left behind
    # A second download does not silently replace the first.
    again = runner.invoke(app, ["briefing", "proposal", str(pid), "--out", str(out)])
    assert again.exit_code != 0 and isinstance(again.exception, InputError)
    assert "--force" in str(again.exception)
    forced = runner.invoke(app, ["briefing", "proposal", str(pid), "--out", str(out), "--force"])
    assert forced.exit_code == 0, (forced.output, forced.exception)


def test_a_person_who_may_not_read_gets_the_refusal_and_no_file(
    served: tuple[ApiWorld, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    world, url = served
    pid = consulted(world)
    _as(world, "ian", url, tmp_path, monkeypatch)  # an intelligence officer with no part here
    out = tmp_path / "packs"
    result = CliRunner().invoke(app, ["briefing", "proposal", str(pid), "--out", str(out)])
    assert isinstance(result.exception, PermissionDenied), result.output
    assert "may not read" in str(result.exception)
    assert list(out.iterdir()) == []
