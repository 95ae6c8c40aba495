"""Fairness audit of patrolcast's own London forecast, with the shared LSOA population tables.

Ingests the MPS recorded-crime counts by LSOA (London Datastore) into a temporary store, fits
the naive forecaster (last three months of violence per LSOA) and predicts September 2025, then
audits the forecast against residents by age group (MHCLG IMD 2019 'Population figures',
mid-2015) and income deprivation (IMD 2019 income score, LSOA 2011; quintile 1 = most
income-deprived). Ethnicity is not audited per area: no per-LSOA ethnic-group table is
available offline (PROVENANCE.md), so only the London-wide composition could be quoted, which
cannot say who lives in the targeted areas.

    nice -n 10 .venv/bin/python scripts/fairness_audit_london.py
"""

from __future__ import annotations

import argparse
import json
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd


def main() -> None:
    from patrolcast.config import default_shared_data
    from patrolcast.evaluate.study import load_study
    from patrolcast.events import to_days
    from patrolcast.forecast.naive import NaiveForecaster
    from patrolcast.io import Store, ingest
    from patrolcast.io.deprivation import read_imd, read_imd_population
    from patrolcast.oversight.fairness_audit import audit_forecast

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--figure", type=Path,
                        default=Path("docs/img/fairness_audit_london.png"))
    parser.add_argument("--json-out", type=Path, default=None)
    args = parser.parse_args()
    shared = default_shared_data()
    with tempfile.TemporaryDirectory() as tmp:
        ingest(shared / "london_datastore_mps" / "recorded-crime-lsoa.csv.gz", store=tmp,
               dataset="lsoa", shared_data=shared)
        study = load_study(Store(tmp), "lsoa", level="lsoa", shared_data=shared)
    start = to_days(datetime(2025, 9, 1, tzinfo=UTC))
    end = to_days(datetime(2025, 10, 1, tzinfo=UTC))
    model = NaiveForecaster(lookback_days=92).fit(study.events, cutoff=start)
    forecast = model.predict(study.support, start, end)
    pred = pd.DataFrame({"lsoa_code": forecast.unit_ids, "expected": forecast.expected_count})
    xlsx = shared / "census_and_lookups" / "london_lsoa_deprivation.xlsx"
    pop = read_imd_population(xlsx)
    imd = read_imd(xlsx)[["lsoa_code", "income_score"]]
    frame = pred.merge(pop, on="lsoa_code").merge(imd, on="lsoa_code")
    frame["income_rank_value"] = -frame["income_score"]  # low value = most income-deprived
    audit = audit_forecast(
        frame, count="expected", area_id="lsoa_code",
        groups=["children_0_15", "aged_16_59", "aged_60_plus"], total="population_2015",
        income="income_rank_value", income_groups=5,
    )  # fmt: skip
    out = audit.as_dict()
    out["forecast"] = {"method": forecast.method, "params": forecast.params,
                       "window": "2025-09", "digest": forecast.digest()}
    out["joined_lsoas"] = int(len(frame))
    out["forecast_lsoas"] = int(len(pred))
    out["note"] = ("LSOA 2021 forecast joined to LSOA 2011 population and IMD by code; LSOAs "
                   "whose code changed in 2021 drop out. Income quintiles: Q1 = most "
                   "income-deprived fifth of LSOAs (IMD 2019 income score). No per-LSOA "
                   "ethnicity table is available offline.")
    out.pop("concentration", None)
    out["concentration"] = {k: v for k, v in audit.concentration.items()
                            if not k.startswith("lorenz")}
    text = json.dumps(out, indent=2)
    print(text)
    if args.json_out:
        args.json_out.write_text(text)
    if args.figure:
        _figure(audit, args.figure)


def _figure(audit, path: Path) -> None:  # type: ignore[no-untyped-def]
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, axes = plt.subplots(1, 3, figsize=(14, 4))
    for ax, table, title in ((axes[0], audit.groups, "age groups (IMD 2019 mid-2015)"),
                             (axes[1], audit.income, "income-deprivation quintiles")):
        x = np.arange(len(table.index))
        for k, (name, colour) in enumerate((("most", "tab:red"), ("median", "tab:grey"),
                                            ("least", "tab:blue"))):
            ax.bar(x + (k - 1) * 0.27, table[f"{name}_ratio"], width=0.27, color=colour,
                   label=f"{name}-targeted {audit.window_areas} LSOAs")
        ax.axhline(1, color="k", lw=0.8)
        labels = [str(i).replace("income ", "").replace("(lowest)", "(most deprived)")
                  .replace("(highest)", "(least deprived)") for i in table.index]
        ax.set_xticks(x, labels, fontsize=8)
        ax.set_ylabel("share / London share")
        ax.set_title(title, fontsize=9)
        ax.legend(fontsize=7)
    c = audit.concentration
    axes[2].plot(c["lorenz_x"], c["lorenz_y"], color="tab:red")
    axes[2].plot([0, 1], [0, 1], "k--", lw=0.8)
    axes[2].set_xlabel("share of LSOAs (least to most targeted)")
    axes[2].set_ylabel("share of forecast violence")
    axes[2].set_title(f"Lorenz curve: Gini {c['gini']:.2f}, top 5% of LSOAs hold "
                      f"{c['top_window_share']:.0%}", fontsize=9)
    fig.suptitle("Fairness audit of patrolcast's naive LSOA forecast of violence, London, "
                 "September 2025", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=100)


if __name__ == "__main__":
    main()
