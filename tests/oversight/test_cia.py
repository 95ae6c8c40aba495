"""Community impact assessment: completeness rules and evidence against hand-computed values."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.geo.support import AreaSupport
from patrolcast.oversight.cia import AssessmentContent, PastDeployment, compute_evidence
from patrolcast.oversight.pii import PersonalDataRefused

NOW = datetime(2025, 7, 1, tzinfo=UTC)

COMPLETE = {
    "description": "Armed foot patrol after a stabbing near the market",
    "geography": "Market square and the two estates to its east",
    "likely_effect": "Visible armed officers may raise fear among young residents",
    "proportionality": "Two serious assaults in 48 hours; limited to 8 hours",
    "tension_indicators": "Tension after last week's incident; no protest planned",
    "objectives": ["reduce harm", "reduce fear of crime"],
    "equality_eliminate_discrimination": "Stop and search by the patrol monitored daily",
    "equality_advance_opportunity": "Youth centre kept open; outreach workers briefed",
    "equality_good_relations": "Community lead attends the briefing",
    "consultation_group": "Borough Independent Advisory Group",
    "consultation_response": "Supportive if the patrol is short and explained in advance",
    "mitigations": "Unarmed officers lead engagement; body-worn video on",
    "communication_plan": "Notice on social channels before and a summary after",
    "owner": "Borough community engagement lead",
    "review_date": "2025-07-10",
}


def test_complete_assessment_passes() -> None:
    content = AssessmentContent.from_dict(COMPLETE)
    assert content.missing() == []
    content.require_complete(today=date(2025, 7, 1))
    assert content.as_dict()["review_date"] == "2025-07-10"


@pytest.mark.parametrize("empty", ["mitigations", "consultation_response", "objectives",
                                   "review_date", "equality_good_relations"])
def test_cannot_complete_with_a_required_field_empty(empty: str) -> None:
    data = dict(COMPLETE)
    data[empty] = [] if empty == "objectives" else ""
    content = AssessmentContent.from_dict(data)  # a draft may be saved...
    assert len(content.missing()) == 1
    with pytest.raises(InputError, match="cannot be completed"):  # ...but not completed
        content.require_complete()


def test_whitespace_is_empty_and_bad_values_refused() -> None:
    data = dict(COMPLETE, mitigations="   ")
    assert AssessmentContent.from_dict(data).missing() == ["mitigations"]
    with pytest.raises(InputError, match="unknown objective"):
        AssessmentContent.from_dict(dict(COMPLETE, objectives=["arrest people"]))
    with pytest.raises(InputError, match="unknown assessment field"):
        AssessmentContent.from_dict(dict(COMPLETE, suspect="x"))
    with pytest.raises(PersonalDataRefused):
        AssessmentContent.from_dict(dict(COMPLETE, consultation_response="Mrs Jones objected"))
    with pytest.raises(InputError, match="past"):
        AssessmentContent.from_dict(COMPLETE).require_complete(today=date(2025, 8, 1))


def _lsoas() -> AreaSupport:
    boxes = (shapely.box(0, 0, 1000, 1000), shapely.box(1000, 0, 2000, 1000))
    return AreaSupport(("L1", "L2"), ("one", "two"), boxes, "EPSG:27700", "lsoa")


def test_evidence_hand_computed() -> None:
    area = shapely.box(500, 0, 1500, 1000)  # half of L1, half of L2
    census = pd.DataFrame({"lsoa_code": ["L1", "L2"], "residents": [1000, 3000]})
    imd = pd.DataFrame({"lsoa_code": ["L1", "L2"], "imd_score": [10.0, 40.0],
                        "imd_decile": [7, 1]})
    months = pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01",
                              "2025-05-01", "2025-06-01"], utc=True)
    counts = pd.DataFrame({
        "area_code": ["L1"] * 6 + ["L2"] * 6,
        "month": list(months) * 2,
        "count": [1.0] * 12,
        "harm": [10.0] * 6 + [20.0, 20.0, 20.0, 40.0, 40.0, 40.0],
    })
    deployments = [
        PastDeployment(shapely.box(600, 100, 700, 200), NOW - timedelta(days=10),
                       NOW - timedelta(days=10) + timedelta(hours=8)),
        PastDeployment(shapely.box(600, 100, 700, 200), NOW - timedelta(days=200),
                       NOW - timedelta(days=200) + timedelta(hours=12)),
        PastDeployment(shapely.box(5000, 5000, 5100, 5100), NOW - timedelta(days=5),
                       NOW - timedelta(days=5) + timedelta(hours=6)),  # elsewhere
    ]
    searches = pd.DataFrame({
        "x": [600.0] * 12 + [5000.0, None],
        "y": [500.0] * 12 + [5000.0, None],
        "time": pd.to_datetime(["2025-06-01"] * 14, utc=True),
        "self_defined_ethnicity": ["White - Irish"] * 6 + ["Black or Black British - African (B2)"]
        * 6 + ["White - Irish"] * 2,
    })
    ev = {e.name: e for e in compute_evidence(
        area, now=NOW, lsoas=_lsoas(), census=census, imd=imd, area_counts=counts,
        deployments=deployments, searches=searches)}
    assert ev["residents"].value == {"residents": 2000, "lsoas": 2, "lsoas_with_census": 2}
    # resident-weighted score: (0.5*1000*10 + 0.5*3000*40) / (0.5*1000 + 0.5*3000) = 32.5
    assert ev["deprivation"].value["imd_score_weighted"] == pytest.approx(32.5)
    assert ev["deprivation"].value["most_deprived_decile"] == 1
    harm = ev["recent harm and trend"].value
    # last 3 months: 0.5*(3*10) + 0.5*(3*40) = 75; previous 3: 0.5*30 + 0.5*60 = 45
    assert harm["harm_last_3_months"] == pytest.approx(75.0)
    assert harm["harm_previous_3_months"] == pytest.approx(45.0)
    assert harm["change_percent"] == pytest.approx(round(100 * 30 / 45, 1))
    assert "2025-04 to 2025-06" in ev["recent harm and trend"].period
    prev = ev["previous deployments"].value
    assert prev == {"deployments_90d": 1, "hours_90d": 8.0, "deployments_365d": 2,
                    "hours_365d": 20.0}
    ss = ev["stop and search"].value
    assert ss["searches"] == 12
    assert ss["searches_by_group"]["Black"] == 6
    assert ss["rate_per_1000_residents"] == pytest.approx(1000 * 12 / 2000)
    assert "FALLBACK" in ss["denominator"]
    assert any("1 of 14 searches" in n for n in ev["stop and search"].notes)


def test_missing_inputs_are_stated() -> None:
    ev = compute_evidence(shapely.box(0, 0, 10, 10), now=NOW)
    assert all(e.missing for e in ev)
    assert {e.name for e in ev} == {"residents", "deprivation", "recent harm and trend",
                                    "previous deployments", "stop and search"}
    with pytest.raises(InputError):
        compute_evidence(shapely.box(0, 0, 1, 1), now=datetime(2025, 1, 1))


def test_harm_uses_only_months_that_ended_and_searches_are_recent() -> None:
    area = shapely.box(0, 0, 1000, 1000)
    months = pd.to_datetime(["2025-04-01", "2025-05-01", "2025-06-01", "2025-07-01"], utc=True)
    counts = pd.DataFrame({"area_code": ["L1"] * 4, "month": months, "count": [1.0] * 4,
                           "harm": [1.0, 2.0, 4.0, 1000.0]})
    # on 4 July the July count is not yet complete: it must not be used
    ev = {e.name: e for e in compute_evidence(
        area, now=datetime(2025, 7, 4, tzinfo=UTC), lsoas=_lsoas(), area_counts=counts)}
    assert ev["recent harm and trend"].value["harm_last_3_months"] == pytest.approx(7.0)
    searches = pd.DataFrame({
        "x": [500.0, 500.0, 500.0], "y": [500.0, 500.0, 500.0],
        "time": pd.to_datetime(["2018-01-01", "2019-06-01", "2019-07-01"], utc=True),
        "self_defined_ethnicity": ["White - Irish"] * 3,
    })
    ev = {e.name: e for e in compute_evidence(area, now=NOW, searches=searches)}
    ss = ev["stop and search"]
    assert ss.value["searches"] == 2  # the 2018 search is outside the latest 12 months
    assert "2019-07-01" in ss.period
    assert any("days before this assessment" in n for n in ss.notes)
