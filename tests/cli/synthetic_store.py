"""A real :class:`patrolcast.io.store.Store` on a temporary folder, filled through the real
ingest path from a small synthetic CSV (no stand-in: offence groups, windows and the CRS are
the store's own).

The dataset ``synth`` holds a 2 km square near Trafalgar Square (British National Grid), 200
days of events from 2022-01-08:

- ``Violence and sexual offences`` (group ``violence``): 80% in two 250 m hot cells (centres
  625 m and 1375 m in from the south-west corner), 20% uniform;
- ``Burglary`` (group ``burglary``, not a violence group): ``decoys`` events in one cell centred
  (1625 m, 375 m) in, more than either hot cell holds, so a forecast that loses the offence
  filter ranks the decoy cell first.
"""

from __future__ import annotations

import shutil
import tempfile
import weakref
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from patrolcast.events import EventSet
from patrolcast.io import Store, ingest
from tests.evaluate.synthetic import hotspot_events

X0, Y0 = 529_000.0, 179_000.0  # south-west corner of the square (EPSG:27700)
DECOY_CELL = (1625.0, 375.0)  # centre of the burglary cell, metres in from the corner
HOT_CELLS = {(625, 625), (1375, 1375)}

MAPPING = """\
name = "synthetic-bng"
description = "synthetic test incidents: UTC minute times, British National Grid metres"
source = "police.uk"

[time]
columns = ["occurred"]
format = "%Y-%m-%d %H:%M"
timezone = "UTC"
precision = "minute"

[place]
x = "easting"
y = "northing"
crs = "EPSG:27700"
target_crs = "EPSG:27700"

[offence]
column = "crime_type"
"""


def _rows(events: EventSet, offence: str) -> pd.DataFrame:
    stamps = pd.to_datetime(np.round(events.t * 1440.0), unit="m", utc=True)
    return pd.DataFrame(
        {
            "occurred": stamps.strftime("%Y-%m-%d %H:%M"),
            "easting": np.round(events.x + X0, 1),
            "northing": np.round(events.y + Y0, 1),
            "crime_type": offence,
        }
    )


def synthetic_store(
    root: Path, events: EventSet | None = None, *, decoys: int = 1500, seed: int = 2
) -> Store:
    """Ingest the synthetic CSV into a new store under ``root`` and return it.

    ``events`` (days since epoch, metres from the square's corner) replace the violence events.
    """
    root.mkdir(parents=True, exist_ok=True)
    base = events if events is not None else hotspot_events(days=200)
    frames = [_rows(base, "Violence and sexual offences")]
    if decoys:
        rng = np.random.default_rng(seed)
        t0, t1 = float(base.t.min()), float(base.t.max())
        decoy = EventSet.from_arrays(
            np.sort(rng.uniform(t0, t1, decoys)),
            DECOY_CELL[0] + rng.uniform(-100, 100, decoys),
            DECOY_CELL[1] + rng.uniform(-100, 100, decoys),
            crs="EPSG:27700",
        )
        frames.append(_rows(decoy, "Burglary"))
    csv = root / "synth.csv"
    pd.concat(frames).sort_values("occurred", kind="stable").to_csv(csv, index=False)
    mapping = root / "synthetic-bng.toml"
    mapping.write_text(MAPPING, encoding="utf-8")
    store = Store(root / "store")
    summary = ingest(csv, store=store, mapping=mapping, dataset="synth")
    assert summary.quarantined == 0, summary.reasons
    return store


def use_store(monkeypatch: pytest.MonkeyPatch, store: Store) -> Store:
    """Make the CLI's jobs read ``store``, as ``patrolcast --home`` would."""
    monkeypatch.setattr("patrolcast.evaluate.jobs.open_store", lambda home=None: store)
    monkeypatch.setenv("PATROLCAST_HOME", str(store.root.parent))  # commands read this home
    return store


def temporary_synthetic_store(events: EventSet | None = None, **kw: object) -> Store:
    """:func:`synthetic_store` in a temporary folder removed when the store is collected."""
    root = Path(tempfile.mkdtemp(prefix="patrolcast-synth-"))
    store = synthetic_store(root, events, **kw)  # type: ignore[arg-type]
    weakref.finalize(store, shutil.rmtree, root, ignore_errors=True)
    return store
