"""Backtest reports: JSON (round-trips), a markdown table, a rich table and a PNG plot.

The PNG shows the mean hit rate against the share of area flagged, one line per method with
its bootstrap interval as error bars, and the line of a random choice (hit rate = area share)
for reference. matplotlib runs on the Agg backend: no display is needed.
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from patrolcast.errors import InputError
from patrolcast.evaluate.backtest import BacktestResult
from patrolcast.evaluate.bootstrap import METRICS, paired_differences, summarise

__all__ = [
    "result_to_json",
    "result_from_json",
    "save_json",
    "load_json",
    "markdown_table",
    "rich_table",
    "plot_hit_rate",
    "write_report",
]

FORMAT = "patrolcast.backtest/1"


def _clean(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {str(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_clean(v) for v in value]
    if hasattr(value, "item"):  # numpy scalars
        return _clean(value.item())
    return value


BASELINE_METHODS = ("naive-365", "naive-all", "naive")


def recommendations(
    result: BacktestResult, *, fraction: float = 0.05, n_boot: int = 2000, seed: int = 20080101
) -> dict[str, Any]:
    """Which methods beat the best baseline, with the paired bootstrap interval.

    The best baseline is the baseline (naive-365, naive-all, naive) with the highest mean hit
    rate at ``fraction`` of the area. A method is *recommended* only when its paired 95%
    interval of the hit-rate difference against that baseline lies above zero.
    """
    summary = summarise(result, n_boot=n_boot, seed=seed)
    at = summary[(summary["fraction"] - fraction).abs() < 1e-9].set_index("method")["hit_rate"]
    baselines = [m for m in BASELINE_METHODS if m in result.methods]
    if not baselines:
        return {"best_baseline": None, "fraction": fraction, "methods": {}}
    best = max(baselines, key=lambda m: float(at.get(m, float("-inf"))))
    diffs = paired_differences(result, best, n_boot=n_boot, seed=seed)
    out: dict[str, Any] = {}
    for _, r in diffs[(diffs["fraction"] - fraction).abs() < 1e-9].iterrows():
        method = str(r["method"])
        if method in baselines:
            continue
        base = float(at.get(best, float("nan")))
        out[method] = {
            "hit_rate": float(at.get(method, float("nan"))),
            "diff": float(r["diff"]),
            "diff_lo": float(r["diff_lo"]),
            "diff_hi": float(r["diff_hi"]),
            "relative": float(at.get(method, float("nan"))) / base - 1 if base > 0 else None,
            "recommended": bool(math.isfinite(r["diff_lo"]) and r["diff_lo"] > 0),
        }
    return {"best_baseline": best, "fraction": fraction, "methods": out}


def result_to_json(
    result: BacktestResult, *, n_boot: int = 2000, seed: int = 20080101, baseline: str = "naive"
) -> dict[str, Any]:
    """A JSON-ready dict: summary per method (mean and CI per fraction), per-origin rows."""
    summary = summarise(result, n_boot=n_boot, seed=seed)
    methods: dict[str, Any] = {}
    for method in result.methods:
        sel = summary[summary["method"] == method]
        entry: dict[str, Any] = {}
        for metric in METRICS:
            entry[metric] = {
                f"{r['fraction']:g}": {
                    "mean": r[metric],
                    "ci_low": r[f"{metric}_lo"],
                    "ci_high": r[f"{metric}_hi"],
                }
                for _, r in sel.iterrows()
            }
        rows = result.rows[result.rows["method"] == method]
        entry["poisson_deviance"] = float(
            rows.drop_duplicates("origin_days")["poisson_deviance"].mean()
        )
        entry["rri"] = {
            f"{f:g}": float(rows[rows["fraction"] == f]["rri"].mean()) for f in result.fractions
        }
        per_origin = rows.drop_duplicates("origin_days")
        if "cover80_units" in per_origin:
            entry["coverage"] = {
                k: float(per_origin[k].mean())
                for k in ("cover80_units", "cover95_units", "cover80_total", "cover95_total")
            }
        entry["overlap_next"] = {
            f"{f:g}": float(rows[rows["fraction"] == f]["overlap_next"].mean())
            for f in result.fractions
        }
        methods[method] = entry
    diffs = paired_differences(result, baseline, n_boot=n_boot, seed=seed)
    payload = {
        "format": FORMAT,
        "meta": result.meta,
        "bootstrap": {"n_boot": n_boot, "seed": seed, "level": 0.95, "unit": "origin"},
        "methods": methods,
        "hit_rate_vs_" + baseline: diffs.to_dict("records"),
        "recommendation": recommendations(result, n_boot=n_boot, seed=seed),
        "rows": result.rows.to_dict("records"),
        "reliability": result.reliability.to_dict("records"),
    }
    cleaned: dict[str, Any] = _clean(payload)
    return cleaned


def result_from_json(payload: dict[str, Any]) -> BacktestResult:
    """Rebuild a :class:`BacktestResult` from :func:`result_to_json` output."""
    if payload.get("format") != FORMAT:
        raise InputError(f"not a patrolcast backtest result (format {payload.get('format')!r})")
    rows = pd.DataFrame(payload["rows"]).astype({"fraction": float}).fillna(value=math.nan)
    return BacktestResult(
        rows=rows, reliability=pd.DataFrame(payload.get("reliability", [])),
        meta=dict(payload.get("meta", {})),
    )


def save_json(payload: dict[str, Any], path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(payload, indent=1, default=str) + "\n", encoding="utf-8")
    return path


def load_json(path: Path) -> BacktestResult:
    try:
        payload = json.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path} does not exist") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not JSON: {exc}") from None
    if not isinstance(payload, dict):
        raise InputError(f"{path} is not a patrolcast backtest result")
    return result_from_json(payload)


def _fmt(mean: float, lo: float, hi: float, pct: bool) -> str:
    if not math.isfinite(mean):
        return "n/a"
    if pct:
        return f"{100 * mean:.1f}% ({100 * lo:.1f}-{100 * hi:.1f})"
    return f"{mean:.2f} ({lo:.2f}-{hi:.2f})"


def _table_rows(summary: pd.DataFrame) -> list[list[str]]:
    out = []
    for _, r in summary.iterrows():
        out.append(
            [
                str(r["method"]),
                f"{100 * r['fraction']:g}%",
                _fmt(r["hit_rate"], r["hit_rate_lo"], r["hit_rate_hi"], True),
                _fmt(r["pai"], r["pai_lo"], r["pai_hi"], False),
                _fmt(r["pei_star"], r["pei_star_lo"], r["pei_star_hi"], False),
            ]
        )
    return out


HEADERS = ["method", "area", "hit rate (95% CI)", "PAI (95% CI)", "PEI* (95% CI)"]


def markdown_table(summary: pd.DataFrame) -> str:
    """The summary as a GitHub markdown table."""
    lines = ["| " + " | ".join(HEADERS) + " |", "|" + "---|" * len(HEADERS)]
    lines += ["| " + " | ".join(cells) + " |" for cells in _table_rows(summary)]
    return "\n".join(lines)


def rich_table(summary: pd.DataFrame, title: str = "Backtest") -> Any:
    """The summary as a :class:`rich.table.Table`."""
    from rich.table import Table

    table = Table(title=title)
    for h in HEADERS:
        table.add_column(h, justify="left" if h in ("method", "area") else "right")
    for cells in _table_rows(summary):
        table.add_row(*cells)
    return table


def plot_hit_rate(summary: pd.DataFrame, path: Path, *, title: str = "") -> Path:
    """PNG of mean hit rate against area share per method, with bootstrap CIs."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6.4, 4.2), dpi=110)
    fractions = sorted(set(summary["fraction"]))
    for i, method in enumerate(dict.fromkeys(summary["method"])):
        sel = summary[summary["method"] == method].sort_values("fraction")
        x = 100 * sel["fraction"].to_numpy() * (1 + 0.02 * (i - 1))  # small dodge
        y = 100 * sel["hit_rate"].to_numpy()
        err = [y - 100 * sel["hit_rate_lo"].to_numpy(), 100 * sel["hit_rate_hi"].to_numpy() - y]
        ax.errorbar(x, y, yerr=err, marker="o", capsize=3, label=str(method))
    ax.plot([100 * f for f in fractions], [100 * f for f in fractions], "k:", label="random")
    ax.set_xscale("log")
    ax.set_xticks([100 * f for f in fractions], [f"{100 * f:g}%" for f in fractions])
    ax.set_xlabel("share of area flagged")
    ax.set_ylabel("hit rate: share of events caught (%)")
    n = int(summary["n_origins"].iloc[0]) if len(summary) else 0
    ax.set_title(title or "Hit rate by area flagged", fontsize=10)
    ax.text(0.01, 0.98, f"mean over {n} origins, 95% bootstrap CI", transform=ax.transAxes,
            va="top", fontsize=8, color="0.3")
    ax.grid(alpha=0.3)
    ax.legend(loc="lower right", fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path)
    plt.close(fig)
    return path


def calibration_table(result: BacktestResult) -> pd.DataFrame:
    """Reliability by decile of predicted count, averaged over origins, per method."""
    rel = result.reliability
    if rel.empty:
        return rel
    return (
        rel.groupby(["method", "bin"], sort=False)[["mean_predicted", "mean_observed"]]
        .mean()
        .reset_index()
    )


def calibration_markdown(result: BacktestResult) -> str:
    """Mean Poisson deviance per method and the reliability table (top deciles) as markdown."""
    rows = result.rows.drop_duplicates(["origin_days", "method"])
    deviance = rows.groupby("method", sort=False)["poisson_deviance"].mean()
    table = calibration_table(result)
    lines = [
        "Calibration: mean Poisson deviance per unit (lower is better): "
        + ", ".join(f"{m} {v:.3f}" for m, v in deviance.items()),
        "",
    ]
    if "cover80_units" in rows:
        cover = rows.groupby("method", sort=False)[
            ["cover80_units", "cover95_units", "cover80_total", "cover95_total"]
        ].mean()
        lines += [
            "Coverage of Poisson predictive intervals (share of units, and share of origins "
            "whose total fell in the interval of the total):",
            "",
            "| method | 80% units | 95% units | 80% total | 95% total |",
            "|---|---|---|---|---|",
        ]
        lines += [
            f"| {m} | {r['cover80_units']:.3f} | {r['cover95_units']:.3f} | "
            f"{r['cover80_total']:.2f} | {r['cover95_total']:.2f} |"
            for m, r in cover.iterrows()
        ]
        lines.append("")
    lines += [
        "| method | decile of predicted count | mean predicted | mean observed |",
        "|---|---|---|---|",
    ]
    for _, r in table[table["bin"] >= 8].iterrows() if not table.empty else []:
        lines.append(
            f"| {r['method']} | {int(r['bin'])} | {r['mean_predicted']:.3f} | "
            f"{r['mean_observed']:.3f} |"
        )
    return "\n".join(lines)


def write_report(
    result: BacktestResult, out_dir: Path, *, name: str = "backtest", title: str = "",
    n_boot: int = 2000, seed: int = 20080101,
) -> dict[str, Path]:
    """Write ``<name>.json``, ``<name>.md`` and ``<name>.png`` under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    payload = result_to_json(result, n_boot=n_boot, seed=seed)
    summary = summarise(result, n_boot=n_boot, seed=seed)
    paths = {
        "json": save_json(payload, out_dir / f"{name}.json"),
        "png": plot_hit_rate(summary, out_dir / f"{name}.png", title=title),
    }
    md = out_dir / f"{name}.md"
    meta = result.meta
    header = (
        f"{title or name}: {meta.get('n_origins')} origins ({meta.get('origins', ['?'])[0]} to "
        f"{meta.get('origins', ['?'])[-1]}, every {meta.get('step')}, local midnight "
        f"{meta.get('timezone', 'UTC')}), horizon {meta.get('horizon')}, "
        f"{meta.get('n_units')} units, ranked and scored by {meta.get('target', 'count')}\n\n"
    )
    header += _context_markdown(result)
    # what was not scored, said in the report rather than left in the JSON
    if meta.get("n_events_outside_support"):
        header += (
            f"{float(meta['n_events_outside_support']):,.0f} events in the scoring windows fell "
            "outside every unit and were not scored.\n\n"
        )
    if meta.get("empty_windows"):
        header += (
            f"{int(meta['empty_windows'])} origins had no events in their scoring window "
            "(left out of the means).\n\n"
        )
    md.write_text(
        header + markdown_table(summary) + "\n\n" + calibration_markdown(result) + "\n",
        encoding="utf-8",
    )
    paths["md"] = md
    return paths


def _context_markdown(result: BacktestResult) -> str:
    """Study area, protocol, history per method, selection, warnings and the recommendation."""
    meta = result.meta
    lines = []
    area = meta.get("study_area")
    if area:
        lines.append(
            f"Study area: {area.get('source')} ({float(area.get('km2', 0)):,.1f} km2); "
            f"{float(area.get('events_outside', 0)):,.0f} events outside it left out."
        )
    if meta.get("protocol_note"):
        lines.append(
            f"Protocol: {meta.get('protocol', 'area')}: {meta['protocol_note']}"
            + (
                f"; {float(meta.get('n_events_outside_mask', 0)):,.0f} scored-window events "
                "fell in units outside the mask."
                if meta.get("protocol") == "mask"
                else "."
            )
        )
    used = meta.get("history_used_days")
    if used:
        lines.append(
            "History each method used (days before each origin): "
            + ", ".join(
                f"{m} {'all' if v is None or not math.isfinite(float(v)) else f'{float(v):g}'}"
                for m, v in used.items()
            )
            + f"; common training window: {meta.get('lookback')}."
        )
    for method, sel in (meta.get("selection") or {}).items():
        if sel.get("chosen") is None:
            lines.append(f"{method}: {sel.get('note', 'defaults kept')}.")
            continue
        curve = ", ".join(
            "/".join(f"{v:g}" if isinstance(v, float) else str(v)
                     for k, v in c.items() if k != "hit_rate")
            + f": {100 * c['hit_rate']:.1f}%"
            for c in sel.get("curve", [])
            if c.get("hit_rate") is not None
        )
        lines.append(
            f"{method} parameters chosen on {sel['n_origins']} validation origins "
            f"{sel['validation_origins'][0]} to {sel['validation_origins'][1]} (before the "
            f"evaluation, {sel['criterion']}): {sel['chosen']}. Curve "
            f"({'/'.join(k for k in sel['chosen'])}): {curve}."
        )
    empty = {m: n for m, n in (meta.get("empty_lookback") or {}).items() if n}
    if empty:
        lines.append(
            "**Warning: empty look-back** (no event in the history the method uses, so it "
            "forecast all zeros) at "
            + ", ".join(f"{n} origins for {m}" for m, n in empty.items())
            + "."
        )
    for warning in meta.get("warnings") or []:
        lines.append(f"**Warning:** {warning}.")
    rec = recommendations(result) if result.methods else {"methods": {}}
    if rec.get("best_baseline"):
        parts = []
        for m, r in rec["methods"].items():
            verdict = "recommended" if r["recommended"] else "not recommended"
            parts.append(
                f"{m} {verdict} ({100 * r['diff']:+.1f} points, 95% CI "
                f"{100 * r['diff_lo']:+.1f} to {100 * r['diff_hi']:+.1f})"
            )
        lines.append(
            f"Against the best baseline ({rec['best_baseline']}) at 5% of the area, paired "
            "bootstrap over origins: " + ("; ".join(parts) or "no other method") + "."
        )
    return "\n\n".join(lines) + ("\n\n" if lines else "")


def summary_json(
    result: BacktestResult, *, n_boot: int = 2000, seed: int = 20080101, baseline: str = "naive"
) -> dict[str, Any]:
    """The JSON summary without the per-origin rows (what ``--json`` prints)."""
    payload = result_to_json(result, n_boot=n_boot, seed=seed, baseline=baseline)
    payload.pop("rows", None)
    payload.pop("reliability", None)
    return payload
