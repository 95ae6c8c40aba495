"""The main job on the embedded default: real data in, forecasts and honest backtests out.

:func:`run_demo` ingests a default set of real public datasets from the shared data folder
(skipping any already in the store), makes forecasts with their GIS, CSV and PNG outputs,
runs the rolling-origin backtests of every method on the same origins, and writes the reports
and a summary. Sizes are chosen to finish in a few minutes on two cores; ``origins`` and the
choice of datasets scale it up.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError
from patrolcast.evaluate.jobs import (
    BacktestOutcome,
    BacktestSpec,
    ForecastOutcome,
    ForecastSpec,
    backtest_job,
    forecast_job,
)
from patrolcast.evaluate.study import load_study

__all__ = [
    "DEMO_DATASETS",
    "SAMPLE_DATASET",
    "DemoDataset",
    "DemoOutcome",
    "needs_sample",
    "run_demo",
]


@dataclass(frozen=True)
class DemoDataset:
    """One dataset of the demo: where it is, how it is ingested, how it is backtested."""

    name: str
    path: str  # relative to the shared data folder
    mapping: str | None
    level: str
    horizon: str
    forecast_method: str
    title: str
    cell_size: float = 250.0
    end: str | None = None  # end of the last scoring window (before a gap in the data)
    max_origins: int | None = None  # a short series allows fewer rolling origins
    sample: bool = False  # fetched when the shared data is absent: boundaries may be missing


DEMO_DATASETS: tuple[DemoDataset, ...] = (
    DemoDataset(
        name="london-lsoa",
        path="london_datastore_mps/recorded-crime-lsoa.csv.gz",
        mapping=None,
        level="lsoa",
        horizon="1M",
        forecast_method="naive",
        title="London, MPS violence against the person by LSOA, monthly",
    ),
    DemoDataset(
        name="chicago-assaults",
        path="incidents_timestamped/chicago_aggravated_assaults.csv.gz",
        mapping="chicago",
        level="grid",
        horizon="7d",
        forecast_method="kde",
        title="Chicago aggravated assaults, 250 m grid, weekly",
    ),
    DemoDataset(
        name="nypd-shootings",
        path="incidents_timestamped/nypd_shootings",
        mapping="nypd",
        level="grid",
        horizon="1M",
        forecast_method="kde",
        title="New York, NYPD shooting incidents, 250 m grid, monthly",
        # The shared files cover 2006-01 to 2020-09 without a break, then miss 2020-10 to
        # 2020-12 (see PROVENANCE.md): score only the continuous part.
        end="2020-10-01",
    ),
)


# What the demo runs on when the shared data folder is absent: the City of London's street
# crimes of the last 12 published months, fetched from the data.police.uk API into the data
# home (patrolcast.io.sample). A year of monthly data leaves room for 4 rolling origins.
SAMPLE_FOLDER = "police_uk/city_of_london_street_sample"
SAMPLE_DATASET = DemoDataset(
    name="city-of-london-sample",
    path=SAMPLE_FOLDER,
    mapping=None,
    level="grid",
    horizon="1M",
    forecast_method="naive",
    title="City of London violence (data.police.uk API sample, last 12 months), 250 m grid, "
    "monthly",
    max_origins=4,
    sample=True,
)


def needs_sample(shared_data: Path, datasets: tuple[DemoDataset, ...] = DEMO_DATASETS) -> bool:
    """True when none of the demo's inputs is in ``shared_data`` (absent or empty)."""
    return not any((shared_data / ds.path).exists() for ds in datasets)


@dataclass
class DemoOutcome:
    out_dir: Path
    ingested: list[dict[str, Any]]
    forecasts: list[ForecastOutcome]
    backtests: list[BacktestOutcome]
    summary_path: Path
    notes: list[str] = dataclasses.field(default_factory=list)  # what was said while running

    def to_json(self) -> dict[str, Any]:
        return {
            "out_dir": str(self.out_dir),
            "ingested": self.ingested,
            "forecasts": [f.to_json() for f in self.forecasts],
            "backtests": {
                b.spec.dataset: {
                    **{k: v for k, v in b.summary_json().items() if k in ("methods", "files")},
                    "origins": b.result.meta["origins"],
                    "horizon": b.result.meta["horizon"],
                    "level": b.result.meta["level"],
                }
                for b in self.backtests
            },
            "summary": str(self.summary_path),
            "notes": self.notes,
        }


Notify = Callable[[str], None]


def _ingest_missing(
    store: Any, shared: Path, datasets: tuple[DemoDataset, ...], progress: Any, notify: Notify
) -> list[dict[str, Any]]:
    """Ingest every demo input; files already in the store (same SHA-256) are skipped.

    Ingestion is idempotent, so a second run costs only a digest per file, and a run that
    was interrupted half-way is completed rather than taken as done.
    """
    from patrolcast.io import ingest

    done = []
    for ds in datasets:
        path = shared / ds.path
        if not path.exists():
            raise InputError(f"demo input {path} is missing (set PATROLCAST_SHARED_DATA)")
        summary = ingest(path, store=store, mapping=ds.mapping, dataset=ds.name,
                         shared_data=shared, progress=progress)
        skipped = not any(f.status == "ingested" for f in summary.files)
        if skipped:
            notify(f"{ds.name}: already in the store, ingest skipped")
        else:
            notify(
                f"{ds.name}: {summary.rows_in:,} rows in, {summary.stored:,} stored, "
                f"{summary.quarantined:,} quarantined"
            )
        done.append({"dataset": ds.name, "skipped": skipped, "rows_in": summary.rows_in,
                     "stored": summary.stored, "quarantined": summary.quarantined})
    return done


def applicable_methods(methods: str, time_precision: str) -> tuple[str, list[str]]:
    """The methods of a comma-separated list that can learn from data of this precision.

    Returns the methods kept (comma-separated) and the ones left out: on month records a
    self-exciting model has no event times to learn from, so the demo leaves it out with a note
    instead of stopping.
    """
    from patrolcast.forecast.registry import make_forecaster

    names = [m.strip() for m in methods.split(",") if m.strip()]
    if time_precision != "month":
        return ",".join(names), []
    kept = [m for m in names if make_forecaster(m).accepts_month_records]
    return ",".join(kept), [m for m in names if m not in kept]


def run_demo(
    *,
    out_dir: Path,
    store: Any,
    shared_data: Path,
    origins: int = 12,
    executor: str = "local",
    workers: int | None = None,
    n_boot: int = 2000,
    methods: str = "naive,kde,prospective",
    datasets: tuple[DemoDataset, ...] = DEMO_DATASETS,
    ingest_progress: Any = None,
    on_backtest: Callable[[DemoDataset, int], Callable[[int], None]] | None = None,
    notify: Notify = lambda message: None,
    boundary: Path | None = None,
    layer: str | None = None,
    where: str | None = None,
) -> DemoOutcome:
    """Ingest (if needed), forecast, backtest and report; returns what was written.

    Study areas are each dataset's default (city limits, force area, the LSOAs); ``boundary``
    (with ``layer``, ``where``) replaces it and needs a single dataset.
    """
    if boundary is not None and len(datasets) != 1:
        raise InputError("--boundary applies to one dataset: add --only <dataset>")
    if not shared_data.is_dir():
        raise InputError(
            f"shared data folder {shared_data} not found (set PATROLCAST_SHARED_DATA)"
        )
    notes: list[str] = []
    told = notify

    def tell(message: str) -> None:  # kept for the JSON result too
        notes.append(message)
        told(message)

    out_dir.mkdir(parents=True, exist_ok=True)
    ingested = _ingest_missing(store, shared_data, datasets, ingest_progress, tell)
    forecasts: list[ForecastOutcome] = []
    backtests: list[BacktestOutcome] = []
    for ds in datasets:
        study = _study(store, ds, shared_data, boundary, layer, where, tell)
        tell(f"{ds.name}: study area {study.study_area_json()['source']}")
        fspec = ForecastSpec.from_options(dataset=ds.name, method=ds.forecast_method,
                                          start=None, horizon=ds.horizon, level=ds.level,
                                          cell_size=ds.cell_size)
        forecasts.append(forecast_job(fspec, out_dir=out_dir / "forecasts", study=study,
                                      store=store))  # the store names the data source
        tell(f"{ds.name}: forecast written to {out_dir / 'forecasts'}")
        usable, skipped = applicable_methods(methods, study.events.time_precision)
        if skipped:
            tell(f"{ds.name}: {', '.join(skipped)} left out (month records have no event times)")
        if not usable:
            continue
        bspec = BacktestSpec.from_options(
            dataset=ds.name, level=ds.level, horizon=ds.horizon,
            origins=min(origins, ds.max_origins or origins),
            methods=usable, cell_size=ds.cell_size, executor=executor, workers=workers,
            n_boot=n_boot, title=ds.title, end=ds.end,
        )
        # a short nested selection keeps the demo within a few minutes on two cores
        bspec = dataclasses.replace(bspec, select_origins=3)
        advance = on_backtest(ds, bspec.origins) if on_backtest else None
        backtests.append(
            backtest_job(bspec, out_dir=out_dir / "backtests", study=study,
                         on_origin_done=advance)
        )
    summary_path = _write_summary(out_dir, backtests, forecasts)
    outcome = DemoOutcome(out_dir, ingested, forecasts, backtests, summary_path, notes)
    (out_dir / "demo.json").write_text(
        json.dumps(outcome.to_json(), indent=1, default=str) + "\n", encoding="utf-8"
    )
    return outcome


def _study(
    store: Any, ds: DemoDataset, shared: Path, boundary: Path | None, layer: str | None,
    where: str | None, notify: Notify,
) -> Any:  # fmt: skip
    """The dataset's study; a fetched sample without the force boundary (no shared data) takes
    the data's extent instead, and says why."""
    from patrolcast.evaluate.study import FORCE_AREAS

    hull = ds.sample and boundary is None and not (shared / FORCE_AREAS).exists()
    if hull:
        notify(
            f"{ds.name}: the police force area boundaries ({FORCE_AREAS}) are not here (no "
            "shared data), so the study area is the data's extent (convex hull of the events); "
            "maps have no boundaries or LSOAs"
        )
    return load_study(store, ds.name, level=ds.level, cell_size=ds.cell_size,
                      shared_data=shared, boundary=boundary, layer=layer, where=where,
                      study_area="hull" if hull else "default")


def headline(b: BacktestOutcome, fraction: float = 0.05) -> str:
    """One line: each method's hit rate at ``fraction`` of the area, best first."""
    sel = b.summary[b.summary["fraction"].round(6) == round(fraction, 6)]
    sel = sel.sort_values("hit_rate", ascending=False)
    parts = [
        f"{r['method']} {100 * r['hit_rate']:.1f}% "
        f"({100 * r['hit_rate_lo']:.1f}-{100 * r['hit_rate_hi']:.1f}), PAI {r['pai']:.1f}"
        for _, r in sel.iterrows()
    ]
    return f"{b.title}: at {100 * fraction:g}% of area: " + "; ".join(parts)


def _history(used: dict[str, float]) -> str:
    return ", ".join(
        f"{m} {'all' if v is None or v == float('inf') else f'{v:g} d'}" for m, v in used.items()
    )


def _write_summary(
    out_dir: Path, backtests: list[BacktestOutcome], forecasts: list[ForecastOutcome]
) -> Path:
    from patrolcast.evaluate.report import markdown_table, recommendations

    lines = ["# patrolcast demo: forecasts and backtests on real data", ""]
    for b in backtests:
        meta = b.result.meta
        area = meta.get("study_area", {})
        rec = recommendations(b.result, n_boot=b.spec.n_boot, seed=b.spec.seed)
        verdicts = ", ".join(
            f"{m} {'recommended' if r['recommended'] else 'not recommended'} "
            f"({100 * r['diff']:+.1f} points, 95% CI {100 * r['diff_lo']:+.1f} to "
            f"{100 * r['diff_hi']:+.1f})"
            for m, r in rec["methods"].items()
        )
        lines += [
            f"## {b.title}",
            "",
            f"Study area: {area.get('source', '?')} ({float(area.get('km2', 0)):,.1f} km2). "
            f"Protocol: {meta.get('protocol_note', meta.get('protocol', ''))}. Against the best "
            f"baseline ({rec['best_baseline']}) at 5% of the area: {verdicts or 'n/a'}.",
            "",
            f"{meta['n_origins']} origins {meta['origins'][0]} to {meta['origins'][-1]}, "
            f"horizon {meta['horizon']}, history: each method's own "
            f"({_history(meta.get('history_used_days', {}))}), "
            f"{meta['n_units']:,} units, {meta['n_events_scored']:,.0f} events scored. "
            f"Plot: `{b.paths['png'].name}`."
            + (
                f" **{meta['empty_windows']} origins had no events in their window (a gap in "
                "the data?) and are left out of the means.**"
                if meta.get("empty_windows")
                else ""
            ),
            "",
            markdown_table(b.summary),
            "",
        ]
    lines += ["## Forecasts", ""]
    for f in forecasts:
        info = f.to_json()
        lines.append(
            f"- {info['dataset']} ({info['method']}), {info['start'][:10]} to {info['end'][:10]}: "
            + ", ".join(f"`{Path(p).name}`" for p in info["files"].values())
        )
    path = out_dir / "summary.md"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path
