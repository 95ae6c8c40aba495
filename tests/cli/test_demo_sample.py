"""``patrolcast demo`` without the shared data: it says so, fetches the City of London sample
from a data.police.uk API served on 127.0.0.1 (never the internet) and runs on it; with the
network unreachable it stops with one line saying what to do."""

from __future__ import annotations

import json
import random
import socket
import threading
from collections.abc import Iterator
from http.server import ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.io import police_uk_api
from patrolcast.io.sample import fetch_sample
from tests.io.test_fetch import Site, _handler

runner = CliRunner()
MONTHS = [f"2024-{m:02d}" for m in range(1, 13)] + ["2025-01", "2025-02"]
# anonymised map points inside the City of London outline (lat, lon)
POINTS = [(51.5130 + 0.0006 * (i % 6), -0.1000 + 0.0035 * (i // 6)) for i in range(36)]


def _crimes(month: str, seed: int) -> list[dict[str, object]]:
    rng = random.Random(seed)
    crimes = []
    for i in range(80):
        lat, lon = POINTS[min(int(rng.expovariate(0.15)), len(POINTS) - 1)]
        slug = rng.choice(["violent-crime"] * 2 + ["other-theft", "anti-social-behaviour"])
        crimes.append({
            "category": slug,
            "location": {"latitude": f"{lat:.6f}", "longitude": f"{lon:.6f}",
                         "street": {"id": 1000 + i, "name": "On or near Cheapside"}},
            "context": "",
            "outcome_status": None if slug == "anti-social-behaviour"
            else {"category": "Under investigation", "date": month},
            "persistent_id": "" if slug == "anti-social-behaviour" else f"{month}-{seed}-{i:04d}",
            "id": seed * 1000 + i,
            "month": month,
        })  # fmt: skip
    return crimes


@pytest.fixture()
def api_site() -> Iterator[tuple[Site, str]]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    api = f"http://127.0.0.1:{server.server_address[1]}/api"
    # newest first, as the API lists them; the sample takes the last 12 published
    dates = [{"date": m, "stop-and-search": ["city-of-london"]} for m in reversed(MONTHS)]
    state.files["api/crimes-street-dates"] = json.dumps(dates).encode()
    for n, (url, _) in enumerate(police_uk_api.street_items("city-of-london", MONTHS, api)):
        month = MONTHS[n]
        if month != "2024-07":  # one month the API has no answer for
            state.files[url.split("/", 3)[3]] = json.dumps(_crimes(month, n)).encode()
    try:
        yield state, api
    finally:
        server.shutdown()
        server.server_close()


def test_sample_fetch_converts_the_api_answer_to_the_street_layout(
    api_site: tuple[Site, str], tmp_path: Path
) -> None:
    _, api = api_site
    got = fetch_sample(tmp_path / "s", api=api, delay=0.0)
    assert got.months == tuple(MONTHS[-12:]) and got.missing == ("2024-07",)
    assert got.files == 11
    csv = (tmp_path / "s" / "2025-02" / "2025-02-city-of-london-street.csv").read_text()
    lines = csv.splitlines()
    assert lines[0].split(",") == list(police_uk_api.STREET_HEADER)
    assert len(lines) == 81
    assert "Violence and sexual offences" in csv and "violent-crime" not in csv
    manifest = json.loads((tmp_path / "s" / "manifest.json").read_text())["files"]
    assert "2025-02/2025-02-city-of-london-street.json" in manifest


def test_demo_without_shared_data_fetches_the_sample_and_runs(
    api_site: tuple[Site, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    state, api = api_site
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    monkeypatch.setenv("PATROLCAST_SHARED_DATA", str(empty))
    monkeypatch.setenv(police_uk_api.API_URL_ENV, api)
    home = tmp_path / "home"
    args = ["demo", "--home", str(home), "--out", str(tmp_path / "out"), "--executor", "serial",
            "--n-boot", "200", "--fetch-delay", "0", "--json"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    said = result.stderr
    assert f"No demo data in {empty}" in said and "Fetching a small real sample" in said
    assert said.index("Fetching") < said.index("sample: 11 month(s)")
    assert "not published: 2024-07" in said
    payload = json.loads(result.stdout)
    # no force boundaries here: the reason is stated (in the JSON's notes; on stderr without
    # --json), the demo does not crash
    assert any("study area is the data's extent" in n for n in payload["notes"])
    (ingested,) = payload["ingested"]
    assert ingested["dataset"] == "city-of-london-sample"
    assert ingested["rows_in"] == 11 * 80 == ingested["stored"] + ingested["quarantined"]
    assert set(payload["backtests"]) == {"city-of-london-sample"}
    assert len(payload["backtests"]["city-of-london-sample"]["origins"]) == 4
    assert (tmp_path / "out" / "summary.md").exists()
    assert (home / "samples" / "police_uk" / "city_of_london_street_sample").is_dir()
    requests = len(state.log)

    again = runner.invoke(app, [a for a in args if a != "--json"])  # months on disk skipped
    assert again.exit_code == 0, again.output
    assert "city-of-london-sample: already in the store, ingest skipped" in again.stderr
    assert "study area is the data's extent" in again.stderr
    assert f"data home: {home.resolve()}" in again.stderr
    # the second run asks for the months list and the month still missing only
    assert len(state.log) - requests == 2


def test_demo_without_shared_data_or_network_says_what_to_do(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    empty = tmp_path / "no-shared-data"
    empty.mkdir()
    monkeypatch.setenv("PATROLCAST_SHARED_DATA", str(empty))
    monkeypatch.setenv(police_uk_api.API_URL_ENV, f"http://127.0.0.1:{port}/api")
    result = runner.invoke(
        app, ["demo", "--home", str(tmp_path / "home"), "--out", str(tmp_path / "out"),
              "--fetch-delay", "0"],
    )  # fmt: skip
    assert result.exit_code != 0
    message = str(result.exception)
    assert "\n" not in message
    assert message.startswith("cannot reach the data.police.uk API")
    assert "PATROLCAST_SHARED_DATA" in message and "patrolcast fetch police-uk" in message
    assert not (tmp_path / "out" / "summary.md").exists()


def test_fetch_cli_api_layout_then_ingest(
    api_site: tuple[Site, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _, api = api_site
    out = tmp_path / "dl"
    result = runner.invoke(
        app, ["fetch", "police-uk", "--force", "city-of-london", "--from", "2024-06",
              "--to", "2024-08", "--layout", "api", "--base-url", api, "--delay", "0",
              "--out", str(out), "--json"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    status = {f["path"]: f["status"] for f in json.loads(result.stdout)["files"]}
    assert status == {
        "2024-06/2024-06-city-of-london-street.json": "downloaded",
        "2024-07/2024-07-city-of-london-street.json": "not found",
        "2024-08/2024-08-city-of-london-street.json": "downloaded",
    }
    assert sorted(p.name for p in out.rglob("*.csv")) == [
        "2024-06-city-of-london-street.csv", "2024-08-city-of-london-street.csv"
    ]
    ingested = runner.invoke(app, ["ingest", str(out), "--home", str(tmp_path / "h"), "--json"])
    assert ingested.exit_code == 0, ingested.output
    summary = json.loads(ingested.stdout)
    assert summary["rows_in"] == 160 == summary["stored"] + summary["quarantined"]


def test_api_layout_refuses_a_force_without_a_known_outline() -> None:
    from patrolcast.errors import InputError
    from patrolcast.io.fetch import plan

    with pytest.raises(InputError, match="--layout archive"):
        plan("west-yorkshire", "2024-01", "2024-02", layout="api", base="http://127.0.0.1:1/api")
