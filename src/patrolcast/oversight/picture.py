"""The intelligence picture for a window: the data-driven forecast and the graded intelligence
uplift, side by side (never merged), written as a CSV and a two-panel PNG map.

Uses the forecasting layer only through its public functions
(:func:`patrolcast.forecast.registry.make_forecaster`, a study from
:func:`patrolcast.evaluate.study.load_study`).
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.io.writers import escape_csv_cell
from patrolcast.oversight.intelligence import (
    IntelligenceItem,
    IntelligencePicture,
    intelligence_picture,
)

__all__ = ["build_picture", "write_picture_csv", "write_picture_png"]


def build_picture(
    study: Any, method: str, start: float, end: float, items: list[IntelligenceItem]
) -> IntelligencePicture:
    """Fit ``method`` on the study's events before ``start``, predict ``[start, end)`` and pair
    the forecast with the uplift of ``items`` on the same support."""
    from patrolcast.forecast.registry import make_forecaster

    if len(study.events.before(start)) == 0:
        raise InputError("no events before the window start: nothing to learn from")
    model = make_forecaster(method, horizon_days=end - start).fit(study.events, cutoff=start)
    forecast = model.predict(study.support, start, end)
    return intelligence_picture(forecast, items, study.support)


def write_picture_csv(picture: IntelligencePicture, path: Path) -> Path:
    """One row per unit: forecast and its rank, uplift and its rank, contributing items."""
    frame = picture.to_frame()
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(list(frame.columns))
        for row in frame.itertuples(index=False):
            writer.writerow(
                [escape_csv_cell(v) if isinstance(v, str) else ("" if pd.isna(v) else v)
                 for v in row]
            )
    return path


def write_picture_png(picture: IntelligencePicture, support: Any, path: Path) -> Path:
    """Two panels on the same grid: expected harm (left), intelligence uplift (right)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    if not hasattr(support, "to_raster"):
        raise InputError("the picture map needs a grid support (--level grid)")
    fig, axes = plt.subplots(1, 2, figsize=(11, 5), sharex=True, sharey=True)
    extent = (support.x0, support.x0 + support.nx * support.cell_size,
              support.y0, support.y0 + support.ny * support.cell_size)
    for ax, values, title, cmap in (
        (axes[0], picture.forecast_harm, f"forecast: expected harm ({picture.forecast_method})",
         "magma_r"),
        (axes[1], picture.uplift, "intelligence uplift (graded items)", "Blues"),
    ):
        raster = support.to_raster(values, fill=np.nan)
        im = ax.imshow(raster, origin="lower", extent=extent, cmap=cmap)
        ax.set_title(title)
        ax.set_xticks([])
        ax.set_yticks([])
        fig.colorbar(im, ax=ax, shrink=0.7)
    top = float(np.max(picture.forecast_harm)) if len(picture.forecast_harm) else 0.0
    lit = (picture.forecast_harm > 0.02 * top) | (picture.uplift > 0)
    if lit.any():  # zoom to where there is anything to see
        xy = support.centroids[lit]
        pad = 3 * support.cell_size
        axes[0].set_xlim(xy[:, 0].min() - pad, xy[:, 0].max() + pad)
        axes[0].set_ylim(xy[:, 1].min() - pad, xy[:, 1].max() + pad)
    fig.suptitle("The intelligence picture: data and intelligence side by side, never merged")
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return path
