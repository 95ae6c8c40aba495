"""A seeded month of proposals, authorisations, refusals and expiries, for the transparency report.

The scenario is synthetic by construction (no real deployments exist to publish) and fully
determined by its seed. Proposals arrive over one month across a handful of London boroughs;
each is triggered by an incident (about 70%) or by graded intelligence; each is refused, left
undecided, or authorised and then cancelled early, still active at the report time, or run to
expiry, sometimes after an extension. :func:`plan_month` gives the plan; :func:`seeded_month`
its expected public records; :func:`patrolcast.oversight.scenario_db.run_month` plays the same
plan through the governance lifecycle, so the report can also be built from the database.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

import numpy as np

from patrolcast.oversight.transparency import DeploymentRecord, month_bounds

__all__ = ["SCENARIO_BOROUGHS", "PlannedProposal", "plan_month", "seeded_month"]

# London borough GSS codes, names and a point inside each (British National Grid, metres).
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
BOROUGH_POINTS: dict[str, tuple[float, float]] = {
    "E09000012": (534900.0, 185300.0),
    "E09000022": (530800.0, 175500.0),
    "E09000028": (533500.0, 177000.0),
    "E09000030": (536200.0, 181600.0),
    "E09000025": (541000.0, 183000.0),
    "E09000014": (532500.0, 189500.0),
    "E09000007": (528300.0, 184700.0),
    "E09000033": (528900.0, 181000.0),
}

RANKS = ("superintendent", "chief superintendent", "assistant chief constable")


@dataclass(frozen=True)
class PlannedProposal:
    """What happens to one proposal in the seeded month."""

    proposal_id: int
    start: datetime
    boroughs: tuple[str, ...]
    trigger: str
    decision: str | None  # "authorise", "refuse" or None (still pending)
    rank: str | None
    base_hours: float = 0.0
    extension_hours: float = 0.0
    cancel_after_hours: float | None = None
    side_m: float = 400.0
    debrief_after_hours: float | None = None  # after the end (or the cancellation)
    review_after_hours: float | None = None  # after the debrief

    @property
    def end(self) -> datetime:
        return self.start + timedelta(hours=self.base_hours + self.extension_hours)

    @property
    def stood_down(self) -> datetime:
        """When the patrol actually ended: its end, or the cancellation."""
        if self.cancel_after_hours is not None:
            return self.start + timedelta(hours=self.cancel_after_hours)
        return self.end

    def follow_up(self, report_time: datetime) -> str | None:
        if self.decision != "authorise" or self.stood_down > report_time:
            return None
        if self.debrief_after_hours is None:
            return "awaiting debrief"
        debriefed = self.stood_down + timedelta(hours=self.debrief_after_hours)
        if debriefed > report_time:
            return "awaiting debrief"
        if self.review_after_hours is None:
            return "debriefed"
        reviewed = debriefed + timedelta(hours=self.review_after_hours)
        return "reviewed" if reviewed <= report_time else "debriefed"

    def record(self, report_time: datetime) -> DeploymentRecord:
        """The public record this plan should produce at ``report_time``."""
        hours: float | None = None
        if self.decision is None:
            outcome = "pending"
        elif self.decision == "refuse":
            outcome = "refused"
        elif self.cancel_after_hours is not None:
            outcome, hours = "cancelled", self.cancel_after_hours
        else:
            hours = self.base_hours + self.extension_hours
            outcome = "active" if self.end > report_time else "expired"
        return DeploymentRecord(
            proposal_id=self.proposal_id,
            requested_start=self.start,
            boroughs=self.boroughs,
            trigger_type=self.trigger,
            outcome=outcome,
            authorised_hours=hours,
            extensions=1 if self.extension_hours > 0 else 0,
            authorising_rank=self.rank,
            area_km2=round((self.side_m / 1000.0) ** 2, 6),
            follow_up=self.follow_up(report_time),
            authorised_start=self.start if hours is not None else None,
        )


def plan_month(
    month: str = "2025-06", *, seed: int = 20250601, n_proposals: int = 30
) -> tuple[list[PlannedProposal], datetime]:
    """The seeded plan and the report time (the next month's first day, 09:00 UTC)."""
    rng = np.random.default_rng(seed)
    follow = np.random.default_rng(seed + 1)  # debriefs and reviews: a stream of their own
    first, next_month = month_bounds(month)
    report_time = next_month + timedelta(hours=9)
    span_h = (next_month - first).total_seconds() / 3600
    codes = list(SCENARIO_BOROUGHS)
    weights = np.array([6, 5, 4, 4, 3, 2, 1, 1], dtype=float)
    plans = []
    for pid in range(1, n_proposals + 1):
        start = first + timedelta(hours=round(float(rng.uniform(4, span_h - 1)), 2))
        code = codes[int(rng.choice(len(codes), p=weights / weights.sum()))]
        boroughs: tuple[str, ...] = (code,)
        if rng.random() < 0.12:  # the area straddles a borough boundary
            boroughs = tuple(sorted({code, codes[(codes.index(code) + 1) % len(codes)]}))
        trigger = "incident" if rng.random() < 0.7 else "intelligence"
        rank = str(rng.choice(RANKS, p=[0.6, 0.3, 0.1]))
        base = float(rng.choice([4.0, 6.0, 8.0, 12.0]))
        side = float(rng.choice([300.0, 400.0, 600.0]))
        u = rng.random()
        extension = float(rng.choice([4.0, 6.0])) if rng.random() < 0.2 else 0.0
        cancel = round(base * float(rng.uniform(0.3, 0.8)), 1) if rng.random() < 0.15 else None
        late = start > next_month - timedelta(hours=48)
        if late and rng.random() < 0.5:
            plan = PlannedProposal(pid, start, boroughs, trigger, None, None, side_m=side)
        elif u < 0.25:
            plan = PlannedProposal(pid, start, boroughs, trigger, "refuse", rank, side_m=side)
        else:
            debrief = float(follow.uniform(6, 72)) if follow.random() < 0.8 else None
            review = float(follow.uniform(24, 240)) if follow.random() < 0.6 else None
            plan = PlannedProposal(
                pid, start, boroughs, trigger, "authorise", rank, base_hours=base,
                extension_hours=0.0 if cancel is not None else extension,
                cancel_after_hours=cancel, side_m=side,
                debrief_after_hours=round(debrief, 2) if debrief else None,
                review_after_hours=round(review, 2) if debrief and review else None,
            )
        plans.append(plan)
    return plans, report_time


def seeded_month(
    month: str = "2025-06", *, seed: int = 20250601, n_proposals: int = 30
) -> tuple[list[DeploymentRecord], datetime]:
    """The public records the seeded plan should produce, and the report time."""
    plans, report_time = plan_month(month, seed=seed, n_proposals=n_proposals)
    return [p.record(report_time) for p in plans], report_time
