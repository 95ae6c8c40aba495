"""Deployment outcome reports and the quarterly evaluation report (HTML, and PDF via matplotlib).

Self-contained HTML in the look of the transparency report (:mod:`~patrolcast.oversight.
transparency`): no scripts and no external assets (plots are embedded PNGs), every text
escaped. Plots a panel can read: observed against expected with intervals, the dosage map, the
WDQ/WDD table, and the composition of the most-targeted areas from a fairness audit. The PDF
holds the same plots and headline tables, drawn by matplotlib's PDF backend (no download, no
browser engine).
"""

from __future__ import annotations

import base64
import html
import io
import textwrap
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from patrolcast.events import from_days
from patrolcast.oversight.outcomes.dosage import Dosage
from patrolcast.oversight.outcomes.outcome import DeploymentOutcome, pool_outcomes, pooled_ratio
from patrolcast.oversight.outcomes.pooling import PooledEffect

__all__ = [
    "plot_composition",
    "plot_dosage_map",
    "plot_observed_expected",
    "write_deployment_report",
    "write_quarterly_report",
]

# The transparency report's style sheet (oversight/transparency.py), so both reports look alike.
_CSS = (
    "body{font-family:system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem}"
    "table{border-collapse:collapse;margin:1rem 0}td,th{border:1px solid #999;padding:.25rem .5rem;"
    "text-align:right}th:first-child,td:first-child{text-align:left}caption{text-align:left;"
    "font-weight:bold}dt{font-weight:bold;margin-top:.5rem}img{max-width:100%}"
)


def _fmt(v: Any, digits: int = 2) -> str:
    if v is None:
        return "n/a"
    if isinstance(v, float | np.floating):
        if not np.isfinite(v):
            return "n/a"
        return f"{v:,.{digits}f}"
    return str(v)


def _when(days: float) -> str:
    return from_days(days).strftime("%Y-%m-%d %H:%M UTC")


def _table(caption: str, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    e = html.escape
    head = "".join(f"<th scope='col'>{e(str(h))}</th>" for h in header)
    body = "".join(
        "<tr><th scope='row'>" + e(_fmt(r[0])) + "</th>"
        + "".join(f"<td>{e(_fmt(c))}</td>" for c in r[1:]) + "</tr>"
        for r in rows
    )  # fmt: skip
    return f"<table><caption>{e(caption)}</caption><thead><tr>{head}</tr></thead>" \
           f"<tbody>{body}</tbody></table>"


def _png(fig: Any) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, bbox_inches="tight")
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode()
    return f"<img alt='figure' src='data:image/png;base64,{data}'>"


def _figure(width: float = 7.0, height: float = 3.2) -> tuple[Any, Any]:
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt

    return plt.subplots(figsize=(width, height))


def plot_observed_expected(outcomes: Sequence[DeploymentOutcome], *, title: str = "") -> Any:
    """Observed (dot) against expected (bar) with the interval of the counterfactual count,
    for each deployment's window and residual window; the forecast's interval where known."""
    fig, ax = _figure(7.0, max(2.4, 0.45 * len(outcomes) + 1.2))
    labels = []
    for i, o in enumerate(outcomes):
        y = len(outcomes) - 1 - i
        for shift, eff, colour in ((0.15, o.during, "tab:blue"), (-0.15, o.residual, "grey")):
            lo = eff.observed - eff.high
            hi = eff.observed - eff.low
            ax.plot([lo, hi], [y + shift] * 2, color=colour, lw=3, alpha=0.35)
            ax.plot(eff.expected, y + shift, "|", color=colour, ms=12)
            ax.plot(eff.observed, y + shift, "o", color=colour, ms=5)
        if o.forecast is not None:
            ax.plot([o.forecast.low, o.forecast.high], [y + 0.35] * 2, color="tab:orange", lw=1)
        labels.append(o.deployment_id)
    ax.set_yticks(range(len(outcomes)), labels[::-1])
    ax.set_xlabel(f"{outcomes[0].measure if outcomes else 'count'} in the treated area")
    ax.set_title(title or "Observed (dot) vs expected (tick) with 95% intervals: window (blue), "
                 "after (grey), forecast (orange)", fontsize=8)  # fmt: skip
    return fig


def plot_dosage_map(dosage: Dosage, grid: Any, area: Any | None = None) -> Any:
    """Patrol minutes per cell over the window, the authorised area outlined."""
    fig, ax = _figure(5.0, 4.5)
    per = dosage.per_cell
    index = {cid: i for i, cid in enumerate(grid.unit_ids)}
    values = np.full(grid.n_units, np.nan)
    for cid, minutes in per.items():
        if cid in index:
            values[index[cid]] = minutes
    raster = grid.to_raster(np.nan_to_num(values, nan=0.0), fill=0.0)
    extent = (grid.x0, grid.x0 + grid.nx * grid.cell_size, grid.y0,
              grid.y0 + grid.ny * grid.cell_size)  # fmt: skip
    shown = np.where(raster > 0, raster, np.nan)
    img = ax.imshow(shown, origin="lower", extent=extent, cmap="viridis")
    fig.colorbar(img, ax=ax, label="unit-minutes")
    if area is not None:
        xs, ys = area.exterior.xy if hasattr(area, "exterior") else area.convex_hull.exterior.xy
        ax.plot(xs, ys, color="red", lw=1)
    ax.set_title(f"Delivered {dosage.delivered_unit_hours:.1f} of {dosage.authorised_hours:.1f} "
                 "authorised hours", fontsize=9)  # fmt: skip
    ax.set_aspect("equal")
    ax.ticklabel_format(useOffset=False, style="plain")
    ax.tick_params(labelsize=7)
    ax.set_xlabel(f"easting (m, {grid.crs})", fontsize=8)
    ax.set_ylabel("northing (m)", fontsize=8)
    return fig


def plot_composition(audit: Any) -> Any:
    """Each group's share in the most-, median- and least-targeted windows relative to the
    jurisdiction (1 = parity), from a :class:`~patrolcast.oversight.fairness_audit.
    FairnessAudit`."""
    fig, ax = _figure(6.5, 3.0)
    g = audit.groups
    x = np.arange(len(g.index))
    for k, (name, colour) in enumerate((("most", "tab:red"), ("median", "tab:grey"),
                                        ("least", "tab:blue"))):  # fmt: skip
        ax.bar(x + (k - 1) * 0.27, g[f"{name}_ratio"], width=0.27, color=colour,
               label=f"{name}-targeted {audit.window_areas} areas")
    ax.axhline(1.0, color="black", lw=0.8)
    ax.set_xticks(x, [str(i) for i in g.index])
    ax.set_ylabel("share / jurisdiction share")
    ax.legend(fontsize=7)
    return fig


def _deployment_section(o: DeploymentOutcome) -> str:
    p = o.periods
    rows = [
        ("before", o.treated["pre"], o.buffer["pre"], o.control["pre"], _when(p.pre.start)),
        ("during", o.treated["during"], o.buffer["during"], o.control["during"],
         _when(p.during.start)),
        ("after", o.treated["post"], o.buffer["post"], o.control["post"], _when(p.post.start)),
    ]  # fmt: skip
    parts = [_table(f"{o.deployment_id}: {o.measure} by area and period",
                    ["period", "treated", "buffer", f"{len(o.control_ids)} matched controls",
                     "from"], rows)]  # fmt: skip
    eff_rows = []
    for label, e in (("during the window", o.during), ("after (residual)", o.residual)):
        rr = e.rate_ratio
        eff_rows.append((label, e.observed, e.expected, e.difference, e.low, e.high, rr[0],
                         rr[1], rr[2], e.p_value))
    parts.append(_table("Observed against matched-control counterfactual (95% intervals)",
                        ["window", "observed", "expected", "difference", "low", "high",
                         "rate ratio", "low", "high", "p"], eff_rows))  # fmt: skip
    if o.forecast is not None:
        f = o.forecast
        parts.append(_table("Observed against the forecast relied on",
                            ["", "observed", "forecast", "interval low", "interval high",
                             "within"],
                            [("window", f.observed, f.expected, f.low, f.high,
                              "yes" if f.within else "no")]))  # fmt: skip
    w, d = o.wdq, o.wdd
    parts.append(_table("Displacement: WDQ (Bowers & Johnson 2003), WDD (Wheeler & Ratcliffe "
                        "2018)", ["measure", "value", "low", "high", "reading"],
                        [("WDQ", w.wdq, None, None, w.reading),
                         ("success measure", w.success_measure, None, None, ""),
                         ("buffer measure", w.buffer_measure, None, None, ""),
                         ("WDD", d.wdd, d.low, d.high, "negative: net reduction"),
                         ("WDD, Poisson SE as published", o.wdd_poisson.wdd, o.wdd_poisson.low,
                          o.wdd_poisson.high, "")]))  # fmt: skip
    if o.notes:
        parts.append("<ul>" + "".join(f"<li>{html.escape(n)}</li>" for n in o.notes) + "</ul>")
    return "".join(parts)


def _page(title: str, body: list[str]) -> str:
    e = html.escape
    return ("<!doctype html><html lang='en'><head><meta charset='utf-8'>"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
            f"<h1>{e(title)}</h1>" + "".join(body) + "</body></html>")  # fmt: skip


_METHOD = (
    "Expected counts come from matched control areas (nearest neighbours on pre-period level "
    "and trend); intervals are negative-binomial, with the extra-Poisson variation estimated "
    "from every candidate control. An interval holding zero means no effect could be shown, "
    "not that there was none. No names and no people: places, times and pseudonymous units."
)


def write_deployment_report(
    outcome: DeploymentOutcome,
    path: Path,
    *,
    generated_at: datetime,
    dosage: Dosage | None = None,
    grid: Any | None = None,
    area: Any | None = None,
    pdf: bool = False,
) -> list[Path]:
    """The outcome report of one deployment (HTML; PDF too when ``pdf``)."""
    figs = [plot_observed_expected([outcome])]
    stamp = html.escape(generated_at.astimezone(UTC).isoformat())
    body = [f"<p>Generated {stamp}. {html.escape(_METHOD)}</p>", "<h2>Outcome</h2>",
            _deployment_section(outcome)]
    if dosage is not None:
        body.append("<h2>Dosage delivered</h2>")
        d = dosage.as_dict()
        body.append(_table("Delivered against authorised", ["measure", "value"], [
            ("unit-hours delivered in the area", d["delivered_unit_hours"]),
            ("authorised hours", d["authorised_hours"]),
            ("visits", d["visits"]),
            ("median dwell (min)", d["median_dwell_minutes"]),
            *[(f"visits {k}", v) for k, v in d["dwell_bands"].items()],
            ("hours of the window with no patrol", len(d["hours_without_patrol"])),
            ("unit-minutes outside the area", d["outside_area_unit_minutes"]),
            ("fixes outside the window", d["fixes_outside_window"]),
            ("signal gaps", len(d["signal_gaps"])),
        ]))  # fmt: skip
        if grid is not None:
            figs.append(plot_dosage_map(dosage, grid, area))
    return _write(path, f"Deployment outcome: {outcome.deployment_id}", body, figs, pdf)


def write_quarterly_report(
    outcomes: Sequence[DeploymentOutcome],
    path: Path,
    *,
    quarter: str,
    generated_at: datetime,
    pooled: PooledEffect | None = None,
    audit: Any | None = None,
    pdf: bool = False,
) -> list[Path]:
    """The quarterly evaluation report: every debriefed deployment, the pooled estimate, the
    WDQ table and the composition of the most-targeted areas."""
    figs = [plot_observed_expected(list(outcomes))] if outcomes else []
    body = [f"<p>Generated {html.escape(generated_at.astimezone(UTC).isoformat())}; "
            f"{len(outcomes)} debriefed deployments. {html.escape(_METHOD)}</p>"]  # fmt: skip
    rows = []
    for o in outcomes:
        rr = o.during.rate_ratio
        rows.append((o.deployment_id, o.during.observed, o.during.expected, o.during.low,
                     o.during.high, rr[0], o.residual.difference, o.wdq.wdq, o.wdd.wdd,
                     o.wdd.low, o.wdd.high))  # fmt: skip
    body.append(_table("Deployments: window effect, residual effect, displacement",
                       ["deployment", "observed", "expected", "diff low", "diff high",
                        "rate ratio", "after: diff", "WDQ", "WDD", "WDD low", "WDD high"],
                       rows))  # fmt: skip
    if pooled is not None:
        rr = pooled.rate_ratio
        pooled_rows: list[tuple[Any, ...]] = [
            ("rate ratio, random effects on the log scale", rr[0], rr[1], rr[2], pooled.tau2,
             pooled.k)]
        if len(outcomes) >= 2 and sum(o.during.observed for o in outcomes) > 0:
            r = pooled_ratio(outcomes)
            d = pool_outcomes(outcomes, scale="difference")
            pooled_rows += [("rate ratio, sum observed / sum expected", r.rate_ratio, r.low, r.high,
                      None, r.k),
                     ("events per deployment, random effects", d.estimate, d.low, d.high,
                      d.tau2, d.k)]
        body.append(_table("Pooled over deployments (DerSimonian-Laird random effects; the "
                           "log scale leans low when deployments have few events)",
                           ["estimate", "value", "low", "high", "tau²", "k"],
                           pooled_rows))  # fmt: skip
    if audit is not None:
        g = audit.groups
        body.append("<h2>Who lives in the most-targeted areas</h2>")
        body.append(_table(
            f"Share of each group in windows of {audit.window_areas} of {audit.n_areas} areas, "
            "relative to the jurisdiction (1 = parity)",
            ["group", "jurisdiction share", "most", "median", "least", "above median"],
            [(str(k), r["jurisdiction_share"], r["most_ratio"], r["median_ratio"],
              r["least_ratio"], r["above_median_share"]) for k, r in g.iterrows()],
        ))  # fmt: skip
        c = audit.concentration
        body.append(_table("Concentration of the forecast", ["measure", "value"],
                           [("Gini", c["gini"]), ("share in the top 5% of areas",
                                                  c["top_window_share"])]))  # fmt: skip
        figs.append(plot_composition(audit))
    return _write(path, f"Targeted patrols: evaluation report, {quarter}", body, figs, pdf)


def _write(path: Path, title: str, body: list[str], figs: list[Any], pdf: bool) -> list[Path]:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    written = [path]
    if pdf:
        written.append(_write_pdf(path.with_suffix(".pdf"), title, body, figs))
    body = body + ["<h2>Figures</h2>"] + [_png(f) for f in figs]
    path.write_text(_page(title, body), encoding="utf-8")
    return written


def _tables_of(body: list[str]) -> list[tuple[str, list[str], list[list[str]]]]:
    """The tables of this module's own HTML (caption, header, rows), for the PDF."""
    import re

    out = []
    for block in re.findall(r"<table>(.*?)</table>", "".join(body), flags=re.S):
        caption = re.search(r"<caption>(.*?)</caption>", block, flags=re.S)
        head = re.findall(r"<th scope='col'>(.*?)</th>", block, flags=re.S)
        rows = [re.findall(r"<t[hd](?: scope='row')?>(.*?)</t[hd]>", r, flags=re.S)
                for r in re.findall(r"<tr>(.*?)</tr>", block.split("<tbody>", 1)[-1],
                                    flags=re.S)]  # fmt: skip
        out.append((html.unescape(caption.group(1)) if caption else "",
                    [html.unescape(h) for h in head],
                    [[html.unescape(c) for c in r] for r in rows]))  # fmt: skip
    return out


def _paragraphs(body: list[str]) -> str:
    import re

    found = re.findall(r"<p>(.*?)</p>", "".join(body), flags=re.S)
    return html.unescape(" ".join(re.sub(r"<[^>]+>", "", p) for p in found))


def _write_pdf(path: Path, title: str, body: list[str], figs: list[Any]) -> Path:
    """Tables (as matplotlib tables, a few to a page) then the figures, one per page."""
    from matplotlib.backends.backend_pdf import PdfPages

    tables = _tables_of(body)
    with PdfPages(path) as doc:
        page: list[tuple[str, list[str], list[list[str]]]] = []
        budget = 0
        chunks: list[list[tuple[str, list[str], list[list[str]]]]] = []
        for t in tables:
            size = len(t[2]) + 3
            if page and budget + size > 40:
                chunks.append(page)
                page, budget = [], 0
            page.append(t)
            budget += size
        if page or not chunks:
            chunks.append(page)
        for k, chunk in enumerate(chunks):
            fig, ax = _figure(8.3, 11.7)
            ax.axis("off")
            y = 0.93
            if k == 0:
                fig.text(0.05, 0.97, title, fontsize=12, weight="bold", va="top")
                intro = "\n".join(textwrap.wrap(_paragraphs(body), 120))
                fig.text(0.05, 0.945, intro, fontsize=6.5, va="top")
                y = 0.935 - 0.011 * (intro.count("\n") + 1)
            for caption, head, rows in chunk:
                height = 0.018 * (len(rows) + 1)
                fig.text(0.05, y, caption, fontsize=8, weight="bold", va="top")
                sub = fig.add_axes((0.05, y - 0.01 - height, 0.9, height))
                sub.axis("off")
                if rows:
                    table = sub.table(cellText=rows, colLabels=head or None, loc="upper left",
                                      cellLoc="right", colLoc="right")
                    table.auto_set_font_size(False)
                    table.set_fontsize(6.5)
                y -= height + 0.05
            doc.savefig(fig)
        for f in figs:
            doc.savefig(f, bbox_inches="tight")
    return path
