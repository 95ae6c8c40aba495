"""``patrolcast near-repeat`` and ``patrolcast alert``: the imminent-violence commands."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import typer

from patrolcast.app.times import time_help
from patrolcast.cli.options import (
    BOUNDARY,
    HOME,
    JSON,
    LAYER,
    PERMUTATIONS,
    QUIET,
    STUDY_AREA,
    WHERE,
    dataset_option,
    out_folder,
    out_option,
    progress,
    reading_home,
    writing_home,
)
from patrolcast.errors import InputError


def dataset_time(text: str, dataset: str, home: Path | None, option: str) -> float:
    """A time typed for ``dataset`` (the one time rule: no zone = the dataset's own zone)."""
    from patrolcast.app.times import parse_dataset_time
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.events import to_days

    return to_days(parse_dataset_time(text, open_store(home), dataset, option=option))


def parse_bands(text: str, what: str) -> tuple[float, ...]:
    try:
        return tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise InputError(
            f"{what} bands must be numbers separated by commas, got {text!r}"
        ) from None


def _groups(text: str) -> list[str] | None:
    return [g.strip() for g in text.split(",") if g.strip()] or None




def _study(
    dataset: str,
    groups: str,
    home: Path | None,
    *,
    cell_size: float = 250.0,
    boundary: Path | None = None,
    layer: str = "",
    where: str = "",
    study_area: str = "default",
) -> Any:
    """The dataset's events inside its study area, and the grid over it (as ``forecast``)."""
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.evaluate.study import load_study

    if not cell_size > 0:
        raise InputError(f"--cell-size must be positive, got {cell_size!r}")
    return load_study(
        open_store(home), dataset, level="grid", cell_size=cell_size,
        groups=tuple(_groups(groups) or ()) or None, boundary=boundary,
        layer=layer or None, where=where or None, study_area=study_area.strip().lower(),
    )  # fmt: skip


def _kernel(text: str) -> str:
    from patrolcast.forecast.etas import KERNELS

    name = text.strip().lower()
    if name not in KERNELS:
        raise InputError(f"--kernel must be one of {', '.join(KERNELS)}, got {text!r}")
    return name


def _time_params(time_scales: int, kernel: str) -> dict[str, Any]:
    """The model settings of ``--time-scales`` (refused with the histogram kernel)."""
    from patrolcast.forecast.alert import time_scale_params

    params = time_scale_params(time_scales)
    if params and _kernel(kernel) != "gaussian":
        raise InputError("--time-scales 2 needs the gaussian kernel")
    return params


def _time_key(time_scales: int) -> dict[str, Any]:
    """The fit key's entry for ``--time-scales``: the variant's settings (none for one scale,
    so that earlier keys hold)."""
    from patrolcast.forecast.alert import time_scale_params

    params = time_scale_params(time_scales)
    return {"time_scales": time_scales, "time_model": params} if params else {}


def _delays(p: dict[str, Any]) -> str:
    """`` (short d x share, long d x share)`` for a fit of two time scales, else nothing."""
    delays = p.get("mean_trigger_delays_days", [])
    if len(delays) < 2:
        return ""
    parts = (f"{d:.1f} d x {w:.0%}" for d, w in zip(delays, p["time_weights"], strict=True))
    return f" ({', '.join(parts)})"


def _model_store(home: Path | None) -> Any:
    """Fits kept under the data home (``<home>/models``), beside the analytical store."""
    from patrolcast.evaluate.jobs import open_store
    from patrolcast.forecast.model_store import ModelStore

    reading_home(home)  # the data are there: a missing home is refused, never created
    return ModelStore(Path(open_store(home).root).parent / "models")


def _area_doc(study: Any) -> dict[str, Any]:
    """The study area as every output records it: source, km2, events left out, warnings."""
    doc = dict(study.study_area_json())
    if study.warnings:
        doc["warnings"] = list(study.warnings)
    return doc


def _print_area(doc: dict[str, Any]) -> None:
    typer.echo(
        f"study area: {doc.get('source')} ({float(doc.get('km2', 0)):,.1f} km2), "
        f"{float(doc.get('events_outside', 0)):,.0f} events outside left out"
    )
    for warning in doc.get("warnings", []):
        typer.echo(f"warning: {warning}")


def _in_period(events: Any, dataset: str, start: str, end: str, home: Path | None) -> Any:
    keep = np.ones(len(events), dtype=bool)
    if start:
        keep &= events.t >= dataset_time(start, dataset, home, "--start")
    if end:
        keep &= events.t < dataset_time(end, dataset, home, "--end")
    events = events.select(keep)
    if len(events) == 0:
        raise InputError(f"dataset {dataset!r} has no events for these groups and dates")
    return events


def register(app: typer.Typer) -> None:
    register_simulate(app)

    @app.command("near-repeat")
    def near_repeat(
        dataset: str = dataset_option(),
        groups: str = typer.Option("", help="Offence groups (comma-separated); default all."),
        start: str = typer.Option("", help=time_help("First time included", dataset=True)),
        end: str = typer.Option("", help=time_help("End of the period, excluded", dataset=True)),
        space_bands: str = typer.Option("0,100,200,400", help="Distance band edges, metres."),
        time_bands: str = typer.Option("0,7,14,28", help="Time band edges, days."),
        permutations: int = PERMUTATIONS,
        seed: int = typer.Option(0, help="Seed of the shuffles."),
        metric: str = typer.Option("euclidean", help="Distance: euclidean or manhattan."),
        same_location: bool = typer.Option(
            False, "--same-location", help="Add a first band for pairs at the same place."
        ),
        block_length: float | None = typer.Option(
            None, help="Metres per block: the space bands are then given in blocks."
        ),
        time_unit: str = typer.Option("days", help="Unit of the time bands: days or hours."),
        out: Path | None = out_option(
            None, "the heatmap of ratios (PNG) and the table in the Near Repeat Calculator's "
            "layout (CSV)"
        ),
        boundary: Path | None = BOUNDARY,
        layer: str = LAYER,
        where: str = WHERE,
        study_area: str = STUDY_AREA,
        home: Path | None = HOME,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Knox test of near repeats: observed/expected pairs per distance and time band."""
        from patrolcast.forecast.near_repeat import knox_test, plot_knox

        reading_home(home)
        label = f"{dataset} near repeats"
        with progress(label, quiet=quiet or as_json) as step:
            step.label(f"{label}: reading the data and the study area")
            study = _study(dataset, groups, home, boundary=boundary, layer=layer, where=where,
                           study_area=study_area)  # fmt: skip
            events = _in_period(study.events, dataset, start, end, home)
            step.label(f"{label}: {len(events):,} events, {permutations} permutations")
            result = knox_test(
                events.t, events.x, events.y,
                space_bands=parse_bands(space_bands, "space"),
                time_bands=parse_bands(time_bands, "time"),
                permutations=permutations, seed=seed, time_precision=events.time_precision,
                metric=metric.strip().lower(), same_location=same_location,
                block_length=block_length, time_unit=time_unit.strip().lower(),
            )  # fmt: skip
        written: list[Path] = []
        if out is not None:
            folder = out_folder(out)
            png = folder / f"{dataset}_knox.png"
            plot_knox(result, png, title=f"Near repeats: {dataset}")
            nrc_csv = folder / f"{dataset}_knox_nrc.csv"
            nrc_csv.write_text(result.to_nrc_csv(), encoding="utf-8")
            written = [png, nrc_csv]
        if as_json:
            doc = result.to_dict()
            doc["dataset"] = dataset
            doc["study_area"] = _area_doc(study)
            typer.echo(json.dumps(doc, indent=1))
            return
        from rich.console import Console
        from rich.table import Table

        _print_area(_area_doc(study))
        table = Table(
            title=f"Knox ratios, {dataset}: {result.n_events:,} events, "
            f"{result.permutations} permutations (* p<0.05, ** p<0.01)"
        )
        table.add_column("distance")
        for label in result.time_labels:
            table.add_column(label, justify="right")
        for row in result.to_markdown().splitlines()[2:]:
            table.add_row(*[c.strip() for c in row.strip("|").split("|")])
        Console().print(table)
        for path in written:
            typer.echo(f"wrote {path}")

    alert_app = typer.Typer(help="Serious-assault alerts: issue one, or replay a period.")
    app.add_typer(alert_app, name="alert")

    @alert_app.callback(invoke_without_command=True)
    def alert(
        ctx: typer.Context,
        dataset: str = dataset_option(required=False),
        time: str = typer.Option("", "--time", help=time_help("When it happened", dataset=True)),
        offence: str = typer.Option("", help="Offence, e.g. 'shooting', 'fatal shooting'."),
        x: float | None = typer.Option(None, "--x", help="Easting in the dataset's CRS, m."),
        y: float | None = typer.Option(None, "--y", help="Northing in the dataset's CRS, m."),
        lon: float | None = typer.Option(None, "--lon", help="Longitude (WGS84)."),
        lat: float | None = typer.Option(None, "--lat", help="Latitude (WGS84)."),
        days: int = typer.Option(14, help="Days ahead."),
        groups: str = typer.Option("", help="Offence groups to learn from; default all."),
        history_days: float = typer.Option(730.0, help="Days of history to fit on."),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        min_ratio: float = typer.Option(
            0.02, help="Keep cells the incident raises by this share of their background "
            "(--zone ratio)."
        ),
        zone: str = typer.Option(
            "core", help="Shape of the model's zone: core (the cells and first days holding "
            "half of the incident's expected near repeats: the fitted kernel's core) or ratio "
            "(cells raised by --min-ratio, for --days).",
        ),
        permutations: int = PERMUTATIONS,
        geojson: Path | None = typer.Option(None, help="Write the raised cells as GeoJSON."),
        max_fit_age: float = typer.Option(
            28.0, help="Reuse a stored fit at most this many days old (conditioned on the events "
            "since); older: refit and store.",
        ),
        refit: bool = typer.Option(False, "--refit", help="Fit anew even if a fit is stored."),
        kernel: str = typer.Option(
            "gaussian", help="Triggering kernel: gaussian (one or two scales, exponential decay) "
            "or histogram (distance x time bins, stochastic declustering).",
        ),
        time_scales: int = typer.Option(
            1, "--time-scales", help="Exponential time scales of the gaussian kernel: 1, or 2 "
            "(a short one, mean delay up to 30 days, and a long one of 30-120 days).",
        ),
        boundary: Path | None = BOUNDARY,
        layer: str = LAYER,
        where: str = WHERE,
        study_area: str = STUDY_AREA,
        home: Path | None = HOME,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Cells whose risk a new serious incident raises, by how much, and for how long.

        The zone comes from the self-exciting model when its fit is trustworthy, else from the
        near-repeat (Knox) table, and the alert says which and why.
        """
        if ctx.invoked_subcommand is not None:
            return
        if not dataset or not time or not offence:
            raise InputError("give --dataset, --time and --offence (or: alert backtest ...)")
        from patrolcast.forecast.alert import (
            ZONE_SHAPES,
            alert_model,
            mark_of_offence,
            serious_assault_alert,
        )
        from patrolcast.forecast.near_repeat import knox_test

        if zone.strip().lower() not in ZONE_SHAPES:  # refused before any fit
            raise InputError(f"unknown zone shape {zone!r}: use {' or '.join(ZONE_SHAPES)}")
        _time_params(time_scales, kernel)  # refused before any fit
        reading_home(home)  # the data are there: refused if missing
        writing_home(home, quiet=quiet or as_json)  # fitted models are stored under it
        t = dataset_time(time, dataset, home, "--time")
        if (x is None) != (y is None) or (lon is None) != (lat is None):
            raise InputError("give both --x and --y, or both --lon and --lat")
        if (x is None) == (lon is None):
            raise InputError("give the place as --x/--y (metres) or as --lon/--lat, not both")
        mark = mark_of_offence(offence)
        label = f"{dataset} alert"
        with progress(label, quiet=quiet or as_json) as step:
            step.label(f"{label}: reading the data and the study area")
            study = _study(dataset, groups, home, cell_size=cell_size, boundary=boundary,
                           layer=layer, where=where, study_area=study_area)  # fmt: skip
            everything = study.events
            if lon is not None and lat is not None:
                from pyproj import Transformer

                tr = Transformer.from_crs("EPSG:4326", everything.crs, always_xy=True)
                x, y = (float(v) for v in tr.transform(lon, lat))
            assert x is not None and y is not None
            area = study.study_area
            if area is not None and not bool(area.contains([x], [y])[0]):
                raise InputError(
                    f"the incident ({x:.0f}, {y:.0f}) lies outside the study area "
                    f"({area.source}): pass --boundary with an area that holds it"
                )
            history = everything.select(everything.t >= t - history_days).before(t)
            if len(history) < 20:
                raise InputError(
                    f"only {len(history)} events in the {history_days:g} days before {time}: "
                    "too few to fit a model (is the time inside the data's period?)"
                )
            from patrolcast.forecast.model_store import fit_key

            key = fit_key(dataset, study.study_area_json(), {
                "use": "alert", "groups": sorted(_groups(groups) or []),
                "history_days": history_days, "kernel": _kernel(kernel),
                **_time_key(time_scales),
            })  # fmt: skip
            step.label(f"{label}: the model (a stored fit, or a new one)")
            model, choice, used = alert_model(
                everything, t, store=_model_store(home), key=key, max_age_days=max_fit_age,
                refit=refit, history_days=history_days, kernel=_kernel(kernel),
                **_time_params(time_scales, kernel),
            )  # fmt: skip
            step.label(f"{label}: near-repeat table, {permutations} permutations")
            knox = knox_test(
                history.t, history.x, history.y, permutations=permutations,
                time_precision=history.time_precision,
            )  # fmt: skip
            step.label(f"{label}: raised cells")
            result = serious_assault_alert(
                model, study.support, x=x, y=y, t=t, mark=mark if model.marked else None,
                days=days, knox=knox, min_ratio=min_ratio, shape=zone.strip().lower(),
            )  # fmt: skip
        if geojson is not None:
            result.write_geojson(geojson)
        if as_json:
            doc = result.to_dict()
            doc["dataset"] = dataset
            doc["incident"]["offence"] = offence
            doc["model_selection"] = choice
            doc["fit_used"] = used
            doc["study_area"] = _area_doc(study)
            typer.echo(json.dumps(doc, indent=1))
            return
        _print_area(_area_doc(study))
        _print_fit(used)
        _print_alert(result, dataset, offence, geojson)

    @alert_app.command("backtest")
    def alert_backtest(
        dataset: str = dataset_option(),
        start: str = typer.Option(..., help=time_help("First incident time replayed",
                                                      dataset=True)),
        end: str = typer.Option(..., help=time_help("End of the replayed period, excluded",
                                                    dataset=True)),
        offences: str = typer.Option(
            "all", help="Which incidents issue an alert: 'all', or 'fatal' (fatal only)."
        ),
        groups: str = typer.Option("", help="Offence groups to load; default all."),
        days: int = typer.Option(14, help="Days each model alert lasts."),
        refit_days: float = typer.Option(28.0, help="Refit the model every this many days."),
        history_days: float = typer.Option(730.0, help="Days of history each fit uses."),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        min_ratio: float = typer.Option(0.02, help="The alert's min_ratio (model zone)."),
        zone: str = typer.Option("core", help="Shape of the issued model zone: core or ratio."),
        permutations: int = PERMUTATIONS,
        refit: bool = typer.Option(
            False, "--refit", help="Fit every scheduled model anew, even if it is stored."
        ),
        kernel: str = typer.Option(
            "gaussian", help="Triggering kernel: gaussian (one or two scales, exponential decay) "
            "or histogram (distance x time bins, stochastic declustering).",
        ),
        time_scales: int = typer.Option(
            1, "--time-scales", help="Exponential time scales of the gaussian kernel: 1, or 2 "
            "(a short one, mean delay up to 30 days, and a long one of 30-120 days).",
        ),
        out: Path | None = out_option(
            None, "the full JSON result and the lift-by-distance plot (PNG)"
        ),
        boundary: Path | None = BOUNDARY,
        layer: str = LAYER,
        where: str = WHERE,
        study_area: str = STUDY_AREA,
        home: Path | None = HOME,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Replay a period: issue every alert as it would have been, score what followed."""
        from patrolcast.evaluate.alert_backtest import (
            AlertBacktestSpec,
            plot_lift,
            run_alert_backtest,
        )
        from patrolcast.forecast.model_store import fit_key

        choice = offences.strip().lower()
        if choice not in ("all", "fatal"):
            raise InputError(f"--offences must be 'all' or 'fatal', got {offences!r}")
        reading_home(home)  # the data are there: refused if missing
        writing_home(home, quiet=quiet or as_json)  # the scheduled fits are stored under it
        spec = AlertBacktestSpec(
            start=dataset_time(start, dataset, home, "--start"),
            end=dataset_time(end, dataset, home, "--end"), days=days, refit_days=refit_days,
            history_days=history_days, min_ratio=min_ratio, permutations=permutations,
            serious_marks=(1,) if choice == "fatal" else None, zone=zone.strip().lower(),
        )  # fmt: skip
        label = f"{dataset} alert backtest"
        with progress(label, quiet=quiet or as_json) as step:
            step.label(f"{label}: reading the data and the study area")
            study = _study(dataset, groups, home, cell_size=cell_size, boundary=boundary,
                           layer=layer, where=where, study_area=study_area)  # fmt: skip
            key = fit_key(dataset, study.study_area_json(), {
                "use": "alert backtest", "groups": sorted(_groups(groups) or []),
                "history_days": history_days, "kernel": _kernel(kernel),
                **_time_key(time_scales),
            })  # fmt: skip

            def on_fit(fit: dict[str, Any]) -> None:
                used = fit.get("fit_used", {})
                step.label(
                    f"{label}: fit {fit['cutoff'][:10]} "
                    f"{'read back' if used.get('reused') else 'fitted'}, "
                    f"{'converged' if fit['converged'] else 'NOT converged'}, "
                    f"{'trustworthy' if fit['trustworthy'] else 'falls back to Knox'}; alerts"
                )

            def on_alerts(done: int, total: int) -> None:
                step.total(total)
                step.update(done)

            result = run_alert_backtest(
                study.events, study.support, spec, progress=on_fit, on_alert=on_alerts,
                store=_model_store(home), store_key=key, refit=refit, kernel=_kernel(kernel),
                **_time_params(time_scales, kernel),
            )  # fmt: skip
        doc = result.to_dict()
        doc["dataset"] = dataset
        doc["study_area"] = _area_doc(study)
        doc["model_settings"] = {"kernel": _kernel(kernel), "time_scales": time_scales}
        if out is not None:
            folder = out_folder(out)
            stem = f"{dataset}_alert_backtest_{doc['period'][0][:10]}_{doc['period'][1][:10]}"
            plot_lift(result, folder / f"{stem}.png", title=f"Lift after an incident: {dataset}")
            (folder / f"{stem}.json").write_text(json.dumps(doc, indent=1), encoding="utf-8")
            doc["files"] = {"json": str(folder / f"{stem}.json"),
                            "png": str(folder / f"{stem}.png")}  # fmt: skip
        if as_json:
            typer.echo(json.dumps(doc, indent=1))
            return
        _print_backtest(doc)
        for path in doc.get("files", {}).values():
            typer.echo(f"wrote {path}")


def register_simulate(app: typer.Typer) -> None:
    @app.command()
    def simulate(
        out: Path = out_option(
            Path("out/simulate"), "simulated_etas.csv (t_days, x, y, mark, parent)"
        ),
        days: float = typer.Option(365.0, help="Days to simulate."),
        mu: float = typer.Option(10.0, help="Background events per day."),
        theta: float = typer.Option(0.5, help="Branching ratio (expected direct offspring)."),
        omega: float = typer.Option(0.2, help="Time decay, per day."),
        sigma: float = typer.Option(70.0, help="Spatial scale of triggering, metres."),
        boroughs: str = typer.Option(
            "", help="London boroughs (comma-separated) as the study area; default all 33."
        ),
        seed: int = typer.Option(0, help="Random seed."),
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Draw events from a known ETAS model on London boroughs (for tests and benchmarks)."""
        import pandas as pd

        from patrolcast.config import load_settings
        from patrolcast.forecast.simulate import ETASModel, london_area, simulate_etas

        try:
            model = ETASModel(mu=mu, theta=(theta,), omega=omega, sigma=sigma)
        except ValueError as exc:
            raise InputError(str(exc)) from None
        names = [b.strip() for b in boroughs.split(",") if b.strip()] or None
        gpkg = load_settings().shared_data / "boundaries" / "london_boroughs.gpkg"
        sim = simulate_etas(model, london_area(gpkg, names), days=days, seed=seed)
        ev = sim.events
        out = out_folder(out) / "simulated_etas.csv"
        pd.DataFrame(
            {"t_days": ev.t, "x": ev.x, "y": ev.y, "mark": ev.mark, "parent": sim.parent}
        ).to_csv(out, index=False)
        summary = {
            "events": len(ev),
            "triggered_share": sim.triggered_share,
            "crs": ev.crs,
            "model": {"mu": mu, "theta": theta, "omega": omega, "sigma": sigma, "days": days},
            "seed": seed,
            "out": str(out),
        }
        if as_json:
            typer.echo(json.dumps(summary, indent=1))
        elif not quiet:
            typer.echo(f"wrote {len(ev):,} events ({sim.triggered_share:.0%} triggered) to {out}")


def _print_fit(used: dict[str, Any]) -> None:
    if used.get("reused"):
        typer.echo(
            f"fit: stored fit of {used['fit_cutoff']} UTC, {used['age_days']:.1f} days old, "
            f"conditioned on {used.get('events_since_fit', 0)} incidents since ({used['fit']})"
        )
    else:
        typer.echo(f"fit: {used['why']}" + (f", saved to {used['fit']}" if used.get("fit") else ""))


def _print_alert(result: Any, dataset: str, offence: str, geojson: Path | None) -> None:
    from rich.console import Console
    from rich.table import Table

    console = Console()
    p = result.model
    inc = result.incident
    console.print(
        f"[bold]{dataset}[/]: {offence} at ({inc['x']:.0f}, {inc['y']:.0f}) {inc['time']} UTC. "
        f"Model: branching ratio {inc['branching_ratio_used']:.2f} for this offence, mean delay "
        f"{p['mean_trigger_delay_days']:.1f} days{_delays(p)}, spatial scales "
        f"{', '.join(f'{v:.0f}' for v in p['sigmas_m'])} m; EM "
        f"{'converged' if p['converged'] else 'NOT converged'} in {p['n_iter']} iterations."
    )
    console.print(f"[bold]Rule: {result.rule['name']}[/] - {result.rule['reason']}")
    table = Table(title=f"{len(result.cells)} cells raised over the next {result.days} days")
    for col in ("cell", "dist m", "added events", "vs background", "this incident",
                "background", "past events", "day 1 RR", "top earlier event", "rule"):  # fmt: skip
        left = col in ("cell", "top earlier event", "rule")
        table.add_column(col, justify="left" if left else "right")
    for c in result.cells[:20]:
        rr = c.relative_risk_by_day
        top = c.top_past_events[0] if c.top_past_events else None
        table.add_row(
            c.unit_id, f"{c.distance_m:.0f}", f"{c.added_total:.3f}", f"+{c.ratio_total:.0%}",
            f"{c.shares['this_incident']:.0%}", f"{c.shares['background']:.0%}",
            f"{c.shares['past_events']:.0%}", f"{rr[0]:.1f}",
            f"{top['days_before']:.1f} d before, {top['distance_m']} m" if top else "-", c.rule,
        )  # fmt: skip
    console.print(table)
    if geojson is not None:
        console.print(f"wrote {geojson}")


def _print_backtest(doc: dict[str, Any]) -> None:
    from rich.console import Console
    from rich.table import Table

    def ci(pair: list[float] | None) -> str:
        return f" ({pair[0]:.2f}-{pair[1]:.2f})" if pair else ""

    console = Console()
    _print_area(doc["study_area"])
    console.print(
        f"[bold]{doc['dataset']}[/] {doc['period'][0][:10]} to {doc['period'][1][:10]}: "
        f"{doc['incidents']} incidents, {len(doc['fits'])} fits, {doc['fits_converged']} "
        f"converged, {doc['fits_trustworthy']} trustworthy (the others fall back to Knox); "
        f"{sum(1 for f in doc['fits'] if f.get('fit_used', {}).get('reused'))} read back from "
        "the model store."
    )
    table = Table(title="Alert zones scored against what followed")
    for col in ("rule", "alerts", "cells", "km2-days", "caught", "per km2-day", "lift",
                "obs / expected"):  # fmt: skip
        table.add_column(col, justify="left" if col == "rule" else "right")
    for name, r in doc["rules"].items():
        per = r["caught_per_km2_day"]
        table.add_row(
            name, str(r["alerts_with_zone"]), str(r["cells_flagged"]), f"{r['km2_days']:.0f}",
            str(r["events_caught"]), "-" if per is None else f"{per:.4f}",
            "-" if r["lift"] is None else f"{r['lift']:.2f}{ci(r.get('lift_bootstrap_95'))}",
            "-" if r["calibration"] is None
            else f"{r['calibration']:.2f}{ci(r.get('calibration_poisson_95'))}",
        )  # fmt: skip
    console.print(table)
