"""The predictive-policing feedback loop, simulated after Ensign et al. (2018).

Ensign, Friedler, Neville, Scheidegger & Venkatasubramanian (2018), *Runaway Feedback Loops in
Predictive Policing*, FAT* 2018 (PMLR 81:160-171), model a forecaster that sends patrols where
its data say crime is, and then learns from the crimes those patrols *discover*, as a Polya urn:
the region with more balls gets the patrol, and only the patrolled region can add a ball. The
loop runs away: the predicted share of the favoured region tends to 1 whatever the true rates.
Crimes *reported* by victims independently of where patrols are do not feed back (Lum & Isaac
2016 make the same point with drug arrests in Oakland).

The simulation here (one day per step, ``n_reps`` independent runs in parallel):

- ``n`` areas with true daily crime rates ``rates``;
- the forecast is the running count of recorded crimes per area, started from ``prior`` (a
  pseudo-count per area, the urn's initial balls);
- each day ``k`` areas are patrolled, chosen by ``policy``: ``"top"`` (the ``k`` highest
  forecasts, ties broken at random: a hotspot list) or ``"urn"`` (``k`` areas drawn without
  replacement with probability proportional to the forecast: Ensign's urn);
- recorded crimes in area ``i`` are Poisson with mean
  ``rates[i] * (discovered * patrolled[i] + (1 - discovered))``: a share ``discovered`` of the
  crimes is found only by a patrol on the spot (possession of weapons, drugs), the rest is
  reported whether or not a patrol was there (victim-reported, injury-based violence).

``discovered = 1`` is the runaway case; ``discovered = 0`` is the default training data of
patrolcast (reported serious violence). Outcome per run: the final forecast share of each area
against its true share (total variation distance), the share of patrol-days each area received,
and whether the loop "locked in" (one area holding at least ``lock_share`` of the forecast).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError

__all__ = ["FeedbackResult", "simulate_feedback", "sweep_discovery"]

FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True)
class FeedbackResult:
    """Outcome of :func:`simulate_feedback` over ``n_reps`` runs."""

    rates: FloatArray
    discovered: float
    policy: str
    days: int
    forecast_share: FloatArray  # (n_reps, n) final forecast share per area
    patrol_share: FloatArray  # (n_reps, n) share of patrol-days per area
    lock_share: float
    history: FloatArray | None = None  # (n_reps, days) forecast share of the highest-rate area

    @property
    def true_share(self) -> FloatArray:
        return self.rates / self.rates.sum()

    @property
    def tv_distance(self) -> FloatArray:
        """Per run: half the L1 distance between forecast share and true share (0 = right)."""
        return 0.5 * np.abs(self.forecast_share - self.true_share).sum(axis=1)

    @property
    def locked_in(self) -> npt.NDArray[np.bool_]:
        """Per run: one area holds at least ``lock_share`` of the forecast."""
        return self.forecast_share.max(axis=1) >= self.lock_share

    def summary(self) -> dict[str, Any]:
        tv = self.tv_distance
        wrong = self.forecast_share.argmax(axis=1) != int(np.argmax(self.rates))
        return {
            "policy": self.policy,
            "discovered": self.discovered,
            "days": self.days,
            "runs": int(tv.size),
            "true_share": self.true_share.round(4).tolist(),
            "mean_forecast_share": self.forecast_share.mean(axis=0).round(4).tolist(),
            "mean_patrol_share": self.patrol_share.mean(axis=0).round(4).tolist(),
            "mean_tv_distance": float(tv.mean()),
            "p90_tv_distance": float(np.quantile(tv, 0.9)),
            "locked_in_runs": float(self.locked_in.mean()),
            "wrong_top_area_runs": float(wrong.mean()),
        }


def _choose(
    forecast: FloatArray, k: int, policy: str, rng: np.random.Generator
) -> npt.NDArray[np.bool_]:
    """Boolean (n_reps, n) of patrolled areas."""
    reps, n = forecast.shape
    if policy == "top":
        noise = rng.random(forecast.shape) * 1e-9  # random tie-breaking only
        order = np.argsort(-(forecast + noise * np.maximum(forecast.max(), 1.0)), axis=1)
        chosen = order[:, :k]
    else:  # urn: draw k without replacement, proportional to the forecast (Gumbel top-k)
        gumbel = -np.log(-np.log(rng.random(forecast.shape)))
        chosen = np.argsort(-(np.log(np.maximum(forecast, 1e-300)) + gumbel), axis=1)[:, :k]
    patrolled = np.zeros((reps, n), dtype=bool)
    np.put_along_axis(patrolled, chosen, True, axis=1)
    return patrolled


def simulate_feedback(
    rates: npt.ArrayLike,
    *,
    discovered: float,
    days: int = 365,
    k: int = 1,
    policy: str = "top",
    prior: float = 1.0,
    n_reps: int = 200,
    lock_share: float = 0.9,
    seed: int = 0,
    track: bool = False,
) -> FeedbackResult:
    """Run the feedback-loop simulation (see the module notes for the model).

    Parameters
    ----------
    rates : true mean crimes per day in each area (at least two areas).
    discovered : share of crimes recorded only when a patrol is present (0..1).
    days : days simulated.
    k : areas patrolled per day (fewer than the number of areas).
    policy : ``"top"`` (hotspot list) or ``"urn"`` (Ensign's proportional urn).
    prior : initial pseudo-count per area.
    n_reps : independent runs.
    lock_share : forecast share that counts as locked in.
    seed : random seed (results are reproducible).
    track : keep the daily forecast share of the highest-rate area (for plots).
    """
    lam = np.asarray(rates, dtype=np.float64)
    if lam.ndim != 1 or lam.size < 2 or (lam <= 0).any() or not np.isfinite(lam).all():
        raise InputError("rates must be at least two positive numbers")
    if not 0.0 <= discovered <= 1.0:
        raise InputError("discovered must lie between 0 and 1")
    if not 1 <= k < lam.size:
        raise InputError("k must be at least 1 and fewer than the number of areas")
    if policy not in ("top", "urn"):
        raise InputError("policy must be 'top' or 'urn'")
    if days < 1 or n_reps < 1 or prior <= 0:
        raise InputError("days and n_reps must be positive, prior above 0")
    rng = np.random.default_rng(seed)
    n = lam.size
    forecast = np.full((n_reps, n), float(prior))
    patrol_days = np.zeros((n_reps, n))
    top = int(np.argmax(lam))
    history = np.zeros((n_reps, days)) if track else None
    for day in range(days):
        patrolled = _choose(forecast, k, policy, rng)
        mean = lam * (discovered * patrolled + (1.0 - discovered))
        forecast += rng.poisson(mean)
        patrol_days += patrolled
        if history is not None:
            history[:, day] = forecast[:, top] / forecast.sum(axis=1)
    return FeedbackResult(
        rates=lam,
        discovered=float(discovered),
        policy=policy,
        days=days,
        forecast_share=forecast / forecast.sum(axis=1, keepdims=True),
        patrol_share=patrol_days / patrol_days.sum(axis=1, keepdims=True),
        lock_share=lock_share,
        history=history,
    )


def sweep_discovery(
    rates: npt.ArrayLike,
    discovered: list[float],
    **kwargs: Any,
) -> list[dict[str, Any]]:
    """:func:`simulate_feedback` summaries for several discovery shares (same seed each)."""
    return [simulate_feedback(rates, discovered=d, **kwargs).summary() for d in discovered]
