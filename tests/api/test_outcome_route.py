"""An ended deployment evaluated through the API, on a real store filled by the real ingest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

from patrolcast.events import EventSet
from tests.api.test_journey import consulted
from tests.api.world import ApiWorld, authorisation_body
from tests.cli.synthetic_store import synthetic_store


def test_an_auditor_evaluates_an_ended_deployment(api_sqlite: ApiWorld, tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    day = 86400.0
    lo = datetime(2025, 5, 1, tzinfo=UTC).timestamp() / day
    hi = datetime(2026, 6, 20, tzinfo=UTC).timestamp() / day
    n = 4000
    # Background over a year and more, plus six events inside the area during the patrol.
    t0 = datetime(2026, 6, 1, 13, 0, tzinfo=UTC).timestamp() / day
    burst_t = t0 + np.linspace(0, 2 / 24, 6)
    times = np.concatenate([rng.uniform(lo, hi, n), burst_t])
    xs = np.concatenate([rng.uniform(0, 2000, n), np.full(6, 1250.0)])
    ys = np.concatenate([rng.uniform(0, 2000, n), np.full(6, 1250.0)])
    order = np.argsort(times)
    events = EventSet.from_arrays(times[order], xs[order], ys[order], crs="EPSG:27700")
    synthetic_store(tmp_path / "home", events, decoys=0)
    api_sqlite.ctx.home = tmp_path / "home"
    pid = consulted(api_sqlite)
    api_sqlite.reauth("acc1")
    r = api_sqlite.as_("acc1").post(f"/api/proposals/{pid}/authorise",
                                    json=authorisation_body(api_sqlite, hours=4))
    assert r.status_code == 200, r.text
    body = {"dataset": "synth", "residual_days": 3}
    # Still running: nothing to evaluate yet.
    assert api_sqlite.as_("aud").post(f"/api/proposals/{pid}/outcome", json=body).status_code == 400
    api_sqlite.clock.advance(timedelta(hours=5))
    r = api_sqlite.as_("tfc").post(f"/api/proposals/{pid}/debrief", json={
        "summary": "Four hours of patrol; no incidents.", "sign_off": "Signed off."})
    assert r.status_code == 200, r.text
    r = api_sqlite.as_("aud").post(f"/api/proposals/{pid}/outcome", json=body)
    assert r.status_code == 200, r.text
    out = r.json()
    # The observed count is the real count of events in the area and window.
    x0, y0 = 530000 - 529000, 180000 - 179000
    start = api_sqlite.clock.now() - timedelta(hours=5)
    t0, t1 = start.timestamp() / day, (start + timedelta(hours=4)).timestamp() / day
    t = np.round(events.t * 1440.0) / 1440.0  # the CSV holds minutes
    x, y = np.round(events.x, 1), np.round(events.y, 1)
    inside = (x >= x0) & (x <= x0 + 500) & (y >= y0) & (y <= y0 + 500) & (t >= t0) & (t < t1)
    assert out["during"]["observed"] == int(inside.sum()) >= 6
    assert "wdd" in out and out["during"]["expected"] >= 0
    # An analyst may not ask for it (declared roles), and the attempt is audited.
    assert api_sqlite.as_("ana").post(f"/api/proposals/{pid}/outcome", json=body).status_code == 403
