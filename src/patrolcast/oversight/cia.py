"""Community impact assessment: its structured content and the evidence computed for an area.

There is no national template (domain notes, section 5); the fields are those seen in force
practice: description and geography; likely effect on the community and proportionality;
community tension indicators; objectives; equality impact under the Public Sector Equality Duty
(Equality Act 2010 s149: due regard to eliminating discrimination, advancing equality of
opportunity and fostering good relations); consultation with the Independent Advisory Group or
community monitoring group and what they said; mitigations and a communication plan; owner and
review date; and, after the deployment, its actual community impact.

An assessment may be saved as a draft with fields empty, but it cannot be *completed* while a
required field is empty (:meth:`AssessmentContent.missing`). All free text is checked for
personal data (:mod:`patrolcast.oversight.pii`).

Computed evidence (:func:`compute_evidence`) for the proposed area, each item with its source
and period, and a plain statement where data are missing:

- residents (2011 Census, areal weighting of the LSOAs the area overlaps);
- deprivation (IMD 2019, resident-weighted score and the deciles of those LSOAs);
- recent harm and its trend (last 3 months against the 3 before, from area counts);
- previous deployments there over the last 90 and 365 days (cumulative burden);
- stop-and-search volume and ethnic disproportionality (:mod:`.disproportion`);
- the fairness flag (:mod:`.fairness`) where exposure and harm are given.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, fields
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.io.census import CENSUS_SOURCE
from patrolcast.io.deprivation import IMD_SOURCE
from patrolcast.oversight.disproportion import disproportion
from patrolcast.oversight.pii import refuse_personal_data

__all__ = [
    "OBJECTIVES",
    "AssessmentContent",
    "Evidence",
    "PastDeployment",
    "compute_evidence",
]

OBJECTIVES = ("reduce harm", "reduce fear of crime", "reduce disorder")

_LABELS = {
    "description": "description of the proposed deployment",
    "geography": "geography of the area",
    "likely_effect": "likely effect on the community",
    "proportionality": "whether the response is proportionate",
    "tension_indicators": "community tension indicators",
    "objectives": "objectives",
    "equality_eliminate_discrimination": "equality: eliminating discrimination (s149(1)(a))",
    "equality_advance_opportunity": "equality: advancing equality of opportunity (s149(1)(b))",
    "equality_good_relations": "equality: fostering good relations (s149(1)(c))",
    "consultation_group": "Independent Advisory Group or community monitoring group consulted",
    "consultation_response": "what the group said",
    "mitigations": "mitigations",
    "communication_plan": "communication plan",
    "owner": "owner (a role)",
    "review_date": "review date",
}


@dataclass(frozen=True)
class AssessmentContent:
    """The structured fields of a community impact assessment (all required to complete,
    except ``actual_impact``, which is written after the deployment)."""

    description: str = ""
    geography: str = ""
    likely_effect: str = ""
    proportionality: str = ""
    tension_indicators: str = ""
    objectives: tuple[str, ...] = ()
    objectives_detail: str = ""
    equality_eliminate_discrimination: str = ""
    equality_advance_opportunity: str = ""
    equality_good_relations: str = ""
    consultation_group: str = ""
    consultation_response: str = ""
    mitigations: str = ""
    communication_plan: str = ""
    owner: str = ""
    review_date: date | None = None
    actual_impact: str = ""

    def __post_init__(self) -> None:
        unknown = set(self.objectives) - set(OBJECTIVES)
        if unknown:
            raise InputError(
                f"unknown objective(s) {sorted(unknown)}: choose from {', '.join(OBJECTIVES)}"
            )
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, str) and value:
                refuse_personal_data(value, field=f.name)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> AssessmentContent:
        """Build from a mapping (e.g. a JSON file); unknown keys are refused."""
        names = {f.name for f in fields(cls)}
        unknown = set(data) - names
        if unknown:
            raise InputError(f"unknown assessment field(s): {', '.join(sorted(unknown))}")
        values = dict(data)
        if "objectives" in values:
            obj = values["objectives"]
            values["objectives"] = tuple([obj] if isinstance(obj, str) else obj)
        if values.get("review_date"):
            try:
                values["review_date"] = date.fromisoformat(str(values["review_date"]))
            except ValueError:
                raise InputError("review_date must be YYYY-MM-DD") from None
        else:
            values["review_date"] = None
        return cls(**values)

    def missing(self) -> list[str]:
        """The required fields still empty, in words."""
        out = []
        for name, label in _LABELS.items():
            value = getattr(self, name)
            if value is None or (isinstance(value, str | tuple) and not any(
                str(v).strip() for v in (value if isinstance(value, tuple) else (value,))
            )):
                out.append(label)
        return out

    def require_complete(self, *, today: date | None = None) -> None:
        """Refuse completion while a required field is empty or the review date has passed."""
        missing = self.missing()
        if missing:
            raise InputError(
                "the community impact assessment cannot be completed: empty "
                + "; ".join(missing)
            )
        if today is not None and self.review_date is not None and self.review_date < today:
            raise InputError("the review date is in the past")

    def as_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["objectives"] = list(self.objectives)
        data["review_date"] = self.review_date.isoformat() if self.review_date else None
        return data


@dataclass(frozen=True)
class Evidence:
    """One piece of computed evidence with its source and period, or why it is missing."""

    name: str
    value: dict[str, Any] | None
    source: str
    period: str
    missing: str | None = None
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "value": self.value,
            "source": self.source,
            "period": self.period,
            "missing": self.missing,
            "notes": self.notes,
        }


@dataclass(frozen=True)
class PastDeployment:
    """A previous authorised deployment: its area (shapely, metric CRS) and its window."""

    geometry: Any
    start: datetime
    end: datetime


def _overlap_weights(area: Any, lsoas: Any) -> pd.Series:
    """Share of each overlapping LSOA's area inside ``area`` (areal weighting)."""
    import shapely

    geoms = np.asarray(lsoas.geometries, dtype=object)
    hit = shapely.STRtree(geoms).query(area, predicate="intersects")
    if hit.size == 0:
        return pd.Series(dtype=float)
    share = shapely.area(shapely.intersection(geoms[hit], area)) / shapely.area(geoms[hit])
    ids = np.asarray(lsoas.ids, dtype=object)[hit]
    s = pd.Series(share, index=pd.Index(ids, name="lsoa_code"))
    return s[s > 1e-9]


def _residents(weights: pd.Series, census: pd.DataFrame | None) -> Evidence:
    name, period = "residents", "Census day, 27 March 2011"
    if census is None:
        return Evidence(name, None, CENSUS_SOURCE, period, "census table not supplied")
    if weights.empty:
        return Evidence(name, None, CENSUS_SOURCE, period, "the area overlaps no LSOA")
    table = census.set_index("lsoa_code")["residents"]
    known = weights[weights.index.isin(table.index)]
    unknown = sorted(set(weights.index) - set(known.index))
    value = float((known * table.reindex(known.index).astype(float)).sum())
    notes = ["areal weighting: residents assumed spread evenly over each LSOA"]
    if unknown:
        notes.append(
            f"{len(unknown)} overlapping LSOA(s) have no 2011 census row (LSOA 2021 codes "
            f"changed since 2011): {', '.join(unknown[:5])}"
        )
    return Evidence(
        name,
        {"residents": round(value), "lsoas": len(weights), "lsoas_with_census": len(known)},
        CENSUS_SOURCE,
        period,
        None,
        notes,
    )


def _deprivation(weights: pd.Series, census: pd.DataFrame | None,
                 imd: pd.DataFrame | None) -> Evidence:
    name, period = "deprivation", "IMD 2019 (indicators mostly 2015-2017)"
    if imd is None:
        return Evidence(name, None, IMD_SOURCE, period, "IMD table not supplied")
    table = imd.set_index("lsoa_code")
    known = weights[weights.index.isin(table.index)]
    if known.empty:
        return Evidence(name, None, IMD_SOURCE, period, "no overlapping LSOA in the IMD table")
    w = known.copy()
    if census is not None:
        res = census.set_index("lsoa_code")["residents"].reindex(known.index).astype(float)
        w = known * res.fillna(res.mean() if res.notna().any() else 1.0)
    score = float(np.average(table.loc[known.index, "imd_score"].astype(float), weights=w))
    deciles = table.loc[known.index, "imd_decile"].astype(int)
    by_decile = deciles.value_counts().sort_index()
    return Evidence(
        name,
        {
            "imd_score_weighted": round(score, 2),
            "most_deprived_decile": int(deciles.min()),
            "lsoas_by_decile": {int(k): int(v) for k, v in by_decile.items()},
        },
        IMD_SOURCE,
        period,
        None,
        ["decile 1 = the most deprived 10% of LSOAs in England"],
    )


def _harm(weights: pd.Series, counts: pd.DataFrame | None, now: datetime,
          source: str) -> Evidence:
    name = "recent harm and trend"
    if counts is None or counts.empty:
        return Evidence(name, None, source, "", "no area counts supplied")
    frame = counts[counts["area_code"].isin(weights.index)]
    months = pd.to_datetime(counts["month"], utc=True)
    complete = months + pd.DateOffset(months=1) <= pd.Timestamp(now)  # only months that ended
    latest = months[complete].max()
    if frame.empty or pd.isna(latest):
        return Evidence(name, None, source, "", "no recorded harm for the area's LSOAs")
    frame = frame[pd.to_datetime(frame["month"], utc=True) <= latest]
    frame = frame.assign(
        month=pd.to_datetime(frame["month"], utc=True),
        w=frame["area_code"].map(weights).astype(float),
    )
    recent_start = latest - pd.DateOffset(months=2)
    prior_start = latest - pd.DateOffset(months=5)
    recent = frame[(frame["month"] >= recent_start) & (frame["month"] <= latest)]
    prior = frame[(frame["month"] >= prior_start) & (frame["month"] < recent_start)]
    r_harm = float((recent["harm"] * recent["w"]).sum())
    p_harm = float((prior["harm"] * prior["w"]).sum())
    r_count = float((recent["count"] * recent["w"]).sum())
    change = None if p_harm == 0 else round(100.0 * (r_harm - p_harm) / p_harm, 1)
    period = (
        f"{recent_start:%Y-%m} to {latest:%Y-%m} against {prior_start:%Y-%m} to "
        f"{(recent_start - pd.DateOffset(months=1)):%Y-%m}"
    )
    return Evidence(
        name,
        {
            "harm_last_3_months": round(r_harm, 1),
            "harm_previous_3_months": round(p_harm, 1),
            "change_percent": change,
            "offences_last_3_months": round(r_count, 1),
        },
        source,
        period,
        None,
        ["counts of overlapping LSOAs weighted by the share of each LSOA inside the area"],
    )


def _previous(area: Any, deployments: Sequence[PastDeployment] | None, now: datetime) -> Evidence:
    name = "previous deployments"
    source = "patrolcast governance database (authorised deployments)"
    period = f"90 and 365 days to {now:%Y-%m-%d}"
    if deployments is None:
        return Evidence(name, None, source, period, "deployment history not supplied")
    out: dict[str, Any] = {}
    for days in (90, 365):
        since = now - timedelta(days=days)
        hits = [d for d in deployments if d.end > since and d.start < now
                and d.geometry.intersects(area)]
        hours = sum(
            (min(d.end, now) - max(d.start, since)).total_seconds() / 3600 for d in hits
        )
        out[f"deployments_{days}d"] = len(hits)
        out[f"hours_{days}d"] = round(hours, 1)
    return Evidence(name, out, source, period, None)


def _stop_search(area: Any, searches: pd.DataFrame | None, residents: float | None,
                 source: str, now: datetime) -> Evidence:
    """Searches in the area over the latest 12 months of data before ``now``."""
    name = "stop and search"
    if searches is None or searches.empty:
        return Evidence(name, None, source, "", "no stop-and-search data supplied")
    import shapely

    times = pd.to_datetime(searches["time"], utc=True)
    before = searches[times < pd.Timestamp(now)]
    if before.empty:
        return Evidence(name, None, source, "", "no stop-and-search data before this time")
    located = before.dropna(subset=["x", "y"])
    here = located[shapely.contains_xy(area, located["x"].to_numpy(), located["y"].to_numpy())]
    unlocated = len(before) - len(located)
    notes = [
        f"{unlocated} of {len(before)} searches in the data have no location and cannot be "
        "placed in any area"
    ]
    if here.empty:
        span = f"{times.min():%Y-%m-%d} to {times.max():%Y-%m-%d}"
        return Evidence(name, {"searches": 0}, source, span, None, notes)
    t_here = pd.to_datetime(here["time"], utc=True)
    last = t_here.max()
    first = last - pd.Timedelta(days=365)
    inside = here[t_here > first]
    period = f"{first:%Y-%m-%d} to {last:%Y-%m-%d} (the latest 12 months with searches here)"
    lag = (pd.Timestamp(now) - last).days
    if lag > 90:
        notes.append(f"the latest stop-and-search data end {lag} days before this assessment")
    if inside.empty:
        return Evidence(name, {"searches": 0}, source, period, None, notes)
    result = disproportion(
        inside,
        area="proposed area",
        residents=int(residents) if residents else None,
        denominator_label=(
            "FALLBACK: London-wide 2011 composition (ONS KS201EW); the area's own ethnic mix "
            "is not in the data"
        ),
    )
    return Evidence(name, result.as_dict(), source, period, None, notes + result.notes)


def compute_evidence(
    area: Any,
    *,
    now: datetime,
    lsoas: Any | None = None,
    census: pd.DataFrame | None = None,
    imd: pd.DataFrame | None = None,
    area_counts: pd.DataFrame | None = None,
    area_counts_source: str = "London Datastore MPS recorded crime by LSOA",
    deployments: Sequence[PastDeployment] | None = None,
    searches: pd.DataFrame | None = None,
    searches_source: str = "data.police.uk stop and search",
) -> list[Evidence]:
    """Evidence for a proposed area (a shapely polygon in the metric CRS of ``lsoas``).

    Every input is optional: a missing one gives an :class:`Evidence` whose ``missing`` says so
    in plain words, never a silent zero.
    """
    if now.tzinfo is None:
        raise InputError("now must be timezone-aware (UTC)")
    now = now.astimezone(UTC)
    if lsoas is None:
        weights = pd.Series(dtype=float)
        no_lsoa = "LSOA boundaries not supplied"
    else:
        weights = _overlap_weights(area, lsoas)
        no_lsoa = None
    residents = _residents(weights, census)
    if no_lsoa:
        residents = Evidence("residents", None, CENSUS_SOURCE, "2011", no_lsoa)
    pop = residents.value["residents"] if residents.value else None
    return [
        residents,
        _deprivation(weights, census, imd) if not no_lsoa else Evidence(
            "deprivation", None, IMD_SOURCE, "IMD 2019", no_lsoa),
        _harm(weights, area_counts, now, area_counts_source) if not no_lsoa else Evidence(
            "recent harm and trend", None, area_counts_source, "", no_lsoa),
        _previous(area, deployments, now),
        _stop_search(area, searches, pop, searches_source, now),
    ]
