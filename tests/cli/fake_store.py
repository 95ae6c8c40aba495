"""A stand-in for :class:`patrolcast.io.store.Store` with its documented read API.

It serves a synthetic point dataset (``synth``) so that the CLI adapters can be tested
without ingesting anything; ingestion itself is tested in tests/io.
"""

from __future__ import annotations

from typing import Any

from patrolcast.events import EventSet
from tests.evaluate.synthetic import hotspot_events


class FakeStore:
    def __init__(self, events: EventSet | None = None) -> None:
        # 2 km square near Trafalgar Square (British National Grid), 200 days of events.
        base = events or hotspot_events(days=200)
        self._events = EventSet.from_arrays(
            base.t, base.x + 529_000, base.y + 179_000, crs="EPSG:27700"
        )

    def datasets(self) -> list[dict[str, Any]]:
        return [{"name": "synth", "kind": "incidents"}]

    def events(self, dataset: str, *, groups: Any = None, start: Any = None,
               end: Any = None) -> EventSet:
        assert dataset == "synth"
        return self._events
