"""The transparency report on the seeded month: numbers, suppression, escaping, formats."""

from __future__ import annotations

import csv
import json
import re
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.scenario import SCENARIO_BOROUGHS, seeded_month
from patrolcast.oversight.suppression import (
    PRIMARY,
    SECONDARY,
    SuppressedTable,
    disclosed_cells,
)
from patrolcast.oversight.transparency import (
    OGL_URL,
    OUTCOME_LABELS,
    OUTCOMES,
    DeploymentRecord,
    build_report,
    count_flag,
    linked_disclosures,
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
        last = (values.shape[0] - 1, values.shape[1] - 1)
        one_line = min(values.shape) == 2  # a single row or column repeats its totals
        for (i, j), v in np.ndenumerate(values):
            if 0 < v < 3:
                seen_small += 1
                total = one_line or i == last[0] or j == last[1] or table.status[i, j] == 3
                assert shown[i, j] == (SECONDARY if total else PRIMARY)
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
    assert rows[0] == ["month_start", "period", "table", "row", "column", "count", "count_flag",
                       "value", "value_flag", "text"]
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
    assert "checked by integer programming" in page  # the ATRS record states the protection
    # no external assets (the one link is the licence's, followed only by a reader)
    assert not re.search(r"<(script|link|img|iframe)\b|\bsrc=|url\(", page, flags=re.I)
    assert set(re.findall(r"https?://[^'\"\s)]+", page)) == {OGL_URL}
    doc = json.loads(write_geojson(report, tmp_path / "t.geojson").read_text())
    assert doc["type"] == "FeatureCollection"
    names = {f["properties"]["name"] for f in doc["features"]}
    assert names == set(SCENARIO_BOROUGHS.values())
    shown = report.tables["by_borough"].display
    for f in doc["features"]:
        name = f["properties"]["name"]
        if name in shown.index:
            props = f["properties"]
            assert (props["total"], props["total_flag"]) == count_flag(shown.loc[name, "Total"])


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
            # the headline shows the count as in the table's row ("<3" there, as a total "[c]")
            assert report.headline[key] == outcome.loc["all proposals", OUTCOME_LABELS[key]]
            hidden = outcome.loc["Total", OUTCOME_LABELS[key]] in ("<3", "[c]")
            assert hidden == isinstance(report.headline[key], str)
        if report.headline["authorised"] == "[c]":
            assert report.tables["durations"].display.loc["Total", "Total"] in ("<3", "[c]")
        for table in report.tables.values():
            assert disclosed_cells(table) == []
        assert linked_disclosures(report) == [], seed


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
    # and no small count can be solved from all the tables and the headline together
    assert linked_disclosures(report) == []


def test_linked_tables_cannot_be_played_against_each_other() -> None:
    """Seed 0: two '<3' by trigger in the 'ran to expiry' column say its total is at least 2;
    one '<3' beside a 0 by borough says at most 2; so the count was 2 and each trigger cell 1,
    although every table passed on its own. The trigger column is now withheld whole."""
    report = build_report(_single_borough_month(0), "2026-05",
                          generated_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert linked_disclosures(report) == []
    notes = [n for n in report.notes if "withheld entirely" in n]
    assert any("ran to expiry" in n for n in notes)
    trigger = report.tables["by_trigger"]
    j = list(trigger.counts.columns).index(OUTCOME_LABELS["expired"])
    assert (trigger.status[:-1, j] == 3).all()  # withheld, zeros included
    assert set(trigger.display.iloc[:-1, j]) == {SECONDARY}


# --------------------------------------------------------------- order statistics (medians)
def _authorised(n: int, *, month_day: int = 10) -> list[DeploymentRecord]:
    return [
        DeploymentRecord(
            i, datetime(2026, 5, month_day, 12, tzinfo=UTC), ("E09000012",), "incident",
            "expired", authorised_hours=4.0 + i, area_km2=0.1 * (i + 1), authorising_rank="acc",
        )
        for i in range(n)
    ]


@pytest.mark.parametrize("n", [3, 5, 9])
def test_no_median_of_fewer_than_ten(n: int, tmp_path: Path) -> None:
    """A median of 3 deployments is one deployment's exact figure: not published."""
    report = build_report(_authorised(n), "2026-05", generated_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert report.headline["authorised"] == n
    for key in ("authorised_hours_median", "area_km2_median"):
        assert report.headline[key] == "not published (fewer than 10)"
        assert report.headline_flags[key] == "fewer than 10 authorised deployments"
    assert isinstance(report.headline["authorised_hours_total"], float)  # a sum, not an order
    rows = list(csv.reader(write_csv(report, tmp_path / "m.csv").open(encoding="utf-8")))
    median_row = dict(zip(rows[0], next(r for r in rows if r[3] == "authorised_hours_median"),
                          strict=True))
    assert (median_row["value"], median_row["value_flag"]) == (
        "", "fewer than 10 authorised deployments")
    total_row = dict(zip(rows[0], next(r for r in rows if r[3] == "authorised_hours_total"),
                         strict=True))
    assert float(total_row["value"]) == report.headline["authorised_hours_total"]
    assert report.as_dict()["headline_flags"]["area_km2_median"].startswith("fewer than 10")


def test_median_of_ten_or_more_is_published() -> None:
    report = build_report(_authorised(10), "2026-05",
                          generated_at=datetime(2026, 6, 1, tzinfo=UTC))
    assert report.headline["authorised_hours_median"] == pytest.approx(8.5)
    assert report.headline["area_km2_median"] == pytest.approx(0.55)
    assert report.headline_flags["authorised_hours_median"] == ""


# ------------------------------------------------------------------------- month filing
def _rec(pid: int, requested: datetime, outcome: str, **kw: object) -> DeploymentRecord:
    return DeploymentRecord(pid, requested, ("E09000012",), "incident", outcome,
                            authorising_rank="acc", **kw)  # type: ignore[arg-type]


def test_filed_under_the_authorised_start_or_the_decision_month() -> None:
    """Requested for May but authorised to start in June: a June deployment. Refused in June:
    a June refusal. Months are Europe/London: 23:30 UTC on 31 May is 00:30 on 1 June."""
    may = datetime(2026, 5, 20, 12, tzinfo=UTC)
    records = [
        _rec(1, may, "expired", authorised_hours=4.0,
             authorised_start=datetime(2026, 6, 2, 8, tzinfo=UTC),
             decided_at=datetime(2026, 5, 28, tzinfo=UTC)),
        _rec(2, may, "refused", decided_at=datetime(2026, 6, 1, 9, tzinfo=UTC)),
        _rec(3, may, "expired", authorised_hours=6.0,
             authorised_start=datetime(2026, 5, 31, 23, 30, tzinfo=UTC)),  # 00:30 BST, 1 June
        _rec(4, may, "pending"),
        _rec(5, datetime(2026, 6, 30, 23, 30, tzinfo=UTC), "pending"),  # 1 July in London
    ]
    assert [r.month for r in records] == ["2026-06", "2026-06", "2026-06", "2026-05", "2026-07"]
    assert [r.filed_by for r in records] == [
        "authorised start", "decision", "authorised start", "requested start",
        "requested start"]
    june = build_report(records, "2026-06", generated_at=datetime(2026, 7, 1, tzinfo=UTC))
    assert june.tables["by_outcome"].counts.loc["Total", "Total"] == 3
    assert june.tables["durations"].counts.loc["Total", "Total"] == 2
    assert any("month of its authorised start" in n and "3 of this month's 3" in n
               for n in june.notes)
    may_report = build_report(records, "2026-05", generated_at=datetime(2026, 7, 1, tzinfo=UTC))
    assert may_report.tables["by_outcome"].counts.loc["Total", "Total"] == 1


def test_record_times_must_be_aware() -> None:
    with pytest.raises(InputError, match="authorised_start"):
        _rec(1, datetime(2026, 5, 1, tzinfo=UTC), "expired",
             authorised_start=datetime(2026, 5, 2))


# ---------------------------------------------------------------------------- public key
def _ed25519_pem() -> str:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    key = Ed25519PrivateKey.from_private_bytes(bytes(range(32))).public_key()
    return key.public_bytes(serialization.Encoding.PEM,
                            serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def test_public_key_is_published(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path
) -> None:
    from patrolcast.oversight.transparency import write_json, write_public_key

    records, when = scenario
    pem = _ed25519_pem()
    report = build_report(records, MONTH, generated_at=when, audit_public_key_pem=pem)
    fingerprint = report.audit_public_key_fingerprint
    assert fingerprint is not None and fingerprint.startswith("sha256:")
    doc = json.loads(write_json(report, tmp_path / "t.json").read_text(encoding="utf-8"))
    assert doc["audit_public_key"]["pem"].strip() == pem.strip()
    assert doc["audit_public_key"]["fingerprint"] == fingerprint
    page = write_html(report, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "BEGIN PUBLIC KEY" in page and fingerprint in page
    rows = list(csv.reader(write_csv(report, tmp_path / "t.csv").open(encoding="utf-8")))
    assert ["2025-06-01", "June 2025 (Europe/London)", "about",
            "audit_public_key_ed25519_fingerprint", "", "", "", "", "", fingerprint] in rows
    pem_path = write_public_key(report, tmp_path / "public_key.pem")
    assert pem_path is not None and pem_path.read_text(encoding="ascii").strip() == pem.strip()
    # the file is the key: it loads back as the same Ed25519 key
    from cryptography.hazmat.primitives import serialization

    assert serialization.load_pem_public_key(pem_path.read_bytes())
    none = build_report(records, MONTH, generated_at=when)
    assert none.as_dict()["audit_public_key"] is None
    assert write_public_key(none, tmp_path / "none.pem") is None


def test_public_key_must_be_ed25519() -> None:
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric import ec

    with pytest.raises(InputError, match="PEM"):
        build_report([], MONTH, generated_at=datetime(2025, 7, 1, tzinfo=UTC),
                     audit_public_key_pem="not a key")
    other = ec.generate_private_key(ec.SECP256R1()).public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()
    with pytest.raises(InputError, match="Ed25519"):
        build_report([], MONTH, generated_at=datetime(2025, 7, 1, tzinfo=UTC),
                     audit_public_key_pem=other)
