"""Nested selection of the long-run forecaster's half-life, bandwidth and mix."""

from __future__ import annotations

from patrolcast.evaluate.selection import CANDIDATES, _grid, select_params
from patrolcast.evaluate.splitters import parse_period
from tests.evaluate.synthetic import grid, hotspot_events


def test_candidates_without_mixing_are_tried_once() -> None:
    cands = _grid("longrun")
    space = CANDIDATES["longrun"]
    keys = {tuple(sorted((k, str(v)) for k, v in c.items())) for c in cands}
    assert len(keys) == len(cands)  # no duplicates
    # without mixing the bandwidth does nothing: one candidate per half-life
    unmixed = [c for c in cands if c["mix"] == 0.0]
    assert len(unmixed) == len(space["half_life_days"])
    assert {c["bandwidth"] for c in unmixed} == {space["bandwidth"][0]}
    mixed = [c for c in cands if c["mix"] > 0.0]
    assert len(mixed) == (
        len(space["half_life_days"]) * len(space["bandwidth"]) * (len(space["mix"]) - 1)
    )
    # ties keep the earlier candidate: the first one is the all-history count
    assert cands[0] == {"half_life_days": None, "bandwidth": 250.0, "mix": 0.0}


def test_longrun_selection_reports_a_candidate_and_its_curve() -> None:
    ev = hotspot_events(days=200)
    before = float(ev.t.max()) - 20.0
    sel = select_params(
        ev, grid(), "longrun", horizon=parse_period("7d"), before=before, n_origins=3
    )
    assert sel.chosen in _grid("longrun")
    assert len(sel.curve) == len(_grid("longrun"))
    # stationary hotspots: the two hot cells hold 80% of events, every candidate finds them
    assert min(c["hit_rate"] for c in sel.curve) > 0.5
