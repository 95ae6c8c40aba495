"""Example deployment outcome and quarterly evaluation reports on real events.

Eight deployments on hot 500 m blocks of the shared Chicago aggravated assaults, each with a
known injected effect (half the block's events in the window removed, some displaced into the
buffer), one of them with a simulated GPS trace of three 12-18 minute visits an evening. Writes
the HTML and PDF reports to ``out/outcomes-demo/`` and the panel's figures to ``docs/img/``.

    nice -n 10 .venv/bin/python scripts/outcomes_report_demo.py
"""

from __future__ import annotations

import tempfile
from datetime import UTC, datetime
from pathlib import Path

import numpy as np


def main() -> None:
    from patrolcast.config import default_shared_data
    from patrolcast.geo.support import Grid
    from patrolcast.io import Store, ingest
    from patrolcast.oversight.outcomes import (
        Window,
        compute_dosage,
        evaluate_deployment,
        pool_outcomes,
    )
    from patrolcast.oversight.outcomes.injection import (
        SimulationSpec,
        inject_effect,
        simulated_deployments,
    )
    from patrolcast.oversight.outcomes.report import (
        plot_dosage_map,
        plot_observed_expected,
        write_deployment_report,
        write_quarterly_report,
    )

    shared = default_shared_data()
    with tempfile.TemporaryDirectory() as tmp:
        ingest(shared / "incidents_timestamped" / "chicago_aggravated_assaults.csv.gz",
               store=tmp, dataset="chicago", mapping="chicago")
        events = Store(tmp).events("chicago")
    spec = SimulationSpec(n_deployments=8, seed=2016)
    deployments, pool = simulated_deployments(events, spec)
    rng = np.random.default_rng(1)
    outcomes = []
    for dep in deployments:
        changed, _ = inject_effect(events, dep, spec.injection, residual_days=7, rng=rng)
        outcomes.append(evaluate_deployment(changed, dep, pool))
    dep = deployments[0]
    trace = _patrol_trace(dep, rng)
    grid = Grid.clipped_to(dep.treated, cell_size=50.0, crs=dep.crs)
    dosage = compute_dosage(trace, dep.treated, Window(dep.start, dep.end), grid)
    out = Path("out/outcomes-demo")
    now = datetime.now(UTC)
    for path in write_deployment_report(outcomes[0], out / "deployment.html", generated_at=now,
                                        dosage=dosage, grid=grid, area=dep.treated, pdf=True):
        print(path)
    for path in write_quarterly_report(outcomes, out / "quarterly.html", quarter="simulated",
                                       generated_at=now, pooled=pool_outcomes(outcomes),
                                       pdf=True):
        print(path)
    img = Path("docs/img")
    plot_observed_expected(outcomes).savefig(img / "outcomes_observed_expected.png", dpi=100,
                                             bbox_inches="tight")
    plot_dosage_map(dosage, grid, dep.treated).savefig(img / "outcomes_dosage_map.png", dpi=100,
                                                       bbox_inches="tight")
    print(dosage.as_dict()["dwell_bands"], round(dosage.delivered_unit_hours, 1))


def _patrol_trace(dep, rng):  # type: ignore[no-untyped-def]
    """One unit, three visits an evening (19:00, 21:00, 23:00 local-ish UTC offsets ignored),
    each 12-18 minutes walking inside the block, fixes every 30 s; away between visits."""
    from patrolcast.oversight.outcomes import Trace

    xmin, ymin, xmax, ymax = dep.treated.bounds
    t, x, y = [], [], []
    for day in range(int(dep.end - dep.start)):
        for hour in (19, 21, 23):
            start = dep.start + day + hour / 24
            minutes = rng.uniform(12, 18)
            n = int(minutes * 2) + 1
            px = np.clip(np.cumsum(rng.normal(0, 25, n)) + rng.uniform(xmin + 100, xmax - 100),
                         xmin + 1, xmax - 1)
            py = np.clip(np.cumsum(rng.normal(0, 25, n)) + rng.uniform(ymin + 100, ymax - 100),
                         ymin + 1, ymax - 1)
            t += list(start + np.arange(n) / 2880)
            x += list(px)
            y += list(py)
            t.append(start + n / 2880)  # the unit leaves: one fix well outside the block
            x.append(xmax + 2000)
            y.append(ymax + 2000)
    return Trace(("unit-demo",) * len(t), np.array(t), np.array(x), np.array(y), dep.crs)


if __name__ == "__main__":
    main()
