"""The transparency report on the seeded month: numbers, suppression, escaping, formats."""

from __future__ import annotations

import csv
import json
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.scenario import SCENARIO_BOROUGHS, seeded_month
from patrolcast.oversight.suppression import PRIMARY, SuppressedTable, disclosed_cells
from patrolcast.oversight.transparency import (
    OUTCOME_LABELS,
    OUTCOMES,
    DeploymentRecord,
    build_report,
    write_csv,
    write_geojson,
    write_html,
)

MONTH = "2025-06"


@pytest.fixture(scope="module")
def scenario() -> tuple[list[DeploymentRecord], datetime]:
    return seeded_month(MONTH)


def _report(records: list[DeploymentRecord], when: datetime):  # type: ignore[no-untyped-def]
    return build_report(records, MONTH, generated_at=when, borough_names=SCENARIO_BOROUGHS)


def _decided(records: list[DeploymentRecord]) -> list[int]:
    return [i for i, r in enumerate(records) if r.outcome != "pending"]


def test_scenario_is_a_full_month(scenario: tuple[list[DeploymentRecord], datetime]) -> None:
    records, when = scenario
    outcomes = Counter(r.outcome for r in records)
    assert outcomes["refused"] >= 3 and outcomes["expired"] >= 3
    assert outcomes["cancelled"] >= 1 and outcomes["pending"] >= 1
    assert {r.month for r in records} == {MONTH}
    assert seeded_month(MONTH)[0] == records  # seeded: the same month every time
    assert when == datetime(2025, 7, 1, 9, tzinfo=UTC)


def test_true_counts_match_the_records(
    scenario: tuple[list[DeploymentRecord], datetime],
) -> None:
    records, when = scenario
    report = _report(records, when)
    by_borough = report.tables["by_borough"].counts
    expected = Counter(
        (SCENARIO_BOROUGHS[b], OUTCOME_LABELS[r.outcome]) for r in records for b in r.boroughs
    )
    for (borough, outcome), n in expected.items():
        assert by_borough.loc[borough, outcome] == n
    assert by_borough.loc["Total", "Total"] == sum(len(r.boroughs) for r in records)

    by_trigger = report.tables["by_trigger"].counts
    assert by_trigger.loc["Total", "Total"] == len(records)
    assert by_trigger.loc["intelligence", "Total"] == sum(
        r.trigger_type == "intelligence" for r in records
    )
    authorised = [r for r in records if r.outcome in ("active", "cancelled", "expired")]
    assert report.tables["durations"].counts.loc["Total", "Total"] == len(authorised)
    ext = report.tables["extensions"].counts
    assert ext.loc["Total", "one extension"] == sum(r.extensions == 1 for r in authorised)
    assert report.headline["proposals"] == len(records)
    hours = sorted(r.authorised_hours or 0 for r in authorised)
    shown = report.headline["authorised_hours_total"]
    if report.headline["authorised"] == "[c]":
        assert shown == "[c]"
    else:
        assert shown == pytest.approx(sum(hours), abs=0.05)
    unsuppressed = build_report(
        [replace(r, outcome="expired", authorised_hours=r.authorised_hours or 4.0)
         for r in records], MONTH, generated_at=when, borough_names=SCENARIO_BOROUGHS)
    assert unsuppressed.headline["authorised"] == len(records)
    assert unsuppressed.headline["authorised_hours_total"] == pytest.approx(
        sum(r.authorised_hours or 4.0 for r in records), abs=0.05)
    follow = report.tables["follow_up"].counts
    ended = [r for r in records if r.outcome in ("cancelled", "expired")]
    assert follow.loc["Total", "Total"] == len(ended)
    assert follow.loc["Total", "reviewed"] == sum(r.follow_up == "reviewed" for r in ended)
    ranks = report.tables["by_rank"].counts
    assert ranks.loc["Total", "refused"] == sum(r.outcome == "refused" for r in records)


def test_suppression_in_every_table(scenario: tuple[list[DeploymentRecord], datetime]) -> None:
    records, when = scenario
    report = _report(records, when)
    seen_small = 0
    for table in report.tables.values():
        values = table.counts.to_numpy()
        shown = table.display.to_numpy()
        for (i, j), v in np.ndenumerate(values):
            if 0 < v < 3:
                seen_small += 1
                assert shown[i, j] == PRIMARY
            elif not table.suppressed[i, j]:
                assert shown[i, j] == v
        assert disclosed_cells(table) == []
    assert seen_small > 0  # the scenario does exercise suppression


def test_csv_escapes_formulas(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path
) -> None:
    records, when = scenario
    ranks = ['=HYPERLINK("http://x","y")', "@SUM(1+1)", "+1", "-2+3", "\tTAB"]
    decided = _decided(records)[: len(ranks)]
    hostile = list(records)
    for i, rank in zip(decided, ranks, strict=True):
        hostile[i] = replace(records[i], authorising_rank=rank)
    report = _report(hostile, when)
    path = write_csv(report, tmp_path / "t.csv")
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.reader(fh))
    assert rows[0] == ["month", "table", "row", "column", "value"]
    cells = [c for row in rows for c in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\0")]
    assert "'=HYPERLINK(\"http://x\",\"y\")" in cells
    assert "'@SUM(1+1)" in cells and "'\tTAB" in cells


def test_html_and_geojson(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path
) -> None:
    records, when = scenario
    hostile = list(records)
    first = _decided(records)[0]
    hostile[first] = replace(records[first], authorising_rank="<script>x</script>")
    report = _report(hostile, when)
    page = write_html(report, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert "Tier 2.6: Risks, mitigations and impact assessments" in page
    assert "http" not in page.lower().replace("http-equiv", "")  # no external assets
    doc = json.loads(write_geojson(report, tmp_path / "t.geojson").read_text())
    assert doc["type"] == "FeatureCollection"
    names = {f["properties"]["name"] for f in doc["features"]}
    assert names == set(SCENARIO_BOROUGHS.values())
    shown = report.tables["by_borough"].display
    for f in doc["features"]:
        name = f["properties"]["name"]
        if name in shown.index:
            assert f["properties"]["Total"] == shown.loc[name, "Total"]


def test_bad_input() -> None:
    with pytest.raises(InputError, match="YYYY-MM"):
        build_report([], "June", generated_at=datetime.now(UTC))
    with pytest.raises(InputError, match="outcome"):
        DeploymentRecord(1, datetime(2025, 6, 1, tzinfo=UTC), ("E09000012",), "incident", "won")
    with pytest.raises(InputError, match="timezone"):
        DeploymentRecord(1, datetime(2025, 6, 1), ("E09000012",), "incident", "refused")


def test_empty_month_is_a_valid_report(tmp_path: Path) -> None:
    report = build_report([], "2025-02", generated_at=datetime(2025, 3, 1, tzinfo=UTC))
    assert report.headline["proposals"] == 0
    assert write_html(report, tmp_path / "e.html").exists()


def test_linked_totals_are_hidden_alike(
    scenario: tuple[list[DeploymentRecord], datetime],
) -> None:
    records, when = scenario
    for seed in range(1, 16):
        records, when = seeded_month(MONTH, seed=seed)
        report = _report(records, when)
        outcome = report.tables["by_outcome"].display
        trigger = report.tables["by_trigger"].display
        for col in outcome.columns:  # same totals, same suppression, in both tables
            assert outcome.loc["Total", col] == trigger.loc["Total", col], (seed, col)
        refused = report.tables["by_rank"].display.loc["Total", "refused"]
        assert refused == outcome.loc["Total", "refused"]
        for key in ("pending", "refused", "cancelled", "expired"):
            assert report.headline[key] == outcome.loc["Total", OUTCOME_LABELS[key]]
        if report.headline["authorised"] == "[c]":
            assert report.tables["durations"].display.loc["Total", "Total"] in ("<3", "[c]")
        for table in report.tables.values():
            assert disclosed_cells(table) == []


def _single_borough_month(seed: int) -> list[DeploymentRecord]:
    import random

    rng = random.Random(seed)
    n, boroughs = rng.randint(1, 14), rng.randint(1, 3)
    records = []
    for i in range(n):
        outcome = rng.choice(OUTCOMES)
        authorised = outcome in ("active", "cancelled", "expired")
        records.append(DeploymentRecord(
            i, datetime(2026, 5, rng.randint(1, 28), tzinfo=UTC),
            (f"B{rng.randrange(boroughs)}",), rng.choice(("incident", "intelligence")), outcome,
            authorised_hours=rng.choice((4.0, 8.0, 13.0)) if authorised else None,
            extensions=rng.randint(0, 1) if authorised else 0,
            authorising_rank="acc" if outcome != "pending" else None,
        ))
    return records


@pytest.mark.parametrize("seed", [*range(60), 191, 455, 1234, 2718])
def test_borough_totals_do_not_reveal_a_suppressed_outcome_count(seed: int) -> None:
    """With one borough per proposal, the borough table's column totals *are* the outcome
    counts: a count hidden in the outcome table must not be published there, or the hidden
    small counts can be solved for (before the fix: refused shown as 4 by borough let
    'ran to expiry' = 1 be worked out from the outcome row)."""
    report = build_report(_single_borough_month(seed), "2026-05",
                          generated_at=datetime(2026, 6, 1, tzinfo=UTC))
    outcome, borough = report.tables["by_outcome"], report.tables["by_borough"]
    status = outcome.status.copy()
    last = borough.status.shape[0] - 1
    for j, col in enumerate(outcome.counts.columns):
        if borough.status[last, list(borough.counts.columns).index(col)] == 0:
            status[:, j] = 0  # known exactly from the borough table
    assert disclosed_cells(SuppressedTable(outcome.counts, status, outcome.threshold)) == []
