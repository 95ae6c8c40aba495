"""``patrolcast backtest`` and ``patrolcast report backtest``: thin adapters over evaluate.jobs."""

from __future__ import annotations

import json
from pathlib import Path

import typer

from patrolcast.cli.groups import report_app
from patrolcast.cli.options import (
    BOUNDARY,
    HOME,
    JSON,
    LAYER,
    QUIET,
    STUDY_AREA,
    WHERE,
    dataset_option,
    out_option,
    progress,
    reading_home,
    stderr_console,
    time_help,
)


def register(app: typer.Typer) -> None:
    @app.command()
    def backtest(
        dataset: str = dataset_option(),
        level: str = typer.Option("grid", help="grid (cells) or lsoa (LSOA 2021 areas)."),
        horizon: str = typer.Option("7d", help="Scoring window: 1d, 7d, 2w, 1M..."),
        origins: int = typer.Option(12, min=1, help="Number of rolling origins."),
        methods: str = typer.Option("naive,kde,prospective", help="Comma-separated methods."),
        lookback: str = typer.Option(
            "", help="Common training window before each origin (e.g. 365d, 6M); default: "
            "none, each method takes the history it asks for (stated in the report).",
        ),
        step: str = typer.Option("", help="Distance between origins (default: the horizon)."),
        protocol: str = typer.Option(
            "mask", help="mask: units with an event before each origin (the field's); area: all."
        ),
        boundary: Path | None = BOUNDARY,
        layer: str = LAYER,
        where: str = WHERE,
        study_area: str = STUDY_AREA,
        select: bool = typer.Option(
            True, "--select/--no-select",
            help="Choose kde/prospective parameters on data before the first origin (nested).",
        ),
        cell_size: float = typer.Option(250.0, "--cell-size", help="Grid cell size, metres."),
        groups: str = typer.Option(
            "", help="Offence groups (comma-separated); default: the dataset's violence groups."
        ),
        target: str = typer.Option("count", help="Rank and score by event count or harm."),
        end: str = typer.Option(
            "", help=time_help("End of the last scoring window; default: the end of the data",
                               dataset=True),
        ),
        executor: str = typer.Option("local", help="local (processes) or serial."),
        workers: int = typer.Option(0, min=0, help="Worker processes (0: all CPUs)."),
        n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap replicates."),
        seed: int = typer.Option(20080101, help="Bootstrap seed."),
        out: Path = out_option(Path("out/backtest"), "the JSON, markdown and PNG report"),
        home: Path | None = HOME,
        quiet: bool = QUIET,
        as_json: bool = JSON,
    ) -> None:
        """Rolling-origin backtest of forecasting methods on the same origins."""
        from patrolcast.evaluate.jobs import BacktestSpec, backtest_job, study_for

        spec = BacktestSpec.from_options(
            dataset=dataset,
            level=level,
            horizon=horizon,
            origins=origins,
            methods=methods,
            lookback=lookback or None,
            cell_size=cell_size,
            groups=groups or None,
            target=target,
            executor=executor,
            workers=workers or None,
            n_boot=n_boot,
            seed=seed,
            end=end or None,
            step=step or None,
            protocol=protocol,
            boundary=boundary,
            layer=layer or None,
            where=where or None,
            study_area=study_area,
            select=select,
        )
        settings = reading_home(home)
        with progress(f"backtest {dataset}: loading", quiet=quiet or as_json):
            study = study_for(spec, home=settings.home)
        with progress(f"backtest {dataset}", spec.origins, quiet=quiet or as_json) as tick:
            outcome = backtest_job(spec, out_dir=out, study=study, on_origin_done=tick)
        if as_json:
            typer.echo(json.dumps(outcome.summary_json(), indent=1))
            return
        from rich.console import Console

        from patrolcast.evaluate.report import rich_table

        console = stderr_console()
        for warning in outcome.result.meta.get("warnings", []):
            console.print(f"[bold yellow]warning:[/] {warning}")
        Console().print(rich_table(outcome.summary, title=outcome.title))
        Console().print(f"report: {', '.join(str(p) for p in outcome.paths.values())}")

    @report_app.command("backtest")
    def report_backtest(
        result: Path = typer.Argument(..., help="A JSON file written by `patrolcast backtest`."),
        out: Path | None = out_option(None, "a markdown and PNG copy of the report (optional)"),
        n_boot: int = typer.Option(2000, "--n-boot", min=100, help="Bootstrap replicates."),
        seed: int = typer.Option(20080101, help="Bootstrap seed."),
        as_json: bool = JSON,
    ) -> None:
        """Summarise a saved backtest: table with bootstrap CIs (and PNG with --out)."""
        from patrolcast.evaluate.bootstrap import summarise
        from patrolcast.evaluate.report import (
            load_json,
            rich_table,
            summary_json,
            write_report,
        )

        loaded = load_json(result)
        summary = summarise(loaded, n_boot=n_boot, seed=seed)
        paths = {}
        if out is not None:
            paths = write_report(loaded, out, name=result.stem, n_boot=n_boot, seed=seed,
                                 title=str(loaded.meta.get("title", result.stem)))
        if as_json:
            payload = summary_json(loaded, n_boot=n_boot, seed=seed)
            payload["files"] = {k: str(v) for k, v in paths.items()}
            typer.echo(json.dumps(payload, indent=1))
            return
        from rich.console import Console

        Console().print(rich_table(summary, title=str(loaded.meta.get("title", result.stem))))
        for path in paths.values():
            Console().print(f"wrote {path}")
