"""Oversight commands: ``intel ...``, ``cia ...``, ``fairness ...`` and ``report transparency``.

Thin adapters. Commands that read or write intelligence items or proposals are clients of the
patrolcast server, acting as the signed-in person (``patrolcast login``); analysis commands on
files (fairness, disproportionality) run locally.
"""

from __future__ import annotations

import json
from datetime import datetime
from pathlib import Path
from typing import Any

import typer

from patrolcast.cli.groups import report_app
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
from patrolcast.config import load_settings
from patrolcast.errors import InputError

intel_app = typer.Typer(help="Graded intelligence items (places and times only).",
                        no_args_is_help=True)
cia_app = typer.Typer(help="Community impact assessments and their computed evidence.",
                      no_args_is_help=True)
fairness_app = typer.Typer(help="Disproportionality, exposure against harm, feedback loops.",
                           no_args_is_help=True)

SERVER = typer.Option(None, "--server", help="Server URL (default: the last login's server).")


def _client(server: str | None) -> Any:
    from patrolcast.cli.client import ApiClient

    return ApiClient.signed_in(server)


def _time(text: str, option: str) -> datetime:
    """A typed time (the one rule: no zone = Europe/London), aware UTC."""
    from patrolcast.app.times import parse_local_time

    return parse_local_time(text, option=option)


def _iso(text: str | None, option: str) -> str | None:
    return None if text is None else _time(text, option).isoformat()


def _store(home: Path | None) -> Any:
    """The analytical store of the data home (refused, not created, when the home is absent)."""
    from patrolcast.io.store import Store

    return Store(reading_home(home).store_dir)


def _views(server: str | None) -> list[Any]:
    """Proposals the signed-in person may see, as governance views (an audited read)."""
    from patrolcast.governance.service import ProposalView

    return [ProposalView.from_dict(d) for d in _client(server).call("list_proposals")]


def _emit(payload: Any, as_json: bool, text: str) -> None:
    typer.echo(json.dumps(payload, indent=2, default=str) if as_json else text)


def _shared(name: str) -> Path:
    path = load_settings().shared_data / name
    if not path.exists():
        raise InputError(f"shared data file {path} is absent (set PATROLCAST_SHARED_DATA)")
    return path


# ------------------------------------------------------------------------------ intel
@intel_app.command("check")
def intel_check(text: str = typer.Argument(..., help="Free text to check."),
                as_json: bool = JSON) -> None:
    """Check free text for obvious personal data (names after titles, DOB, phones, plates...)."""
    from patrolcast.oversight.pii import check_text

    findings = check_text(text)
    payload = {"ok": not findings,
               "findings": [{"kind": f.kind, "masked": f.masked} for f in findings]}
    lines = [f"refused: {f.kind} ({f.masked})" for f in findings] or ["ok: no personal data found"]
    _emit(payload, as_json, "\n".join(lines))
    if findings:
        raise typer.Exit(3)


@intel_app.command("add")
def intel_add(
    grading: str = typer.Option(..., help="3x5x2 grading, e.g. '2B P'."),
    start: str = typer.Option(..., help=time_help("Window start")),
    end: str = typer.Option(..., help=time_help("Window end")),
    retain_until: str = typer.Option(
        ..., help=time_help("Retention date: purged automatically after")),
    owner: str = typer.Option(..., help="Owning desk or role (never a person's name)."),
    x: float | None = typer.Option(
        None, help="Easting of the centre, EPSG:27700 (British National Grid) metres."),
    y: float | None = typer.Option(
        None, help="Northing of the centre, EPSG:27700 (British National Grid) metres."),
    radius: float | None = typer.Option(None, help="Radius in metres."),
    cells: str | None = typer.Option(None, help="Comma-separated grid cell ids instead."),
    polygon: str | None = typer.Option(
        None, help="WKT polygon in EPSG:27700 metres instead."),
    summary: str = typer.Option("", help="Short place-and-time summary (checked)."),
    server: str | None = SERVER,
    as_json: bool = JSON,
) -> None:
    """Record a graded intelligence item (audited; personal data refused)."""
    body = {
        "grading": grading, "start": _iso(start, "--start"), "end": _iso(end, "--end"),
        "retain_until": _iso(retain_until, "--retain-until"), "owner": owner, "x": x, "y": y,
        "radius": radius,
        "cells": [c.strip() for c in cells.split(",") if c.strip()] if cells else [],
        "polygon": polygon, "summary": summary,
    }
    out = _client(server).call("intel_add", None, body)
    _emit(out, as_json, f"recorded intelligence item #{out['id']}")


@intel_app.command("list")
def intel_list(
    active_at: str | None = typer.Option(
        None, help=time_help("Only items whose window contains this time")),
    server: str | None = SERVER,
    as_json: bool = JSON,
) -> None:
    """List retained items (an audited read; expired items are purged first)."""
    rows = _client(server).call("intel_list", None, {"active_at": _iso(active_at, "--active-at")})
    text = "\n".join(
        f"#{r['id']} {r['grading']} w={r['weight']:.3f} {r['start']}..{r['end']} "
        f"retain until {r['retain_until']}: {r['summary']}" for r in rows
    ) or "no retained intelligence items"
    _emit(rows, as_json, text)


@intel_app.command("picture")
def intel_picture(
    dataset: str = dataset_option("Ingested dataset of events."),
    start: str = typer.Option(..., help=time_help("Window start", dataset=True)),
    hours: float = typer.Option(24.0, help="Window length in hours."),
    method: str = typer.Option("kde", help="Forecast method (naive, kde, prospective...)."),
    cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
    boundary: Path | None = typer.Option(None, help="Study-area boundary file (default: the "
                                         "data's extent)."),
    out: Path = out_option(Path("out/picture"), "picture.csv and picture.png"),
    home: Path | None = HOME,
    server: str | None = SERVER,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Forecast and intelligence uplift side by side for a window (CSV and PNG)."""
    from patrolcast.app.times import parse_dataset_time
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.evaluate.study import load_study
    from patrolcast.events import to_days
    from patrolcast.oversight.intel_store import item_from_summary
    from patrolcast.oversight.picture import build_picture, write_picture_csv, write_picture_png

    if not hours > 0:
        raise InputError("--hours must be positive")
    store = open_store(reading_home(home).home)
    begin = to_days(parse_dataset_time(start, store, dataset, option="--start"))
    end = begin + hours / 24.0
    items = [item_from_summary(r) for r in _client(server).call("intel_list")]
    with progress(f"picture of {dataset}", quiet=quiet or as_json):
        study = load_study(store, dataset, level="grid", cell_size=cell_size, boundary=boundary)
        picture = build_picture(study, method, begin, end, items)
        folder = out_folder(out)
        paths = [write_picture_csv(picture, folder / "picture.csv"),
                 write_picture_png(picture, study.support, folder / "picture.png")]
    raised = int((picture.uplift > 0).sum())
    payload = {"units": len(picture.unit_ids), "items": len(items), "units_raised": raised,
               "weights": picture.weights, "files": [str(p) for p in paths]}
    _emit(payload, as_json, f"{len(items)} item(s) raise {raised} of {len(picture.unit_ids)} "
          f"cells; wrote {', '.join(str(p) for p in paths)}")


@intel_app.command("purge")
def intel_purge(server: str | None = SERVER, as_json: bool = JSON) -> None:
    """Purge items past their retention date now (each purge audited)."""
    out = _client(server).call("intel_purge")
    _emit(out, as_json, f"purged {len(out['purged'])} expired item(s)")


# -------------------------------------------------------------------------------- cia
def _lsoas() -> Any:
    from patrolcast.geo.boundaries import read_lsoa_boundaries

    return read_lsoa_boundaries(_shared("boundaries/london_lsoa2021_by_borough_shp.zip"))


@cia_app.command("evidence")
def cia_evidence(
    proposal: int = typer.Argument(..., help="Proposal id.", show_default=False),
    counts_dataset: str | None = typer.Option(None, help="Store dataset of LSOA area counts."),
    groups: str = typer.Option("serious_violence", help="Offence groups for harm (comma list)."),
    searches_dataset: list[str] = typer.Option([], help="Store stop-search dataset(s)."),
    at: str | None = typer.Option(
        None, help=time_help("Reference time (default: the requested start)")),
    home: Path | None = HOME,
    server: str | None = SERVER,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Compute the evidence for a proposal's area (residents, IMD, harm, burden, searches)."""
    import pandas as pd
    import shapely

    from patrolcast.io.census import read_census_population
    from patrolcast.io.deprivation import read_imd
    from patrolcast.oversight.cia import compute_evidence
    from patrolcast.oversight.records import past_deployments

    views = _views(server)
    view = next((v for v in views if v.id == proposal), None)
    if view is None:
        raise InputError(f"no proposal #{proposal}")
    store = _store(home)
    counts = None
    if counts_dataset:
        counts = store.area_counts(counts_dataset, groups=[g for g in groups.split(",") if g])
    searches = None
    if searches_dataset:
        searches = pd.concat([store.stop_searches(d) for d in searches_dataset])
    with progress(f"evidence for proposal #{proposal}", quiet=quiet or as_json):
        evidence = compute_evidence(
            shapely.from_wkt(view.area_wkt),
            now=_time(at, "--at") if at else view.requested_start,
            lsoas=_lsoas(),
            census=read_census_population(
                _shared("census_and_lookups/census_2011_population_hh.csv.gz"), region="LONDON"),
            imd=read_imd(_shared("census_and_lookups/london_lsoa_deprivation.xlsx")),
            area_counts=counts,
            deployments=past_deployments(views, exclude=proposal),
            searches=searches,
        )
    payload = [e.as_dict() for e in evidence]
    text = "\n".join(
        f"{e.name}: " + (f"MISSING - {e.missing}" if e.missing else json.dumps(e.value))
        + (f"  [{e.source}; {e.period}]" if e.source else "")
        + "".join(f"\n    note: {n}" for n in e.notes)
        for e in evidence
    )
    _emit(payload, as_json, text)


# --------------------------------------------------------------------------- fairness
@fairness_app.command("disproportion")
def fairness_disproportion(
    dataset: list[str] = dataset_option("Stop-and-search dataset (repeat for several)."),
    by: str = typer.Option("borough", help="'force' (all together) or 'borough'."),
    ethnicity: str = typer.Option("self", help="'self' or 'officer' defined ethnicity."),
    home: Path | None = HOME,
    as_json: bool = JSON,
) -> None:
    """Stop-and-search rates and ethnic relative rate ratios against 2011 residents."""
    import pandas as pd

    from patrolcast.geo.boundaries import read_borough_boundaries
    from patrolcast.io.census import read_census_population
    from patrolcast.oversight.disproportion import disproportion, disproportion_by_area, locate

    store = _store(home)
    frames = [store.stop_searches(d).assign(dataset=d) for d in dataset]
    searches = pd.concat(frames, ignore_index=True)
    census = read_census_population(
        _shared("census_and_lookups/census_2011_population_hh.csv.gz"), region="LONDON")
    if by == "force":
        rows = []
        for d, part in searches.groupby("dataset"):
            rows.append(disproportion(part, area=str(d), ethnicity=ethnicity).as_dict())
        rows.append(disproportion(searches, area="all", residents=int(census["residents"].sum()),
                                  ethnicity=ethnicity).as_dict())
        _emit(rows, as_json, "\n".join(json.dumps(r) for r in rows))
        return
    if by != "borough":
        raise InputError("--by must be 'force' or 'borough'")
    boroughs = read_borough_boundaries(_shared("boundaries/london_boroughs.gpkg"))
    searches["borough"] = locate(searches, boroughs)
    located = searches.dropna(subset=["borough"])
    residents = census.groupby("la_code")["residents"].sum()
    table = disproportion_by_area(located, area_column="borough", residents=residents,
                                  ethnicity=ethnicity)
    names = dict(zip(boroughs.ids, boroughs.names, strict=True))
    table.insert(1, "name", table["area"].map(names))
    table = table.sort_values("rate_per_1000", ascending=False)
    payload = {
        "searches": len(searches),
        "located_in_a_borough": len(located),
        "denominator": "FALLBACK: London-wide 2011 composition (ONS KS201EW) for ratios",
        "rows": json.loads(table.to_json(orient="records")),
    }
    _emit(payload, as_json, table.to_string(index=False))


@fairness_app.command("exposure")
def fairness_exposure(
    harm_dataset: str = dataset_option("Dataset of area counts by LSOA (the harm)."),
    level: str = typer.Option("lsoa", help="lsoa, ward or borough."),
    factor: float = typer.Option(2.0, help="Flag when exposure share > factor x harm share."),
    groups: str = typer.Option("serious_violence", help="Offence groups for harm."),
    home: Path | None = HOME,
    server: str | None = SERVER,
    as_json: bool = JSON,
) -> None:
    """Deployment exposure (km2 x hours) against harm per area, with flags."""
    from patrolcast.geo import boundaries
    from patrolcast.governance.clock import SystemClock
    from patrolcast.oversight.fairness import exposure_by_area, exposure_vs_harm, harm_to_areas
    from patrolcast.oversight.records import exposures

    readers = {
        "lsoa": (boundaries.read_lsoa_boundaries, "boundaries/london_lsoa2021_by_borough_shp.zip"),
        "ward": (boundaries.read_ward_boundaries, "boundaries/london_wards.zip"),
        "borough": (boundaries.read_borough_boundaries, "boundaries/london_boroughs.gpkg"),
    }
    if level not in readers:
        raise InputError("--level must be lsoa, ward or borough")
    read, rel = readers[level]
    areas = read(_shared(rel))
    clock = SystemClock()
    views = _views(server)
    exposure = exposure_by_area(exposures(views, now=clock.now()), areas)
    counts = _store(home).area_counts(
        harm_dataset, groups=[g for g in groups.split(",") if g])
    harm = counts.groupby("area_code")["harm"].sum()
    if level != "lsoa":
        lsoas = boundaries.read_lsoa_boundaries(_shared(readers["lsoa"][1]))
        harm = harm_to_areas(harm, lsoas, areas)
    import pandas as pd

    names = pd.Series(list(areas.names), index=list(areas.ids))
    table = exposure_vs_harm(exposure, harm, factor=factor, names=names)
    flagged = table[table["flagged"]]
    payload = {"factor": factor, "level": level, "flagged": json.loads(
        flagged.reset_index().to_json(orient="records"))}
    _emit(payload, as_json, flagged.to_string() if len(flagged) else "no area flagged")


@fairness_app.command("feedback")
def fairness_feedback(
    rates: str = typer.Option("1.0,0.8", help="True daily crime rates per area (comma list)."),
    discovered: str = typer.Option("0,0.1,0.25,0.5,1", help="Discovered shares to sweep."),
    policy: str = typer.Option("top", help="'top' (hotspot list) or 'urn' (Ensign et al.)."),
    days: int = typer.Option(365, help="Days simulated."),
    runs: int = typer.Option(200, help="Independent runs."),
    k: int = typer.Option(1, help="Areas patrolled per day."),
    seed: int = typer.Option(0, help="Random seed."),
    out: Path | None = out_option(
        None, "feedback_<policy>.png, the forecast share over time (default: no plot)"),
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """The Ensign et al. (2018) feedback-loop simulation: does the loop run away?"""
    from patrolcast.oversight.feedback import sweep_discovery

    try:
        lam = [float(v) for v in rates.split(",")]
        shares = [float(v) for v in discovered.split(",")]
    except ValueError:
        raise InputError("--rates and --discovered are comma-separated numbers") from None
    with progress("feedback simulation", quiet=quiet or as_json):
        rows = sweep_discovery(lam, shares, policy=policy, days=days, n_reps=runs, k=k,
                               seed=seed)
        if out is not None:
            _feedback_plot(lam, shares, policy=policy, days=days, seed=seed, k=k,
                           path=out_folder(out) / f"feedback_{policy}.png")
    text = "\n".join(
        f"discovered={r['discovered']:<5} mean TV distance={r['mean_tv_distance']:.3f} "
        f"locked in={r['locked_in_runs']:.0%} wrong top area={r['wrong_top_area_runs']:.0%} "
        f"forecast share={r['mean_forecast_share']}" for r in rows
    )
    _emit(rows, as_json, text)


def _feedback_plot(rates: list[float], shares: list[float], *, policy: str, days: int,
                   seed: int, k: int, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from patrolcast.oversight.feedback import simulate_feedback

    fig, axes = plt.subplots(1, len(shares), figsize=(3.2 * len(shares), 3), sharey=True)
    for ax, d in zip(list(getattr(axes, "flat", [axes])), shares, strict=True):
        result = simulate_feedback(rates, discovered=d, days=days, n_reps=20, policy=policy,
                                   seed=seed, k=k, track=True)
        assert result.history is not None
        ax.plot(result.history.T, lw=0.7, alpha=0.6)
        ax.axhline(result.true_share.max(), color="k", ls="--", lw=1)
        ax.set_title(f"discovered = {d:g}")
        ax.set_xlabel("day")
    axes_list = list(getattr(axes, "flat", [axes]))
    axes_list[0].set_ylabel("forecast share of the higher-rate area")
    fig.suptitle(f"Feedback loop ({policy} policy, 20 runs; dashed: true share)")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


# ----------------------------------------------------------------------- transparency
def transparency(
    month: str = typer.Option(..., help="Month to report, YYYY-MM (Europe/London)."),
    out: Path = out_option(
        Path("transparency"), "the public files (HTML, PDF, CSV, GeoJSON, JSON)"
    ),
    scenario: bool = typer.Option(
        False, help="Build from the synthetic scenario month in a throwaway database (demo)."),
    server: str | None = SERVER,
    quiet: bool = QUIET,
    as_json: bool = JSON,
) -> None:
    """Monthly public transparency report: HTML, CSV and GeoJSON, small counts suppressed."""
    from patrolcast.geo.boundaries import read_borough_boundaries
    from patrolcast.governance import service
    from patrolcast.governance.clock import FixedClock, SystemClock
    from patrolcast.governance.db import open_database
    from patrolcast.oversight.atrs import algorithm_record
    from patrolcast.oversight.grading import load_weights
    from patrolcast.oversight.records import deployment_records
    from patrolcast.oversight.scenario_db import AUDITOR, run_month
    from patrolcast.oversight.transparency import (
        build_report,
        month_bounds,
        summary_lines,
        write_csv,
        write_geojson,
        write_html,
        write_json,
        write_pdf,
        write_public_key,
    )

    month_bounds(month)  # a bad month is refused before anything is written
    clock: Any = SystemClock()
    public_key: str | None = None  # the scenario's throwaway database has no signed log
    with progress(f"transparency report {month}", quiet=quiet or as_json):
        if scenario:
            # The scenario's database holds unsuppressed records: it lives in a private temporary
            # folder and never beside the public files.
            import tempfile

            with tempfile.TemporaryDirectory(prefix="patrolcast-scenario-") as private:
                database = open_database(f"sqlite:///{Path(private) / 'scenario.db'}")
                try:
                    _, report_time = run_month(database, month)
                    clock = FixedClock(report_time)
                    with database.session() as s:
                        views = service.list_proposals(s, actor=AUDITOR, clock=clock)
                finally:
                    database.dispose()
        else:
            views = _views(server)
            # The public key the public checks exports against, as the server publishes it.
            public_key = _client(server).request("GET", "/api/audit/public-key")
        try:
            boroughs = read_borough_boundaries(_shared("boundaries/london_boroughs.gpkg"))
            names = dict(zip(boroughs.ids, boroughs.names, strict=True))
        except InputError:
            boroughs, names = None, {}
        report = build_report(
            deployment_records(views), month, generated_at=clock.now(), borough_names=names,
            atrs=algorithm_record(grading_weights=load_weights().as_dict()),
            audit_public_key_pem=public_key,
        )
    out.mkdir(parents=True, exist_ok=True)
    files = [
        write_html(report, out / f"transparency-{month}.html"),
        write_pdf(report, out / f"transparency-{month}.pdf"),
        write_csv(report, out / f"transparency-{month}.csv"),
        write_geojson(report, out / f"transparency-{month}.geojson", boroughs),
        write_json(report, out / f"transparency-{month}.json"),
    ]
    key_file = write_public_key(report, out / "audit-public-key.pem")
    if key_file is not None:
        files.append(key_file)
    payload = {"month": month, "files": [str(f) for f in files], "headline": report.headline}
    _emit(payload, as_json, "\n".join([*summary_lines(report), "", *(f"wrote {f}" for f in files)]))


def register(app: typer.Typer) -> None:
    app.add_typer(intel_app, name="intel")
    app.add_typer(cia_app, name="cia")
    app.add_typer(fairness_app, name="fairness")
    report_app.command("transparency")(transparency)


__all__ = ["register"]

