"""Randomised crossover trials of patrol days at places, after the Southend hot-spots trial
(Basford et al. 2021: 20 hot spots, patrol days allocated at random within each hot spot).

The allocation is made and **recorded before the trial starts**: :func:`crossover_allocation`
returns an :class:`Allocation` value whose canonical JSON has a SHA-256 digest, which governance
stores (and can later audit with :func:`verify_allocation`) before the first patrol day. The
analysis (:func:`analyse_crossover`) takes the allocation and the observed counts (or harm) per
place and day, and reports:

- the Mantel-Haenszel rate ratio of patrol days against control days, stratified by place
  (each place is its own control), with the Greenland-Robins (1985) variance of its log::

      RR_MH = sum_i (a_i n0_i / N_i) / sum_i (b_i n1_i / N_i)
      Var(log RR_MH) = sum_i (n1_i n0_i (a_i + b_i) / N_i²) / (R * S)

  where ``a_i``/``b_i`` are events on patrol/control days at place ``i``, ``n1_i``/``n0_i``
  the numbers of those days, ``N_i = n1_i + n0_i`` and ``R``, ``S`` the two sums;
- a randomisation p-value: the same statistic under re-drawn allocations of the same design
  (the test the allocation itself justifies; it holds for harm as well as counts).
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import numpy as np
import pandas as pd
from scipy.stats import norm

from patrolcast.errors import InputError

__all__ = [
    "Allocation",
    "TrialResult",
    "analyse_crossover",
    "crossover_allocation",
    "verify_allocation",
]

DESIGN = "crossover: patrol days drawn at random within each place, the same number per place"


@dataclass(frozen=True)
class Allocation:
    """Which days each place is patrolled (``True``) or left as a control (``False``)."""

    trial_id: str
    places: tuple[str, ...]
    days: tuple[str, ...]
    patrol: tuple[tuple[bool, ...], ...]
    seed: int
    created_at: str
    design: str = DESIGN

    def canonical_json(self) -> bytes:
        body = asdict(self)
        body["patrol"] = [[int(v) for v in row] for row in self.patrol]
        return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()

    @property
    def digest(self) -> str:
        return "sha256:" + hashlib.sha256(self.canonical_json()).hexdigest()

    def frame(self) -> pd.DataFrame:
        rows = [(p, d, "patrol" if on else "control")
                for p, row in zip(self.places, self.patrol, strict=True)
                for d, on in zip(self.days, row, strict=True)]  # fmt: skip
        return pd.DataFrame(rows, columns=["place", "day", "arm"])


def _rng(trial_id: str, seed: int) -> np.random.Generator:
    material = hashlib.sha256(f"{trial_id}\x00{seed}".encode()).digest()
    return np.random.default_rng(int.from_bytes(material[:8], "big"))


def _draw(rng: np.random.Generator, n_places: int, n_days: int, k: int) -> np.ndarray:
    out = np.zeros((n_places, n_days), dtype=bool)
    for i in range(n_places):
        out[i, rng.permutation(n_days)[:k]] = True
    return out


def crossover_allocation(
    trial_id: str,
    places: Sequence[str],
    days: Sequence[date | str],
    *,
    seed: int,
    created_at: str,
    patrol_share: float = 0.5,
) -> Allocation:
    """Allocate ``round(patrol_share * len(days))`` patrol days at random within each place."""
    if not trial_id.strip():
        raise InputError("a trial needs an id")
    place_ids = tuple(str(p) for p in places)
    day_ids = tuple(d.isoformat() if isinstance(d, date) else str(d) for d in days)
    if len(place_ids) < 1 or len(day_ids) < 2:
        raise InputError("a crossover trial needs at least one place and two days")
    if len(set(place_ids)) != len(place_ids) or len(set(day_ids)) != len(day_ids):
        raise InputError("places and days must be unique")
    k = int(round(patrol_share * len(day_ids)))
    if not 0 < k < len(day_ids):
        raise InputError("patrol_share must leave both patrol and control days at every place")
    grid = _draw(_rng(trial_id, seed), len(place_ids), len(day_ids), k)
    return Allocation(trial_id, place_ids, day_ids,
                      tuple(tuple(bool(v) for v in row) for row in grid), seed, created_at)


def verify_allocation(allocation: Allocation, digest: str) -> bool:
    """True when ``allocation`` is exactly the one whose digest was recorded, and it is the one
    its trial id and seed produce (so it was not chosen after looking at outcomes)."""
    if allocation.digest != digest:
        return False
    k = sum(allocation.patrol[0])
    redrawn = _draw(_rng(allocation.trial_id, allocation.seed), len(allocation.places),
                    len(allocation.days), k)  # fmt: skip
    return bool((redrawn == np.array(allocation.patrol, dtype=bool)).all())


@dataclass(frozen=True)
class TrialResult:
    rate_ratio: float
    low: float
    high: float
    log_se: float
    randomisation_p: float
    patrol_total: float
    control_total: float
    patrol_days: int
    control_days: int
    n_permutations: int
    allocation_digest: str

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def _mh(a: np.ndarray, b: np.ndarray, n1: np.ndarray, n0: np.ndarray) -> tuple[float, float]:
    n = n1 + n0
    r = float((a * n0 / n).sum())
    s = float((b * n1 / n).sum())
    if r <= 0 or s <= 0:
        return float("nan"), float("nan")
    var = float((n1 * n0 * (a + b) / n**2).sum()) / (r * s)
    return r / s, math.sqrt(var)


def analyse_crossover(
    allocation: Allocation,
    outcomes: pd.DataFrame,
    *,
    value: str = "count",
    n_permutations: int = 2000,
    seed: int = 1,
    level: float = 0.95,
) -> TrialResult:
    """Analyse a crossover trial with its allocation (module docstring).

    ``outcomes`` has ``place, day`` and the ``value`` column, one row per place and day of the
    allocation (days without events carry 0): a missing or extra place-day is refused.
    """
    needed = {"place", "day", value}
    if not needed <= set(outcomes.columns):
        raise InputError(f"the outcomes need columns {', '.join(sorted(needed))}")
    if n_permutations < 100:
        raise InputError("use at least 100 permutations")
    frame = outcomes.assign(place=outcomes["place"].astype(str), day=outcomes["day"].astype(str))
    if frame.duplicated(["place", "day"]).any():
        raise InputError("a place-day appears twice in the outcomes")
    table = frame.pivot(index="place", columns="day", values=value)
    try:
        y = table.loc[list(allocation.places), list(allocation.days)].to_numpy(float)
    except KeyError:
        raise InputError("the outcomes lack place-days of the allocation") from None
    if table.shape != (len(allocation.places), len(allocation.days)):
        raise InputError("the outcomes hold place-days outside the allocation")
    if np.isnan(y).any():
        raise InputError("the outcomes lack place-days of the allocation (give 0, not nothing)")
    if not np.isfinite(y).all() or (y < 0).any():
        raise InputError("outcomes must be non-negative numbers for every place-day")
    arm = np.array(allocation.patrol, dtype=bool)

    def stat(on: np.ndarray) -> tuple[float, float]:
        return _mh((y * on).sum(1), (y * ~on).sum(1), on.sum(1).astype(float),
                   (~on).sum(1).astype(float))  # fmt: skip

    rr, se = stat(arm)
    rng = np.random.default_rng(seed)
    k = int(arm[0].sum())
    observed = abs(math.log(rr)) if rr > 0 and math.isfinite(rr) else float("inf")
    hits = 0
    for _ in range(n_permutations):
        other, _se = stat(_draw(rng, arm.shape[0], arm.shape[1], k))
        far = abs(math.log(other)) if other > 0 and math.isfinite(other) else float("inf")
        hits += far >= observed - 1e-12
    z = float(norm.ppf(0.5 + level / 2))
    lo = rr * math.exp(-z * se) if math.isfinite(se) else float("nan")
    hi = rr * math.exp(z * se) if math.isfinite(se) else float("nan")
    return TrialResult(
        rate_ratio=rr, low=lo, high=hi, log_se=se,
        randomisation_p=(1 + hits) / (1 + n_permutations),
        patrol_total=float(y[arm].sum()), control_total=float(y[~arm].sum()),
        patrol_days=int(arm.sum()), control_days=int((~arm).sum()),
        n_permutations=n_permutations, allocation_digest=allocation.digest,
    )  # fmt: skip
