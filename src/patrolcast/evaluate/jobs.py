"""The forecast and backtest jobs behind the CLI: read a study, run, write the outputs.

These are the services the ``forecast``, ``backtest`` and ``demo`` commands call; the commands
only parse options and print. Options are validated here and refused with
:class:`~patrolcast.errors.InputError` (one clear line on the command line).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pandas as pd

from patrolcast.errors import InputError
from patrolcast.evaluate.backtest import BacktestResult, run_backtest
from patrolcast.evaluate.bootstrap import summarise
from patrolcast.evaluate.executors import make_executor
from patrolcast.evaluate.metrics import DEFAULT_FRACTIONS
from patrolcast.evaluate.report import summary_json, write_report
from patrolcast.evaluate.splitters import Period, RollingOrigin, parse_period
from patrolcast.evaluate.study import VIOLENCE_GROUPS, Study, load_study
from patrolcast.events import from_days, to_days

__all__ = [
    "BacktestSpec",
    "BacktestOutcome",
    "backtest_job",
    "ForecastSpec",
    "ForecastOutcome",
    "forecast_job",
    "open_store",
    "study_for",
    "default_lookback",
]


def open_store(home: Path | None = None) -> Any:
    """The analytical store of the settings' data home (``--home`` overrides)."""
    from patrolcast.config import load_settings
    from patrolcast.io.store import Store

    settings = load_settings(home=home)
    return Store(settings.store_dir)


def default_lookback(horizon: Period) -> Period:
    """Training window long enough for every method's own lookback: 26 weeks, or 6 months."""
    return Period(6, "M") if horizon.unit == "M" else Period(182, "d")


def _split_list(text: str | None) -> tuple[str, ...] | None:
    if text is None:
        return None
    items = tuple(p.strip() for p in text.split(",") if p.strip())
    return items or None


def _methods(text: str) -> tuple[str, ...]:
    from patrolcast.forecast.registry import FORECASTERS

    names = _split_list(text) or ()
    if not names:
        raise InputError("give at least one method, e.g. --methods naive,kde,prospective")
    unknown = [n for n in names if n not in FORECASTERS]
    if unknown:
        raise InputError(
            f"unknown method(s) {', '.join(unknown)}: choose from {', '.join(sorted(FORECASTERS))}"
        )
    if len(set(names)) != len(names):
        raise InputError("a method is listed twice in --methods")
    return names


@dataclass(frozen=True)
class BacktestSpec:
    """What to backtest (validated)."""

    dataset: str
    level: str
    horizon: Period
    origins: int
    methods: tuple[str, ...]
    lookback: Period
    cell_size: float = 250.0
    groups: tuple[str, ...] | None = VIOLENCE_GROUPS
    target: str = "count"
    executor: str = "local"
    workers: int | None = None
    n_boot: int = 2000
    seed: int = 20080101
    fractions: tuple[float, ...] = DEFAULT_FRACTIONS
    boundary: Path | None = None
    title: str = ""
    end: float | None = None  # the last scoring window ends here (default: the data's end)

    @classmethod
    def from_options(
        cls,
        *,
        dataset: str,
        level: str = "grid",
        horizon: str = "7d",
        origins: int = 12,
        methods: str = "naive,kde,prospective",
        lookback: str | None = None,
        cell_size: float = 250.0,
        groups: str | None = None,
        target: str = "count",
        executor: str = "local",
        workers: int | None = None,
        n_boot: int = 2000,
        seed: int = 20080101,
        boundary: Path | None = None,
        title: str = "",
        end: str | None = None,
    ) -> BacktestSpec:
        h = parse_period(horizon, what="horizon")
        end_days = _parse_start(end, option="--end") if end else None
        if end_days is not None and h.unit == "M" and from_days(end_days).day != 1:
            raise InputError("with a month horizon, --end must be the first day of a month")
        if origins < 1:
            raise InputError("--origins must be at least 1")
        if not (cell_size > 0 and math.isfinite(cell_size)):
            raise InputError("--cell-size must be a positive number of metres")
        if target not in ("count", "harm"):
            raise InputError(f"--target must be count or harm, not {target!r}")
        make_executor(executor)  # validates the name
        return cls(
            dataset=dataset,
            level=level,
            horizon=h,
            origins=origins,
            methods=_methods(methods),
            lookback=parse_period(lookback, what="lookback") if lookback else default_lookback(h),
            cell_size=float(cell_size),
            groups=_split_list(groups) or VIOLENCE_GROUPS,
            target=target,
            executor=executor,
            workers=workers,
            n_boot=n_boot,
            seed=seed,
            boundary=boundary,
            title=title,
            end=end_days,
        )

    @property
    def name(self) -> str:
        return f"backtest_{_slug(self.dataset)}_{self.level}_{self.horizon}"


def _slug(text: str) -> str:
    return "".join(c if c.isalnum() or c in "-_" else "_" for c in text)


@dataclass
class BacktestOutcome:
    result: BacktestResult
    summary: pd.DataFrame
    paths: dict[str, Path]
    title: str
    spec: BacktestSpec

    def summary_json(self) -> dict[str, Any]:
        payload = summary_json(self.result, n_boot=self.spec.n_boot, seed=self.spec.seed)
        payload["files"] = {k: str(v) for k, v in self.paths.items()}
        return payload


def study_for(
    spec: BacktestSpec | ForecastSpec, *, home: Path | None = None, store: Any = None
) -> Study:
    """Load the events and support a backtest or forecast spec asks for."""
    return load_study(
        store if store is not None else open_store(home),
        spec.dataset,
        level=spec.level,
        cell_size=spec.cell_size,
        groups=spec.groups,
        boundary=spec.boundary,
    )


def backtest_job(
    spec: BacktestSpec,
    *,
    out_dir: Path,
    home: Path | None = None,
    store: Any = None,
    study: Study | None = None,
    on_origin_done: Callable[[int], None] | None = None,
) -> BacktestOutcome:
    """Run the backtest of ``spec`` and write its report (JSON, markdown, PNG) to ``out_dir``."""
    from patrolcast.forecast.registry import make_forecaster

    if study is None:
        study = study_for(spec, home=home, store=store)
    methods = {m: make_forecaster(m, horizon_days=spec.horizon.approx_days) for m in spec.methods}
    splitter = RollingOrigin(
        horizon=spec.horizon, n_origins=spec.origins, lookback=spec.lookback, last_end=spec.end
    )
    title = spec.title or (
        f"{spec.dataset}: {', '.join(spec.groups or ('all',))}, {spec.level}"
        + (f" {spec.cell_size:g} m" if spec.level == "grid" else "")
        + f", horizon {spec.horizon}"
    )
    result = run_backtest(
        study.events,
        study.support,
        methods,
        splitter,
        fractions=spec.fractions,
        target=spec.target,
        executor=make_executor(spec.executor, spec.workers),
        on_origin_done=on_origin_done,
        meta={
            "title": title,
            "dataset": spec.dataset,
            "level": spec.level,
            "cell_size": spec.cell_size if spec.level == "grid" else None,
            "groups": list(spec.groups or ()),
            "executor": spec.executor,
            "support_notes": list(study.notes),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
        },
    )
    paths = write_report(result, out_dir, name=spec.name, title=title, n_boot=spec.n_boot,
                         seed=spec.seed)
    summary = summarise(result, n_boot=spec.n_boot, seed=spec.seed)
    return BacktestOutcome(result, summary, paths, title, spec)


# -- forecast ------------------------------------------------------------------------------


@dataclass(frozen=True)
class ForecastSpec:
    dataset: str
    method: str
    start: float  # days since epoch, UTC
    horizon: Period
    cell_size: float = 250.0
    level: str = "grid"
    groups: tuple[str, ...] | None = VIOLENCE_GROUPS
    boundary: Path | None = None

    @classmethod
    def from_options(
        cls,
        *,
        dataset: str,
        method: str,
        start: str | None,
        horizon: str,
        cell_size: float = 250.0,
        level: str = "grid",
        groups: str | None = None,
        boundary: Path | None = None,
    ) -> ForecastSpec:
        if "," in method:
            raise InputError("--method takes one method (backtest compares several)")
        (name,) = _methods(method)
        if not (cell_size > 0 and math.isfinite(cell_size)):
            raise InputError("--cell-size must be a positive number of metres")
        return cls(
            dataset=dataset,
            method=name,
            start=_parse_start(start) if start else math.nan,
            horizon=parse_period(horizon, what="horizon"),
            cell_size=float(cell_size),
            level=level,
            groups=_split_list(groups) or VIOLENCE_GROUPS,
            boundary=boundary,
        )


def _parse_start(text: str, *, option: str = "--start") -> float:
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        raise InputError(
            f"{option} {text!r} is not a date like 2017-12-04 or 2017-12-04T18:00"
        ) from None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    return to_days(when)


@dataclass
class ForecastOutcome:
    spec: ForecastSpec
    start: float
    end: float
    n_units: int
    n_history: float
    expected_total: float
    top: list[dict[str, Any]]
    paths: dict[str, Path] = field(default_factory=dict)
    snapshot: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.spec.dataset,
            "method": self.spec.method,
            "level": self.spec.level,
            "cell_size": self.spec.cell_size if self.spec.level == "grid" else None,
            "start": from_days(self.start).isoformat(),
            "end": from_days(self.end).isoformat(),
            "n_units": self.n_units,
            "events_in_history": self.n_history,
            "expected_total": self.expected_total,
            "top_units": self.top,
            "files": {k: str(v) for k, v in self.paths.items()},
            "snapshot": self.snapshot,
        }


def forecast_job(
    spec: ForecastSpec,
    *,
    out_dir: Path,
    home: Path | None = None,
    store: Any = None,
    study: Study | None = None,
    top: int = 10,
) -> ForecastOutcome:
    """Fit on everything before the start, predict ``[start, start + horizon)``, write files.

    Without a start, the forecast starts where the data ends (the next period).
    """
    from patrolcast.evaluate.metrics import flag_area
    from patrolcast.evaluate.splitters import data_end
    from patrolcast.forecast.registry import make_forecaster
    from patrolcast.io.writers import (
        unit_ranks,
        write_forecast_csv,
        write_forecast_geojson,
        write_forecast_gpkg,
        write_forecast_map,
    )

    if study is None:
        study = study_for(spec, home=home, store=store)
    events = study.events
    start = spec.start
    if math.isnan(start):
        start = data_end(float(events.t.max()), events.time_precision)
    if spec.horizon.unit == "M" and from_days(start).day != 1:
        raise InputError("a month horizon needs --start on the first day of a month")
    end = spec.horizon.add(start)
    history = events.before(start)
    if len(history) == 0:
        raise InputError(
            f"no {spec.dataset} events before {from_days(start).date()}: nothing to learn from"
        )
    model = make_forecaster(spec.method, horizon_days=end - start).fit(events, cutoff=start)
    forecast = model.predict(study.support, start, end)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = f"forecast_{_slug(spec.dataset)}_{spec.method}_{from_days(start).date()}"
    title = (
        f"{spec.dataset}, {spec.method}: expected harm {from_days(start).date()} to "
        f"{from_days(end).date()}\n(cyan: the top 5% of the area)"
    )
    paths = {
        "gpkg": write_forecast_gpkg(forecast, study.support, out_dir / f"{stem}.gpkg"),
        "geojson": write_forecast_geojson(forecast, study.support, out_dir / f"{stem}.geojson"),
        "csv": write_forecast_csv(forecast, study.support, out_dir / f"{stem}.csv",
                                  areas=study.areas),
        "png": write_forecast_map(
            forecast, study.support, out_dir / f"{stem}.png", boundaries=study.boundaries,
            title=title, outline=flag_area(forecast.expected_harm, study.support.unit_area, 0.05),
        ),
    }
    # The snapshot a proposal can rely on (``patrolcast snapshot record --from-file``).
    snapshot = {
        "method": forecast.method,
        "params": {**forecast.params, "dataset": spec.dataset, "level": spec.level,
                   "cell_size": spec.cell_size, "groups": list(spec.groups or ())},
        "created_at": datetime.now(UTC).isoformat(),
        "window_start": from_days(start).isoformat(),
        "window_end": from_days(end).isoformat(),
        "digest": forecast.digest(),
        "uri": str(paths["gpkg"].resolve()),
    }
    snapshot_path = out_dir / f"{stem}.snapshot.json"
    snapshot_path.write_text(json.dumps(snapshot, indent=1, default=str), encoding="utf-8")
    paths["snapshot"] = snapshot_path
    ranks = unit_ranks(forecast.expected_harm)
    order = sorted(range(len(ranks)), key=lambda i: int(ranks[i]))[:top]
    ids = study.support.unit_ids
    centres = study.support.centroids
    return ForecastOutcome(
        spec=spec,
        start=start,
        end=end,
        n_units=study.support.n_units,
        n_history=float(history.count.sum()),
        expected_total=float(forecast.expected_count.sum()),
        top=[
            {
                "rank": int(ranks[i]),
                "unit_id": ids[i],
                "easting": float(centres[i, 0]),
                "northing": float(centres[i, 1]),
                "expected_count": float(forecast.expected_count[i]),
                "expected_harm": float(forecast.expected_harm[i]),
            }
            for i in order
        ],
        paths=paths,
        snapshot=snapshot,
    )
