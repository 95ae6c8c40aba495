"""A real dashboard world for browser tests: a seeded DEMO database, the real application on
uvicorn on loopback (in a thread), and Debian's chromium driven by Playwright, each person in
a fresh browser profile. Every request each browser makes is recorded so tests can assert
that nothing left the server."""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]
REPO = Path(__file__).resolve().parents[2]
AXE = REPO / "node_modules" / "axe-core" / "axe.min.js"


@dataclass
class SteppedClock:
    """The real clock plus an offset the test can move forward (fresh one-time codes)."""

    offset: timedelta = timedelta(0)

    def now(self) -> datetime:
        return datetime.now(UTC) + self.offset

    def advance(self, delta: timedelta) -> datetime:
        self.offset += delta
        return self.now()


@dataclass
class Dashboard:
    base: str
    world: Any  # patrolcast.app.demo_world.DemoWorld
    clock: SteppedClock
    playwright: Any
    profiles: Path
    shots: Path
    requests: list[str] = field(default_factory=list)
    _n: int = 0

    def code(self, user: str) -> str | None:
        import pyotp

        secret = self.world.totp.get(user)
        if secret is None:
            return None
        self.clock.advance(timedelta(seconds=31))  # never the same code twice (replay)
        return str(pyotp.TOTP(secret).at(self.clock.now()))

    def browser(self, width: int = 1280, height: int = 800) -> Any:
        """A fresh chromium profile (its own user-data dir) recording every request."""
        self._n += 1
        profile = self.profiles / f"profile-{self._n}"
        ctx = self.playwright.chromium.launch_persistent_context(
            str(profile), executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True,
            viewport={"width": width, "height": height}, locale="en-GB",
            timezone_id="Europe/London", service_workers="block",
        )
        ctx.on("request", lambda r: self.requests.append(r.url))
        ctx.set_default_timeout(20_000)
        return ctx

    def sign_in(self, ctx: Any, user: str, path: str = "/map") -> Any:
        page = ctx.pages[0] if ctx.pages else ctx.new_page()
        page.goto(f"{self.base}{path}")
        page.wait_for_url("**/login**")
        page.get_by_label("Username").fill(user)
        page.get_by_label("Password").fill(self.world.password)
        code = self.code(user)
        if code:
            page.get_by_label("One-time code").fill(code)
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url(f"**{path}")
        return page

    def shot(self, page: Any, name: str) -> Path:
        path = self.shots / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        print(f"screenshot: {path}")
        keep = os.environ.get("PATROLCAST_WEB_SHOTS")  # a folder that outlives pytest's tmp
        if keep:
            Path(keep).mkdir(parents=True, exist_ok=True)
            shutil.copy(path, Path(keep) / path.name)
        return path

    def external(self) -> list[str]:
        """Requests to anywhere but this server (data: URLs are not requests off the machine)."""
        return [u for u in self.requests
                if not (u.startswith(self.base + "/") or u.startswith(("data:", "about:")))]


def axe_violations(page: Any) -> list[dict[str, Any]]:
    """Serious and critical axe-core violations on the page (axe evaluated, not fetched)."""
    page.evaluate(AXE.read_text(encoding="utf-8") + "\n;undefined")
    result = page.evaluate("""async () => {
        const r = await axe.run(document, {resultTypes: ['violations']});
        return r.violations.map(v => ({id: v.id, impact: v.impact, help: v.help,
            nodes: v.nodes.slice(0, 3).map(n => n.target.join(' '))}));
    }""")
    return [v for v in result if v["impact"] in ("serious", "critical")]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _require_browser() -> None:
    pytest.importorskip("playwright", reason="playwright is not installed (pip install -e .[dev])")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian's chromium is absent and could not be installed "
                    "(scripts/web_setup.sh installs it as root)")
    if not (REPO / "node_modules" / "leaflet").is_dir() or not AXE.exists():
        if shutil.which("npm") is None:
            pytest.skip("node_modules is missing and npm is absent (run scripts/web_setup.sh)")
        pytest.fail("node_modules is missing: run scripts/web_setup.sh (npm ci)")


@pytest.fixture(scope="module")
def dashboard(tmp_path_factory: pytest.TempPathFactory, shared_data: Path) -> Iterator[Dashboard]:
    _require_browser()
    import uvicorn
    from playwright.sync_api import sync_playwright

    from patrolcast.api.server import create_app
    from patrolcast.app.demo_world import seed_demo
    from patrolcast.app.runtime import open_context
    from patrolcast.config import load_settings
    from patrolcast.governance.identity import credentials

    credentials.configure_hasher(time_cost=1, memory_cost=8192, parallelism=1)
    home = tmp_path_factory.mktemp("demo")
    clock = SteppedClock()
    world = seed_demo(home, forecasts_dir=None, shared_data=shared_data, clock=clock)
    settings = load_settings(home=home, database_url=world.database_url, shared_data=shared_data)
    ctx = open_context(settings)
    ctx.clock = clock
    port = _free_port()
    server = uvicorn.Server(uvicorn.Config(create_app(ctx), host="127.0.0.1", port=port,
                                           log_level="warning", lifespan="off"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.05)
    shots = tmp_path_factory.mktemp("screenshots")
    print(f"screenshots in {shots}")
    pw = sync_playwright().start()
    try:
        yield Dashboard(base=f"http://127.0.0.1:{port}", world=world, clock=clock,
                        playwright=pw, profiles=tmp_path_factory.mktemp("profiles"), shots=shots)
    finally:
        pw.stop()
        server.should_exit = True
        thread.join(timeout=10)
        ctx.db.dispose()
