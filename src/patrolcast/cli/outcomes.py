"""``patrolcast outcomes ...`` and ``patrolcast fairness-audit``: thin adapters over
:mod:`patrolcast.oversight.outcomes.jobs`.

- ``outcomes dosage``: import GPS/AVL traces and patrol logs (call signs pseudonymised with
  ``PATROLCAST_PSEUDONYM_KEY``) and report delivered against authorised patrol;
- ``outcomes evaluate``: one deployment against its forecast and matched controls, with WDQ/WDD;
- ``outcomes quarterly``: the quarterly evaluation report from a governance export;
- ``outcomes trial-allocate`` / ``trial-analyse``: a randomised crossover trial;
- ``fairness-audit``: who lives in the most-targeted areas of any place-based forecast.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.options import (
    HOME,
    JSON,
    QUIET,
    dataset_option,
    out_folder,
    out_option,
    progress,
    reading_home,
    time_help,
)
from patrolcast.errors import InputError

outcomes_app = typer.Typer(help="Deployment outcomes: dosage, effect, displacement, trials.",
                           no_args_is_help=True)


def _emit(payload: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def _utc(text: str | None, option: str, zone: str | None = None) -> str | None:
    """A typed time as ISO 8601 UTC text (the one rule: no zone = Europe/London or ``zone``)."""
    from patrolcast.app.times import LONDON, parse_local_time

    if text is None:
        return None
    return parse_local_time(text, zone=zone or LONDON, option=option).isoformat()


def _split(text: str) -> tuple[str, ...]:
    return tuple(p.strip() for p in text.split(",") if p.strip())


@outcomes_app.command("dosage")
def dosage(
    trace: list[Path] = typer.Option([], "--trace", help="GPX or CSV trace (repeatable)."),
    log: Path | None = typer.Option(None, help="Manual patrol log CSV."),
    call_sign: str | None = typer.Option(None, "--call-sign", help="Call sign of GPX traces."),
    area: Path = typer.Option(..., help="Authorised area (GeoJSON, GeoPackage)."),
    start: str = typer.Option(..., help=time_help("Authorised start")),
    end: str = typer.Option(..., help=time_help("Authorised end")),
    crs: str = typer.Option("EPSG:27700", help="Metric CRS of the deployment."),
    cell_size: float = typer.Option(50.0, "--cell-size", help="Dosage cell size, metres."),
    max_gap: float = typer.Option(5.0, "--max-gap", help="Longest gap between fixes, minutes."),
    store_to: Path | None = typer.Option(
        None, "--store-to", help="Folder for the pseudonymised trace, trace.parquet."),
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Delivered patrol per cell and hour, visits and dwell, against the authorised window."""
    from patrolcast.oversight.outcomes.jobs import dosage_job, pseudonym_key, read_area
    from patrolcast.oversight.outcomes.traces import write_trace

    begin, finish = _utc(start, "--start"), _utc(end, "--end")
    with progress("dosage", quiet=quiet or as_json):
        result = dosage_job(trace, area=read_area(area, crs=crs), start=str(begin),
                            end=str(finish), crs=crs, key=pseudonym_key(), call_sign=call_sign,
                            log=log, cell_size=cell_size, max_gap_minutes=max_gap)  # fmt: skip
    if store_to is not None and result.trace is not None:
        write_trace(result.trace, out_folder(store_to) / "trace.parquet")
    d = result.dosage.as_dict()
    _emit(d, as_json, f"delivered {d['delivered_unit_hours']:.2f} unit-hours of "
          f"{d['authorised_hours']:.2f} authorised; {d['visits']} visits "
          f"{d['dwell_bands']}; {len(d['hours_without_patrol'])} hours without patrol; "
          f"{d['outside_area_unit_minutes']:.0f} unit-minutes outside the area")  # fmt: skip


@outcomes_app.command("evaluate")
def evaluate(
    dataset: str = dataset_option("Ingested dataset (timestamped)."),
    area: Path | None = typer.Option(None, help="Treated area (GeoJSON, GeoPackage)."),
    start: str | None = typer.Option(None, help=time_help("Window start", dataset=True)),
    end: str | None = typer.Option(None, help=time_help("Window end", dataset=True)),
    proposal: Path | None = typer.Option(None, help="Or: a proposal exported from governance "
                                         "(JSON): its area and authorised window."),
    forecast_expected: float | None = typer.Option(None, "--forecast-expected",
                                                   help="Expected count the decision used."),
    groups: str = typer.Option("", help="Offence groups (comma-separated); default: all."),
    measure: str = typer.Option("count", help="count or harm."),
    pre_days: float = typer.Option(365.0, "--pre-days", help="Days before, for matching."),
    residual_days: float = typer.Option(
        7.0, "--residual-days", help="Days after the end counted as residual effect."),
    buffer_m: float = typer.Option(500.0, "--buffer", help="Displacement buffer, metres."),
    pool_cell: float = typer.Option(250.0, "--pool-cell", help="Control cell size, metres."),
    out: Path | None = out_option(
        None, "the HTML report, outcome_<deployment>.html (default: no report)"),
    pdf: bool = typer.Option(False, help="Also write a PDF beside the HTML."),
    home: Path | None = HOME,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """One deployment against its forecast and matched controls; WDQ and WDD."""
    from patrolcast.app.times import zone_of_info
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.oversight.outcomes.jobs import evaluate_job, read_area
    from patrolcast.oversight.outcomes.report import write_deployment_report

    store = open_store(reading_home(home).home)
    meta = store.meta(dataset)
    crs, zone = meta["crs"], zone_of_info(meta)
    with progress(f"evaluate on {dataset}", quiet=quiet or as_json):
        result = evaluate_job(store, dataset, area=read_area(area, crs=crs) if area else None,
                              start=_utc(start, "--start", zone), end=_utc(end, "--end", zone),
                              proposal=proposal, groups=_split(groups) or None,
                              pool_cell_m=pool_cell, pre_days=pre_days,
                              residual_days=residual_days, forecast_expected=forecast_expected,
                              measure=measure, buffer_m=buffer_m,
                              deployment_id=area.stem if area else "deployment")  # fmt: skip
    files: list[Path] = []
    if out is not None:
        files = write_deployment_report(
            result, out_folder(out) / f"outcome_{result.deployment_id}.html",
            generated_at=datetime.now(UTC), pdf=pdf)
    e = result.during
    _emit({**result.as_dict(), "files": [str(f) for f in files]}, as_json,
          f"{result.deployment_id}: observed {e.observed:g}, expected {e.expected:.2f} "
          f"(difference {e.difference:+.2f}, 95% {e.low:+.2f} to {e.high:+.2f}); "
          f"WDD {result.wdd.wdd:+.2f} ({result.wdd.low:+.2f} to {result.wdd.high:+.2f})"
          + "".join(f"\nwrote {f}" for f in files))


@outcomes_app.command("quarterly")
def quarterly(
    dataset: str = dataset_option("Ingested dataset (timestamped)."),
    proposals: Path | None = typer.Option(
        None, help="Governance export (JSON list of proposals); default: read them from the "
        "server as the signed-in person (an audited read)."),
    server: str | None = typer.Option(None, "--server", help="Server URL (default: last login)."),
    quarter: str = typer.Option(..., help="YYYYQn, e.g. 2025Q1 (quarters of Europe/London)."),
    out: Path = out_option(Path("evaluation"), "the report, quarterly_<quarter>.html"),
    pdf: bool = typer.Option(False, help="Also write a PDF."),
    home: Path | None = HOME,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Quarterly evaluation report over the quarter's debriefed deployments."""
    import tempfile

    from patrolcast.evaluate.jobs import open_store
    from patrolcast.oversight.outcomes.jobs import quarterly_job

    with tempfile.TemporaryDirectory(prefix="patrolcast-quarter-") as tmp:
        if proposals is None:
            from patrolcast.cli.client import ApiClient

            proposals = Path(tmp) / "proposals.json"
            views = ApiClient.signed_in(server).call("list_proposals")
            proposals.write_text(json.dumps(views), encoding="utf-8")
        store = open_store(reading_home(home).home)
        with progress(f"quarter {quarter}", quiet=quiet or as_json):
            outcomes, paths = quarterly_job(store, dataset, proposals, quarter=quarter,
                                            out=out_folder(out) / f"quarterly_{quarter}.html",
                                            pdf=pdf)  # fmt: skip
    _emit({"deployments": len(outcomes), "files": [str(p) for p in paths]}, as_json,
          f"{len(outcomes)} deployments evaluated; wrote {', '.join(map(str, paths))}")


@outcomes_app.command("trial-allocate")
def trial_allocate(
    trial_id: str = typer.Option(..., "--trial-id", help="The trial's name (in the file name)."),
    places: str = typer.Option(..., help="Place ids, comma-separated."),
    first_day: str = typer.Option(..., "--first-day", help="First trial day, YYYY-MM-DD."),
    days: int = typer.Option(..., min=2, help="Number of trial days."),
    seed: int = typer.Option(..., help="Random seed (record it with the allocation)."),
    out: Path = out_option(Path("."), "the allocation, allocation_<trial id>.json"),
    as_json: bool = JSON,
) -> None:
    """Randomised crossover allocation of patrol days, with its SHA-256 digest."""
    import re
    from datetime import date, timedelta

    from patrolcast.oversight.outcomes.trial import crossover_allocation

    try:
        day0 = date.fromisoformat(first_day)
    except ValueError:
        raise InputError(f"--first-day {first_day!r} is not YYYY-MM-DD") from None
    alloc = crossover_allocation(trial_id, _split(places),
                                 [day0 + timedelta(days=i) for i in range(days)], seed=seed,
                                 created_at=datetime.now(UTC).isoformat(timespec="seconds"))
    path = out_folder(out) / f"allocation_{re.sub(r'[^A-Za-z0-9.-]+', '-', trial_id)}.json"
    path.write_bytes(alloc.canonical_json())
    _emit({"digest": alloc.digest, "file": str(path)}, as_json,
          f"allocation written to {path}; record this digest before day one: {alloc.digest}")


@outcomes_app.command("trial-analyse")
def trial_analyse(
    allocation: Path = typer.Option(..., help="Allocation JSON (as written by trial-allocate)."),
    digest: str = typer.Option(..., help="The digest recorded before the trial."),
    outcomes: Path = typer.Option(..., help="CSV: place, day, count (and/or harm)."),
    value: str = typer.Option("count", help="Column to analyse: count or harm."),
    as_json: bool = JSON,
) -> None:
    """Analyse a crossover trial with its allocation (refused if the digest does not match)."""
    import pandas as pd

    from patrolcast.oversight.outcomes.trial import (
        Allocation,
        analyse_crossover,
        verify_allocation,
    )

    try:
        raw = json.loads(allocation.read_text(encoding="utf-8"))
        alloc = Allocation(raw["trial_id"], tuple(raw["places"]), tuple(raw["days"]),
                           tuple(tuple(bool(v) for v in r) for r in raw["patrol"]),
                           int(raw["seed"]), raw["created_at"], raw.get("design", ""))
    except (OSError, ValueError, KeyError, TypeError) as exc:
        raise InputError(f"cannot read the allocation {allocation}: {exc}") from None
    if not verify_allocation(alloc, digest):
        raise InputError("the allocation does not match the recorded digest: not analysed")
    result = analyse_crossover(alloc, pd.read_csv(outcomes, dtype={"place": str, "day": str}),
                               value=value)  # fmt: skip
    _emit(result.as_dict(), as_json,
          f"rate ratio patrol/control {result.rate_ratio:.3f} (95% {result.low:.3f}-"
          f"{result.high:.3f}); randomisation p = {result.randomisation_p:.4f}")


def fairness_audit(
    areas: Path = typer.Option(..., help="Areas (GeoJSON or GeoPackage) with populations."),
    count: str | None = typer.Option(None, help="Prediction or patrol count column."),
    points: Path | None = typer.Option(None, help="Prediction points CSV (lon,lat or x,y)."),
    points_crs: str = typer.Option("EPSG:4326", "--points-crs", help="CRS of the points."),
    groups: str = typer.Option(..., help="Population group columns, comma-separated."),
    area_id: str | None = typer.Option(None, "--id", help="Area id column."),
    total: str | None = typer.Option(None, help="Total population column."),
    moe: str = typer.Option("", help="Margins of error, GROUP:COLUMN pairs comma-separated."),
    income: str | None = typer.Option(None, help="Numeric income column (quintiles)."),
    window_share: float = typer.Option(
        0.05, "--window-share", help="Share of areas in the most- and least-targeted windows."),
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Who lives in the most-, median- and least-targeted areas of a place-based forecast."""
    from patrolcast.oversight.outcomes.jobs import audit_job

    pairs = {}
    for item in _split(moe):
        group, _, column = item.partition(":")
        if not column:
            raise InputError("--moe takes GROUP:COLUMN pairs")
        pairs[group] = column
    with progress("fairness audit", quiet=quiet or as_json):
        audit = audit_job(areas, count=count, groups=_split(groups), area_id=area_id,
                          total=total, moe=pairs or None, income=income, points=points,
                          points_crs=points_crs, window_share=window_share)  # fmt: skip
    g = audit.groups
    lines = [f"{audit.n_areas} areas, windows of {audit.window_areas}; Gini "
             f"{audit.concentration['gini']:.3f}, top-5% share "
             f"{audit.concentration['top_window_share']:.1%}"]  # fmt: skip
    for name, row in g.iterrows():
        lines.append(f"{name}: jurisdiction {row['jurisdiction_share']:.1%}; most-targeted "
                     f"x{row['most_ratio']:.2f}, median x{row['median_ratio']:.2f}, least "
                     f"x{row['least_ratio']:.2f}; above median "
                     f"{row['above_median_share']:.1%}")  # fmt: skip
    _emit(audit.as_dict(), as_json, "\n".join(lines))


def register(app: typer.Typer) -> None:
    app.add_typer(outcomes_app, name="outcomes")
    app.command("fairness-audit")(fairness_audit)
