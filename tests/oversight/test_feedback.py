"""The Ensign et al. (2018) feedback-loop simulation: runaway with discovered crime only."""

from __future__ import annotations

import numpy as np
import pytest

from patrolcast.errors import InputError
from patrolcast.oversight.feedback import simulate_feedback, sweep_discovery

RATES = [1.0, 0.8]


def test_reported_crime_does_not_depend_on_patrols() -> None:
    # With discovered = 0 the recorded data are independent of the patrols, so two different
    # allocation policies fed the same random stream learn exactly the same forecast.
    a = simulate_feedback(RATES, discovered=0.0, policy="top", days=100, n_reps=50, seed=3)
    b = simulate_feedback(RATES, discovered=0.0, policy="urn", days=100, n_reps=50, seed=3)
    np.testing.assert_array_equal(a.forecast_share, b.forecast_share)
    assert not np.array_equal(a.patrol_share, b.patrol_share)


def test_reported_crime_converges_to_the_true_shares() -> None:
    result = simulate_feedback(RATES, discovered=0.0, days=365, n_reps=200)
    assert result.tv_distance.mean() < 0.05
    assert not result.locked_in.any()
    np.testing.assert_allclose(result.forecast_share.mean(axis=0), result.true_share, atol=0.02)


def test_discovered_crime_runs_away() -> None:
    result = simulate_feedback(RATES, discovered=1.0, policy="top", days=365, n_reps=200)
    # The hotspot list only ever sees the area it patrols: every run locks in on one area...
    assert result.locked_in.all()
    # ...and a sizeable share of runs lock in on the area with the LOWER true rate.
    wrong = result.forecast_share.argmax(axis=1) != 0
    assert 0.1 < wrong.mean() < 0.9
    assert result.tv_distance.mean() > 5 * simulate_feedback(
        RATES, discovered=0.0, days=365, n_reps=200
    ).tv_distance.mean()


def test_bias_grows_with_the_discovered_share() -> None:
    rows = sweep_discovery(RATES, [0.0, 0.5, 1.0], policy="top", days=200, n_reps=100)
    tv = [r["mean_tv_distance"] for r in rows]
    assert tv[0] < tv[1] < tv[2]


def test_history_and_validation() -> None:
    result = simulate_feedback(RATES, discovered=0.5, days=30, n_reps=4, track=True)
    assert result.history is not None and result.history.shape == (4, 30)
    assert ((result.history > 0) & (result.history < 1)).all()
    for bad in (
        {"rates": [1.0], "discovered": 0.0},
        {"rates": [1.0, -1.0], "discovered": 0.0},
        {"rates": RATES, "discovered": 1.5},
        {"rates": RATES, "discovered": 0.0, "k": 2},
        {"rates": RATES, "discovered": 0.0, "policy": "greedy"},
    ):
        with pytest.raises(InputError):
            simulate_feedback(**bad)  # type: ignore[arg-type]
