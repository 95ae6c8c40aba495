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


def default_lookback(horizon: Period) -> Period | None:
    """No common training window: each method takes the history it asks for (its own
    ``lookback_days`` / ``history_days``), and the report says what each used."""
    return None


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
    lookback: Period | None
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
    step: Period | None = None
    protocol: str = "mask"
    layer: str | None = None
    where: str | None = None
    study_area: str = "default"
    select: bool = True
    end_text: str | None = None  # --end as given (a local date, resolved in the data's zone)
    select_origins: int = 6  # validation origins of the nested selection

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
        step: str | None = None,
        protocol: str = "mask",
        layer: str | None = None,
        where: str | None = None,
        study_area: str = "default",
        select: bool = True,
    ) -> BacktestSpec:
        h = parse_period(horizon, what="horizon")
        end_days = _parse_start(end, option="--end") if end else None
        if end_days is not None and h.unit == "M" and from_days(end_days).day != 1:
            raise InputError("with a month horizon, --end must be the first day of a month")
        if protocol not in ("mask", "area"):
            raise InputError(f"--protocol must be mask or area, not {protocol!r}")
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
            step=parse_period(step, what="step") if step else None,
            protocol=protocol,
            layer=layer,
            where=where,
            study_area=study_area,
            select=select,
            end_text=end,
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
        layer=spec.layer,
        where=spec.where,
        study_area=spec.study_area,
    )


def with_baselines(methods: tuple[str, ...]) -> tuple[str, ...]:
    """The methods asked for, plus the baselines every backtest reports (naive-365, naive-all)."""
    from patrolcast.forecast.registry import BASELINES

    return tuple(dict.fromkeys([*methods, *BASELINES]))


def month_data_day(text: str, *, option: str = "--start") -> float:
    """A time typed for month-precision data (data.police.uk, London Datastore: calendar months
    in the UK), in days: read by the one time rule (without an offset, Europe/London), then
    its calendar day there, at 00:00 UTC, the instant the store stamps month records with. So
    ``2024-06-01`` and ``2024-06-01T00:30+01:00`` both mean June's first day (read as UTC, the
    second was 31 May)."""
    from zoneinfo import ZoneInfo

    from patrolcast.local_time import LONDON, parse_time

    try:
        local = parse_time(text, zone=LONDON).astimezone(ZoneInfo(LONDON))
    except InputError as exc:
        raise InputError(f"{option}: {exc}") from None
    return to_days(datetime(local.year, local.month, local.day, tzinfo=UTC))


def _local_end(spec: BacktestSpec, timezone: str | None, *, month: bool = False) -> float | None:
    """``--end`` as a local midnight in the data's zone (month data: :func:`month_data_day`)."""
    if month and spec.end_text is not None:
        return month_data_day(spec.end_text, option="--end")
    if spec.end_text is None or timezone in (None, "UTC"):
        return spec.end
    from zoneinfo import ZoneInfo

    when = datetime.fromisoformat(spec.end_text)
    if when.tzinfo is None:
        when = when.replace(tzinfo=ZoneInfo(timezone))
    return to_days(when)


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
    from patrolcast.evaluate.selection import select_params, selectable
    from patrolcast.evaluate.splitters import local_data_end
    from patrolcast.forecast.registry import make_forecaster

    if study is None:
        study = study_for(spec, home=home, store=store)
    events = study.events
    tz = None if events.time_precision == "month" else study.timezone
    splitter = RollingOrigin(
        horizon=spec.horizon, n_origins=spec.origins, lookback=spec.lookback,
        last_end=_local_end(spec, tz, month=events.time_precision == "month"), step=spec.step,
        timezone=tz,
    )
    end = local_data_end(float(events.t.max()), events.time_precision, tz)
    folds = splitter.folds(float(events.t.min()), end)
    chosen: dict[str, dict[str, Any]] = {}
    selections: dict[str, Any] = {}
    names = with_baselines(spec.methods)
    for name in names:
        if not (spec.select and selectable(name)):
            continue
        try:
            sel = select_params(
                events, study.support, name, horizon=spec.horizon, before=folds[0].origin,
                n_origins=spec.select_origins, step=spec.step, protocol=spec.protocol,
                timezone=tz,
            )
        except InputError as exc:  # too little history before the evaluation
            selections[name] = {"chosen": None, "note": f"defaults kept: {exc}"}
            continue
        chosen[name] = sel.chosen
        selections[name] = sel.to_json()
    methods = {
        m: make_forecaster(m, horizon_days=spec.horizon.approx_days, **chosen.get(m, {}))
        for m in names
    }
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
        protocol=spec.protocol,
        timezone=tz,
        meta={
            "study_area": study.study_area_json(),
            "warnings": list(study.warnings),
            "selection": selections,
            "baselines": [m for m in names if m not in spec.methods],
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
    layer: str | None = None
    where: str | None = None
    study_area: str = "default"
    target: str = "count"
    select: bool = False
    start_text: str | None = None  # --start as given (a local time when it has no zone)
    bandwidth: float | None = None  # metres; None: the method's own default
    lookback: Period | None = None  # None: the method's own history
    pack: bool = True  # the one-page PDF briefing pack beside the map

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
        layer: str | None = None,
        where: str | None = None,
        study_area: str = "default",
        target: str = "count",
        select: bool = False,
        bandwidth: float | None = None,
        lookback: str | None = None,
        pack: bool = True,
    ) -> ForecastSpec:
        if target not in ("count", "harm"):
            raise InputError(f"--target must be count or harm, not {target!r}")
        if "," in method:
            raise InputError("--method takes one method (backtest compares several)")
        (name,) = _methods(method)
        if not (cell_size > 0 and math.isfinite(cell_size)):
            raise InputError("--cell-size must be a positive number of metres")
        period = parse_period(lookback, what="--lookback") if lookback else None
        user = user_params(name, bandwidth=bandwidth, lookback=period)
        if select and user:
            raise InputError(
                f"--select chooses {name}'s parameters by validation: leave out "
                f"{' and '.join(_OPTION[k] for k in user)}, or drop --select"
            )
        return cls(
            dataset=dataset,
            method=name,
            start=_parse_start(start) if start else math.nan,
            horizon=parse_period(horizon, what="horizon"),
            cell_size=float(cell_size),
            level=level,
            groups=_split_list(groups) or VIOLENCE_GROUPS,
            boundary=boundary,
            layer=layer,
            where=where,
            study_area=study_area,
            target=target,
            select=select,
            start_text=start,
            bandwidth=None if bandwidth is None else float(bandwidth),
            lookback=period,
            pack=pack,
        )

    def params(self) -> dict[str, Any]:
        """The method's hyperparameters the user set (``--bandwidth``, ``--lookback``)."""
        return user_params(self.method, bandwidth=self.bandwidth, lookback=self.lookback)


_OPTION = {"bandwidth": "--bandwidth", "lookback_days": "--lookback",
           "history_days": "--lookback"}
MAX_BANDWIDTH_M = 50_000.0


def user_params(
    method: str, *, bandwidth: float | None, lookback: Period | None
) -> dict[str, Any]:
    """``--bandwidth`` (metres) and ``--lookback`` (a period) as ``method``'s own parameters
    (``bandwidth``; ``lookback_days`` or ETAS's ``history_days``), checked; ``{}`` when
    neither is set, so that each method keeps its own defaults."""
    from patrolcast.forecast.registry import make_forecaster

    if bandwidth is None and lookback is None:
        return {}
    own = make_forecaster(method).get_params()
    out: dict[str, Any] = {}
    if bandwidth is not None:
        if not (math.isfinite(bandwidth) and 0 < bandwidth <= MAX_BANDWIDTH_M):
            raise InputError(
                f"--bandwidth must be a distance in metres above 0 and at most "
                f"{MAX_BANDWIDTH_M:,.0f}, not {bandwidth:g}"
            )
        if "bandwidth" not in own:
            raise InputError(f"--bandwidth: method {method} has no bandwidth (it does not "
                             "smooth in space); use kde, prospective or etas")
        out["bandwidth"] = float(bandwidth)
    if lookback is not None:
        key = next((k for k in ("lookback_days", "history_days") if k in own), None)
        if key is None:
            raise InputError(f"--lookback: method {method} learns from all the history before "
                             "the start; it has no look-back to set")
        if lookback.approx_days < 1.0:
            raise InputError(f"--lookback {lookback} is shorter than a day")
        out[key] = round(lookback.approx_days, 4)
    return out


def software_versions() -> dict[str, str]:
    """Versions of patrolcast and the numerical libraries a forecast depends on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("patrolcast", "numpy", "scipy", "pandas", "numba"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            out[name] = "not installed"
    return out


def output_stem(spec: ForecastSpec, local_start: str) -> str:
    """``<dataset>_<method>_<level>_<horizon>_<start>``: ``synth_kde_grid250m_7d_2022-06-01``,
    ``london_kde_lsoa_1M_2022-06-01`` (hour horizons add the start time, ``T1800``). No dots:
    the web map finds a forecast's files by the part of the name before the first dot."""
    if spec.level == "grid":
        size = f"{spec.cell_size:g}".replace(".", "p")
        level = f"grid{size}m"
    else:
        level = _slug(spec.level)
    date = local_start[:10]
    if spec.horizon.unit == "h":
        date += "T" + local_start[11:13] + local_start[14:16]
    return f"{_slug(spec.dataset)}_{_slug(spec.method)}_{level}_{spec.horizon}_{date}"


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
    warnings: list[str] = field(default_factory=list)
    study_area: dict[str, Any] = field(default_factory=dict)
    timezone: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "dataset": self.spec.dataset,
            "method": self.spec.method,
            "level": self.spec.level,
            "cell_size": self.spec.cell_size if self.spec.level == "grid" else None,
            "start": _iso(self.start, self.timezone),
            "end": _iso(self.end, self.timezone),
            "n_units": self.n_units,
            "events_in_history": self.n_history,
            "expected_total": self.expected_total,
            "top_units": self.top,
            "files": {k: str(v) for k, v in self.paths.items()},
            "snapshot": self.snapshot,
            "ranked_by": self.spec.target,
            "study_area": self.study_area,
            "warnings": self.warnings,
        }


def forecast_job(
    spec: ForecastSpec,
    *,
    out_dir: Path,
    home: Path | None = None,
    store: Any = None,
    study: Study | None = None,
    top: int = 10,
    overwrite: bool = True,
    on_stage: Callable[[str], None] | None = None,
) -> ForecastOutcome:
    """Fit on everything before the start, predict ``[start, start + horizon)``, write files.

    Without a start, the forecast starts where the data ends (the next period). Files are
    named by :func:`output_stem`; with ``overwrite=False`` (the CLI without ``--force``) an
    existing one is refused before any work. ``on_stage`` hears each stage as it starts
    ("reading", "fitting", "predicting", "writing").
    """
    from patrolcast.evaluate.splitters import local_data_end, local_midnight_floor
    from patrolcast.forecast.naive import lookback_start
    from patrolcast.forecast.registry import make_forecaster
    from patrolcast.io.briefing_map import write_briefing_map
    from patrolcast.io.forecast_pack import write_forecast_pack
    from patrolcast.io.writers import (
        OutputContext,
        csv_sidecars,
        refuse_overwrite,
        unit_ranks,
        write_forecast_csv,
        write_forecast_geojson,
        write_forecast_gpkg,
    )

    stage = on_stage or (lambda name: None)
    stage("reading")
    if study is None:
        store = store if store is not None else open_store(home)
        study = study_for(spec, store=store)
    events = study.events
    tz = None if events.time_precision == "month" else study.timezone
    data_stop = local_data_end(float(events.t.max()), events.time_precision, tz)
    start = spec.start
    if spec.start_text and events.time_precision == "month":
        start = month_data_day(spec.start_text)  # the one time rule, then the day in the UK
    elif spec.start_text and tz and datetime.fromisoformat(spec.start_text).tzinfo is None:
        from zoneinfo import ZoneInfo  # a start without a zone is local time where the data are

        start = to_days(datetime.fromisoformat(spec.start_text).replace(tzinfo=ZoneInfo(tz)))
    if math.isnan(start):
        start = data_stop
        if spec.horizon.unit != "h":
            start = local_midnight_floor(start + 1e-6, tz) if tz else start
    if start > data_stop + 1e-6:
        raise InputError(
            f"the window starts {from_days(start).date()}, after the data end "
            f"({from_days(data_stop).date()}): the gap would be forecast as if nothing "
            "happened in it; ingest the recent data or start at the data end"
        )
    if spec.horizon.unit == "M" and tz is None and from_days(start).day != 1:
        raise InputError("a month horizon needs --start on the first day of a month")
    end = spec.horizon.add_local(start, 1, tz, keep_day=True)  # 1M from the 30th: a month
    history = events.before(start)
    if len(history) == 0:
        raise InputError(
            f"no {spec.dataset} events before {from_days(start).date()}: nothing to learn from"
        )
    from patrolcast.evaluate.backtest import observed_per_unit

    if observed_per_unit(history, study.support, "count").sum() <= 0:
        raise InputError(
            f"none of the {spec.dataset} events before {from_days(start).date()} lies in any "
            f"of the {study.support.n_units:,} units: the areas do not cover the data"
        )
    stem = output_stem(spec, _iso(start, tz))
    out = {kind: out_dir / f"{stem}.{kind}"
           for kind in ("gpkg", "geojson", "csv", "png", *(("pdf",) if spec.pack else ()))}
    out["explain"] = out_dir / f"{stem}.explain.csv"
    out["snapshot"] = out_dir / f"{stem}.snapshot.json"
    refuse_overwrite([*out.values(), *csv_sidecars(out["csv"])], force=overwrite)
    selection: dict[str, Any] = {}
    params: dict[str, Any] = spec.params()
    if spec.select:
        from patrolcast.evaluate.selection import select_params, selectable

        if selectable(spec.method):
            stage("selecting")
            sel = select_params(events, study.support, spec.method, horizon=spec.horizon,
                                before=start, n_origins=6, timezone=tz)
            selection, params = sel.to_json(), dict(sel.chosen)
    stage("fitting")
    model = make_forecaster(spec.method, horizon_days=spec.horizon.approx_days, **params)
    model.fit(events, cutoff=start)
    stage("predicting")
    forecast = model.predict(study.support, start, end)
    warnings = list(study.warnings)
    lookback = model.lookback_used(spec.horizon.approx_days)
    # month records sit on their month's first day: the look-back starts on a month start,
    # as the methods' own (patrolcast.forecast.naive.lookback_start)
    since = -math.inf if math.isinf(lookback) else lookback_start(start, lookback,
                                                                  events.time_precision)
    in_lookback = observed_per_unit(history.between(since, start), study.support,
                                    "count").sum()
    if in_lookback <= 0:
        span = "all history" if math.isinf(lookback) else f"the last {lookback:g} days"
        warnings.append(
            f"no event in {span} before {from_days(start).date()} (a gap in the data?): "
            f"the {spec.method} forecast is all zeros and says nothing about risk"
        )
    stage("writing")
    score = forecast.ranking_score(spec.target)
    out_dir.mkdir(parents=True, exist_ok=True)
    versions = software_versions()
    created = datetime.now(UTC).isoformat(timespec="seconds")
    context = OutputContext(
        dataset=spec.dataset, method=forecast.method, level=spec.level,
        cell_size=spec.cell_size if spec.level == "grid" else None, horizon=str(spec.horizon),
        window_start=_iso(start, tz), window_end=_iso(end, tz), target=spec.target,
        groups=tuple(spec.groups or ()), parameters=_jsonable(forecast.params),
        study_area=study.study_area_json(), created_at=created,
        software=f"patrolcast {versions['patrolcast']}",
    )
    cells = study.areas if spec.level == "grid" else None
    paths = {
        "gpkg": write_forecast_gpkg(forecast, study.support, out["gpkg"], context=context,
                                    areas=cells),
        "geojson": write_forecast_geojson(forecast, study.support, out["geojson"],
                                          context=context, areas=cells),
        "csv": write_forecast_csv(forecast, study.support, out["csv"], areas=study.areas,
                                  context=context),
    }
    briefing = _briefing_context(spec, study, store, start=start, end=end, tz=tz,
                                 warnings=warnings, home=home, version=versions["patrolcast"])
    paths["png"] = write_briefing_map(score, study.support, out["png"], context=briefing)
    if spec.pack:
        span = "all history" if math.isinf(lookback) else f"the last {lookback:g} days"
        evidence = [
            ("events in the history used", f"{in_lookback:,.0f} ({span} before the start)"),
            ("events before the start", f"{float(history.count.sum()):,.0f}"),
            ("parameters", _parameter_text(forecast.params)),
            ("study area", f"{context.study_area.get('source', '')} "
                           f"({float(context.study_area.get('km2', 0)):,.1f} km2)"),
        ]
        paths["pdf"] = write_forecast_pack(
            out["pdf"], map_png=paths["png"], values=score, support=study.support,
            context=briefing, expected_total=float(forecast.expected_count.sum()),
            evidence=evidence,
        )
    if forecast.terms:
        paths["explain"] = _write_terms(forecast, study.support, out["explain"])
    # The snapshot a proposal can rely on (``patrolcast snapshot record FILE``).
    snapshot = {
        "method": forecast.method,
        "params": {**forecast.params, "dataset": spec.dataset, "level": spec.level,
                   "cell_size": spec.cell_size, "groups": list(spec.groups or ())},
        "set_by_user": {
            **({"bandwidth_m": spec.bandwidth} if spec.bandwidth is not None else {}),
            **({"lookback": str(spec.lookback)} if spec.lookback is not None else {}),
        },
        "created_at": created,
        "window_start": _iso(start, tz),
        "window_end": _iso(end, tz),
        "horizon": str(spec.horizon),
        "digest": forecast.digest(),
        "uri": str(paths["gpkg"].resolve()),
        "ranked_by": spec.target,
        "study_area": study.study_area_json(),
        "history_used_days": lookback,
        "events_in_history_used": float(in_lookback),
        "selection": selection,
        "software": versions,
        "warnings": warnings,
    }
    out["snapshot"].write_text(json.dumps(snapshot, indent=1, default=str), encoding="utf-8")
    paths["snapshot"] = out["snapshot"]
    ranks = unit_ranks(score)
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
        warnings=warnings,
        study_area=study.study_area_json(),
        timezone=tz,
    )


def _briefing_context(
    spec: ForecastSpec, study: Study, store: Any, *, start: float, end: float,
    tz: str | None, warnings: list[str], home: Path | None, version: str,
) -> Any:
    """What the briefing map and pack say besides the numbers: the study area, the window in
    the data's zone, the data's caveats and attribution, the protective marking."""
    from zoneinfo import ZoneInfo

    import shapely

    from patrolcast.config import load_settings
    from patrolcast.io.briefing_map import BriefingContext, data_source_for
    from patrolcast.io.writers import unit_polygons

    settings = load_settings(home=home)
    meta: dict[str, Any] = {}
    if store is not None:
        try:
            meta = dict(store.meta(spec.dataset))
        except (InputError, OSError, ValueError):
            meta = {}
    if study.study_area is not None:
        area = study.study_area.geometry
    else:  # areas without a study area: the areas themselves
        area = shapely.union_all(unit_polygons(study.support), grid_size=1.0)
    zone = ZoneInfo(tz or "UTC")
    groups = tuple(spec.groups or ())
    violent = set(groups) <= set(VIOLENCE_GROUPS)
    offences = "violent offences" if violent else f"{', '.join(groups)} offences"
    return BriefingContext(
        study_area=area,
        window_start=from_days(start).astimezone(zone),
        window_end=from_days(end).astimezone(zone),
        method=spec.method,
        data=data_source_for(str(meta.get("kind", "")), meta.get("mapping")),
        target=spec.target,
        offences=offences,
        dataset=spec.dataset,
        marking=settings.organisation.protective_marking,
        shared_data=settings.shared_data,
        timezone=tz or "UTC",
        version=version,
        notes=tuple(warnings),
    )


def _parameter_text(params: dict[str, Any]) -> str:
    """``bandwidth 300 m, look-back 56 days`` (the parameters a reader asks about)."""
    parts = []
    if params.get("bandwidth") is not None:
        parts.append(f"bandwidth {float(params['bandwidth']):g} m")
    for key in ("lookback_days", "history_days"):
        value = params.get(key)
        if value is not None:
            parts.append("look-back all history" if value == "all"
                         else f"look-back {float(value):g} days")
    return ", ".join(parts) or "the method's defaults"


def _jsonable(params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as plain JSON values (numbers, text, lists), for output metadata."""
    return json.loads(json.dumps(params, default=str))


def _iso(t: float, timezone: str | None) -> str:
    """An instant as ISO 8601 with the offset of the data's zone (UTC when it has none)."""
    when = from_days(t)
    if timezone and timezone != "UTC":
        from zoneinfo import ZoneInfo

        when = when.astimezone(ZoneInfo(timezone))
    return when.isoformat()


def _write_terms(forecast: Any, support: Any, path: Path) -> Path:
    """Per unit: the forecast and each explanation term (what raised the unit)."""
    frame = pd.DataFrame({"unit_id": forecast.unit_ids,
                          "expected_count": forecast.expected_count})
    for name, values in forecast.terms.items():
        frame[name] = values
    frame = frame.sort_values("expected_count", ascending=False, kind="stable")
    frame.to_csv(path, index=False, float_format="%.6g")
    return path
