"""``fetch`` against a local HTTP server (127.0.0.1 only) serving the published layout:
a dropped connection mid-file, a 404 month, a 429 with Retry-After, resumes and checksums."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import InputError
from patrolcast.io import Store, ingest
from patrolcast.io.fetch import base_url, fetch_files, fetch_police_uk, months, plan

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)


def _street(month: str, n: int) -> bytes:
    rows = [
        f"{month}-{i},{month},City of London Police,City of London Police,-0.1064,51.5182,"
        f"On or near X Street,E01000916,Camden 027B,Other theft,Under investigation,"
        for i in range(n)
    ]
    return ("\n".join([STREET_HEADER, *rows]) + "\n").encode()


@dataclass
class Site:
    files: dict[str, bytes] = field(default_factory=dict)
    drop_once: set[str] = field(default_factory=set)  # send half, then close the connection
    busy_once: dict[str, str] = field(default_factory=dict)  # 429 with this Retry-After
    ignore_range: bool = False
    log: list[tuple[str, str | None]] = field(default_factory=list)


def _handler(site: Site) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def do_GET(self) -> None:  # noqa: N802
            path = self.path.lstrip("/")
            site.log.append((path, self.headers.get("Range")))
            if path in site.busy_once:
                self.send_response(429)
                self.send_header("Retry-After", site.busy_once.pop(path))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = site.files.get(path)
            if data is None:
                self.send_error(404)
                return
            start = 0
            rng = self.headers.get("Range")
            if rng and not site.ignore_range:
                start = int(rng.removeprefix("bytes=").split("-")[0])
                if start >= len(data):
                    self.send_response(416)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                self.send_response(206)
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            else:
                self.send_response(200)
            body = data[start:]
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if path in site.drop_once:
                site.drop_once.discard(path)
                self.wfile.write(body[: len(body) // 2])
                self.wfile.flush()
                self.connection.shutdown(socket.SHUT_RDWR)
                self.close_connection = True
                return
            self.wfile.write(body)

    return Handler


@pytest.fixture()
def site() -> Iterator[tuple[Site, str]]:
    state = Site()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(state))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}/data"
    finally:
        server.shutdown()
        server.server_close()


def _publish(state: Site, month: str, n: int, *, searches: bool = True) -> None:
    state.files[f"data/{month}/{month}-city-of-london-street.csv"] = _street(month, n)
    if searches:
        state.files[f"data/{month}/{month}-city-of-london-stop-and-search.csv"] = (
            b"Type,Date,Latitude,Longitude\nPerson search,2018-01-01T10:00:00+00:00,,\n"
        )


def test_drop_404_and_429_then_everything_skipped(site: tuple[Site, str], tmp_path: Path) -> None:
    state, base = site
    for month, n in (("2018-01", 4000), ("2018-02", 30), ("2018-03", 50)):
        _publish(state, month, n, searches=month != "2018-02")
    state.drop_once.add("data/2018-01/2018-01-city-of-london-street.csv")
    state.busy_once["data/2018-03/2018-03-city-of-london-street.csv"] = "7"
    waits: list[float] = []
    out = tmp_path / "dl"
    s = fetch_police_uk(
        "city-of-london", "2018-01", "2018-03", out, base=base, delay=0.5, sleep=waits.append
    )
    status = {f.path: f.status for f in s.files}
    assert status == {
        "2018-01/2018-01-city-of-london-street.csv": "resumed",
        "2018-01/2018-01-city-of-london-stop-and-search.csv": "downloaded",
        "2018-02/2018-02-city-of-london-street.csv": "downloaded",
        "2018-02/2018-02-city-of-london-stop-and-search.csv": "not found",
        "2018-03/2018-03-city-of-london-street.csv": "downloaded",
        "2018-03/2018-03-city-of-london-stop-and-search.csv": "downloaded",
    }
    # the resumed request asked for the rest only, and the file is whole
    street = "data/2018-01/2018-01-city-of-london-street.csv"
    ranges = [r for p, r in state.log if p == street]
    assert ranges[0] is None and ranges[1] is not None and ranges[1].startswith("bytes=")
    assert int(ranges[1][6:-1]) > 0
    for rel, data in state.files.items():
        local = out / rel.removeprefix("data/")
        assert local.read_bytes() == data
    assert not list(out.rglob("*.part"))
    # Retry-After honoured; one wait of at least the polite delay before every later request
    assert 7.0 in waits and len(waits) == len(state.log) - 1 and min(waits) == 0.5
    manifest = json.loads((out / "manifest.json").read_text())["files"]
    assert set(manifest) == {f.path for f in s.files if f.status != "not found"}
    for rel, entry in manifest.items():
        assert entry["sha256"] == hashlib.sha256((out / rel).read_bytes()).hexdigest()
        assert entry["url"] == f"{base}/{rel}"
    # next run: finished files skipped without a request; only the missing month is asked again
    before = len(state.log)
    again = fetch_police_uk(
        "city-of-london", "2018-01", "2018-03", out, base=base, delay=0, sleep=waits.append
    )
    assert [f.status for f in again.files].count("skipped") == 5
    assert [p for p, _ in state.log[before:]] == [
        "data/2018-02/2018-02-city-of-london-stop-and-search.csv"
    ]
    # the downloaded folder ingests as it is
    summary = ingest(out, store=Store(tmp_path / "store"), kind="police-uk-street")
    assert summary.stored == 4080


def test_partial_file_from_an_interrupted_run_is_completed(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    state, base = site
    _publish(state, "2019-05", 500, searches=False)
    rel = "2019-05/2019-05-city-of-london-street.csv"
    data = state.files[f"data/{rel}"]
    (tmp_path / "2019-05").mkdir()
    (tmp_path / f"{rel}.part").write_bytes(data[:1000])
    s = fetch_files([(f"{base}/{rel}", rel)], tmp_path, delay=0)
    assert s.files[0].status == "resumed"
    assert state.log == [(f"data/{rel}", "bytes=1000-")]
    assert (tmp_path / rel).read_bytes() == data


def test_server_ignoring_the_range_restarts_the_file(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    state, base = site
    state.ignore_range = True
    _publish(state, "2019-05", 500, searches=False)
    rel = "2019-05/2019-05-city-of-london-street.csv"
    (tmp_path / "2019-05").mkdir()
    (tmp_path / f"{rel}.part").write_bytes(b"garbage from elsewhere")
    s = fetch_files([(f"{base}/{rel}", rel)], tmp_path, delay=0)
    assert s.files[0].status == "downloaded"
    assert (tmp_path / rel).read_bytes() == state.files[f"data/{rel}"]


def test_changed_checksums_are_reported(site: tuple[Site, str], tmp_path: Path) -> None:
    state, base = site
    _publish(state, "2020-01", 20, searches=False)
    rel = "2020-01/2020-01-city-of-london-street.csv"
    items = [(f"{base}/{rel}", rel)]
    first = fetch_files(items, tmp_path, delay=0).files[0]
    # republished with one more row: found with refresh, reported as changed
    state.files[f"data/{rel}"] = _street("2020-01", 21)
    changed = fetch_files(items, tmp_path, delay=0, refresh=True).files[0]
    assert changed.status == "changed" and changed.previous_sha256 == first.sha256
    assert changed.sha256 == hashlib.sha256(state.files[f"data/{rel}"]).hexdigest()
    # edited on disk: reported and downloaded again
    (tmp_path / rel).write_bytes(b"edited")
    restored = fetch_files(items, tmp_path, delay=0).files[0]
    assert restored.status == "restored" and "on disk had changed" in restored.message
    assert (tmp_path / rel).read_bytes() == state.files[f"data/{rel}"]


def test_too_long_retry_after_and_dead_server_are_one_line_failures(
    site: tuple[Site, str], tmp_path: Path
) -> None:
    state, base = site
    _publish(state, "2020-01", 20, searches=False)
    rel = "2020-01/2020-01-city-of-london-street.csv"
    state.busy_once[f"data/{rel}"] = "3600"
    s = fetch_files([(f"{base}/{rel}", rel)], tmp_path, delay=0, max_wait=60)
    assert s.files[0].status == "failed"
    assert "server asks to wait 3600 s" in s.files[0].message
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{sock.getsockname()[1]}"
    waits: list[float] = []
    s = fetch_files([(f"{dead}/{rel}", rel)], tmp_path / "x", retries=2, delay=0.1,
                    sleep=waits.append)  # fmt: skip
    assert s.files[0].status == "failed" and "after 3 attempts" in s.files[0].message
    assert "\n" not in s.files[0].message and len(waits) == 2


def test_cli_fetch(site: tuple[Site, str], tmp_path: Path) -> None:
    state, base = site
    _publish(state, "2018-01", 10)
    out = tmp_path / "dl"
    args = ["fetch", "police-uk", "--force", "city-of-london", "--from", "2018-01",
            "--to", "2018-02", "--out", str(out), "--base-url", base, "--delay", "0"]  # fmt: skip
    result = CliRunner().invoke(app, [*args, "--json"])
    assert result.exit_code == 0, result.output
    payload = json.loads(result.output)
    assert payload["counts"] == {"downloaded": 2, "not found": 2}
    text = CliRunner().invoke(app, args)
    assert text.exit_code == 0 and "2 skipped" in text.output and "not found" in text.output


def test_plans_and_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    assert months("2019-11", "2020-02") == ["2019-11", "2019-12", "2020-01", "2020-02"]
    assert plan("west-yorkshire", "2020-01", "2020-01", base="https://m.example/d/") == [
        ("https://m.example/d/2020-01/2020-01-west-yorkshire-street.csv",
         "2020-01/2020-01-west-yorkshire-street.csv"),
        ("https://m.example/d/2020-01/2020-01-west-yorkshire-stop-and-search.csv",
         "2020-01/2020-01-west-yorkshire-stop-and-search.csv"),
    ]  # fmt: skip
    assert plan("x", "2020-01", "2020-02", layout="archive", base="http://h") == [
        ("http://h/2020-01.zip", "2020-01.zip"),
        ("http://h/2020-02.zip", "2020-02.zip"),
    ]
    monkeypatch.setenv("PATROLCAST_POLICE_UK_BASE_URL", "http://127.0.0.1:9/mirror/")
    assert base_url() == "http://127.0.0.1:9/mirror"
    assert base_url("https://flag.example") == "https://flag.example"
    for bad in (
        lambda: months("2020-13", "2021-01"),
        lambda: months("2020-05", "2020-01"),
        lambda: plan("../etc", "2020-01", "2020-01"),
        lambda: plan("x", "2020-01", "2020-01", kinds=("crimes",)),
        lambda: base_url("file:///etc/passwd"),
    ):
        with pytest.raises(InputError):
            bad()
