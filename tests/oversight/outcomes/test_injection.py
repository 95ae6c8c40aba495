"""Injected effects on real events: the truth is known, the estimates must recover it."""

from __future__ import annotations

import numpy as np
import pytest
import shapely

from patrolcast.errors import InputError
from patrolcast.events import EventSet
from patrolcast.oversight.outcomes import DeploymentArea
from patrolcast.oversight.outcomes.injection import (
    Injection,
    SimulationSpec,
    inject_effect,
    run_injection_study,
    summarise_study,
)

CRS = "EPSG:27700"


def test_inject_effect_accounts_for_every_event() -> None:
    rng = np.random.default_rng(3)
    n = 400
    # 200 events inside the treated square during the window, 100 after it, 100 far away
    t = np.r_[rng.uniform(10, 20, 200), rng.uniform(20, 25, 100), rng.uniform(10, 20, 100)]
    x = np.r_[rng.uniform(0, 100, 300), rng.uniform(5000, 6000, 100)]
    y = rng.uniform(0, 100, n)
    ev = EventSet.from_arrays(t, x, y, crs=CRS)
    dep = DeploymentArea("d", shapely.box(0, 0, 100, 100), 10.0, 20.0, CRS, buffer_m=100)
    changed, truth = inject_effect(ev, dep, Injection(0.5, 0.2, 0.4), residual_days=7,
                                   rng=rng)
    assert truth.original_during == 200
    assert len(changed) == n - truth.removed_during - truth.removed_post + truth.displaced_during
    inside = shapely.contains_xy(dep.treated, changed.x, changed.y)
    in_window = (changed.t >= 10) & (changed.t < 20)
    assert int((inside & in_window).sum()) == 200 - truth.removed_during
    in_buffer = shapely.contains_xy(dep.buffer_area, changed.x, changed.y)
    assert int(in_buffer.sum()) == truth.displaced_during
    assert 70 <= truth.removed_during <= 130 and 5 <= truth.removed_post <= 40
    none, zero = inject_effect(ev, dep, Injection(0, 0, 0), residual_days=7, rng=rng)
    assert len(none) == n and zero.removed_during == 0
    with pytest.raises(InputError):
        Injection(reduction=1.5)



def test_small_injection_study_on_real_data(chicago_events: EventSet) -> None:
    spec = SimulationSpec(n_deployments=30, batch=10, seed=5)
    runs = run_injection_study(chicago_events, spec)
    s = summarise_study(runs, spec)
    assert s["n_deployments"] == 30
    # the interval for the effect covers the injected removal in (nearly) every run
    assert s["difference_coverage"] >= 0.85
    # the pooled ratio of sums is below one and its interval holds the injected 0.5
    est, lo, hi = s["pooled_ratio_of_sums"]
    assert hi < 1.0 and lo <= 0.5 <= hi
    assert s["placebo_false_positive_rate"] <= 0.15
    # the placebos' pooled ratio holds 1; the pooled difference holds the injected mean
    _, plo, phi = s["placebo_pooled_ratio_of_sums"]
    assert plo <= 1.0 <= phi
    d, dlo, dhi = s["pooled_difference"]
    assert dlo <= s["injected_mean_difference"] <= dhi


@pytest.mark.slow
def test_injection_study_200_deployments(chicago_events: EventSet) -> None:
    spec = SimulationSpec(n_deployments=200)
    s = summarise_study(run_injection_study(chicago_events, spec), spec)
    assert s["difference_coverage"] >= 0.93
    assert s["wdd_coverage"] >= 0.9
    assert s["placebo_false_positive_rate"] <= 0.05
    assert s["placebo_residual_false_positive_rate"] <= 0.06
    assert abs(s["difference_bias"]) < 3 * s["difference_bias_se"] + 0.1
    assert s["pooled_ratio_batch_coverage"] >= 0.8
    assert s["pooled_difference_batch_coverage"] >= 0.8
    assert s["placebo_pooled_ratio_batch_false_positive_rate"] <= 0.2


def test_crossover_trials_on_real_data_recover_the_injected_ratio(
    chicago_events: EventSet,
) -> None:
    from patrolcast.oversight.outcomes.injection import (
        TrialSimulation,
        run_trial_study,
        summarise_trials,
    )

    sim = TrialSimulation(n_places=20, n_days=90, n_permutations=200, seed=4)
    s = summarise_trials(run_trial_study(chicago_events, sim, n_trials=3), sim)
    assert s["trials"] == 3 and s["mean_events_per_trial"] > 20
    assert s["coverage"] >= 2 / 3  # the interval holds the injected 0.5
    assert s["median_rate_ratio"] < 0.8
    assert s["placebo_false_positive_rate"] <= 1 / 3
