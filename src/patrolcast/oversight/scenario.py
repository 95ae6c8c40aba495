"""A seeded month of proposals, authorisations, refusals and expiries, for the transparency report.

The scenario is synthetic by construction (no real deployments exist to publish) and fully
determined by its seed. Proposals arrive over one month across a handful of London boroughs;
each is triggered by an incident (about 70%) or by graded intelligence; each is refused, left
undecided, withdrawn, or authorised and then cancelled early, still active at the report time,
or run to expiry, sometimes after an extension.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np

from patrolcast.oversight.transparency import DeploymentRecord

__all__ = ["SCENARIO_BOROUGHS", "seeded_month"]

# London borough GSS codes and names (the codes of boundaries/london_boroughs.gpkg).
SCENARIO_BOROUGHS: dict[str, str] = {
    "E09000012": "Hackney",
    "E09000022": "Lambeth",
    "E09000028": "Southwark",
    "E09000030": "Tower Hamlets",
    "E09000025": "Newham",
    "E09000014": "Haringey",
    "E09000007": "Camden",
    "E09000033": "Westminster",
}

_RANKS = ("superintendent", "chief superintendent", "assistant chief constable")


def seeded_month(
    month: str = "2025-06", *, seed: int = 20250601, n_proposals: int = 30
) -> tuple[list[DeploymentRecord], datetime]:
    """Records for one month and the report time (the first day of the next month, 09:00 UTC).

    Parameters
    ----------
    month : ``YYYY-MM``.
    seed : random seed; the same seed always gives the same month.
    n_proposals : proposals submitted in the month.
    """
    rng = np.random.default_rng(seed)
    start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    next_month = (start + timedelta(days=32)).replace(day=1)
    report_time = next_month + timedelta(hours=9)
    span_h = (next_month - start).total_seconds() / 3600
    codes = list(SCENARIO_BOROUGHS)
    weights = np.array([6, 5, 4, 4, 3, 2, 1, 1], dtype=float)
    records = []
    for pid in range(1, n_proposals + 1):
        submitted = start + timedelta(hours=float(rng.uniform(0, span_h - 1)))
        first = codes[int(rng.choice(len(codes), p=weights / weights.sum()))]
        boroughs: tuple[str, ...] = (first,)
        if rng.random() < 0.12:  # the area straddles a borough boundary
            other = codes[(codes.index(first) + 1) % len(codes)]
            boroughs = tuple(sorted({first, other}))
        trigger = "incident" if rng.random() < 0.7 else "intelligence"
        u = rng.random()
        hours: float | None = None
        extensions = 0
        rank: str | None = str(rng.choice(_RANKS, p=[0.6, 0.3, 0.1]))
        base = float(rng.choice([4.0, 6.0, 8.0, 12.0]))
        if u < 0.25:
            outcome = "refused"
        elif u < 0.31:
            outcome, rank = "withdrawn", None
        else:
            outcome = "expired"
            hours = base
            if rng.random() < 0.2:
                extensions = 1
                hours += float(rng.choice([4.0, 6.0]))
            if rng.random() < 0.15:
                outcome = "cancelled"
                hours = float(np.round(hours * rng.uniform(0.3, 0.8), 1))
            decided = submitted + timedelta(hours=float(rng.uniform(0.5, 3.0)))
            if outcome == "expired" and decided + timedelta(hours=hours) > report_time:
                outcome = "active"
        late = submitted > next_month - timedelta(hours=48)
        if late and outcome != "withdrawn" and rng.random() < 0.5:
            outcome, hours, extensions, rank = "pending", None, 0, None
        records.append(
            DeploymentRecord(
                proposal_id=pid,
                submitted_at=submitted,
                boroughs=boroughs,
                trigger_type=trigger,
                outcome=outcome,
                authorised_hours=hours,
                extensions=extensions,
                authorising_rank=rank,
                area_km2=float(np.round(rng.uniform(0.05, 0.6), 3)),
            )
        )
    return records, report_time
