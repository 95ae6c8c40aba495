"""A one-page PDF briefing pack per forecast: the map, the numbers, the evidence, the caveats.

>>> png = write_briefing_map(score, support, out / "map.png", context=ctx)  # doctest: +SKIP
>>> write_forecast_pack(out / "pack.pdf", map_png=png, values=score, support=support,
...                     context=ctx)  # doctest: +SKIP

The pack is ``templates/forecast_pack.html`` (extending ``base.html``) printed by WeasyPrint:
A4, the protective marking at the top and bottom, the map embedded (nothing fetched).
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import numpy.typing as npt

from patrolcast.errors import InputError
from patrolcast.geo.support import Support
from patrolcast.io.briefing_map import BriefingContext, legend_label, map_layers, top_places
from patrolcast.io.documents import image_data_uri, render, write_pdf

__all__ = ["poisson_range", "write_forecast_pack"]

RANGE_LEVEL = 0.90


def poisson_range(expected: float, level: float = RANGE_LEVEL) -> tuple[int, int]:
    """The central ``level`` range of a Poisson count with mean ``expected``.

    What the count in a place could be if offences arrive at random at the forecast rate; it
    leaves out the uncertainty of the rate itself, and the pack says so.
    """
    from scipy.stats import poisson

    tail = (1.0 - level) / 2.0
    low, high = poisson.ppf([tail, 1.0 - tail], max(expected, 0.0))
    return int(low), int(high)


def _value(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    if value >= 0.1:
        return f"{value:.2f}"
    return f"{value:.2g}"


def write_forecast_pack(
    path: Path,
    *,
    map_png: Path,
    values: npt.ArrayLike,
    support: Support,
    context: BriefingContext,
    expected_total: float | None = None,
    intervals: tuple[npt.ArrayLike, npt.ArrayLike] | None = None,
    backtest: Sequence[tuple[str, str]] = (),
    evidence: Sequence[tuple[str, str]] = (),
) -> Path:
    """Write the one-page PDF briefing pack of a forecast; returns ``path``.

    ``values``, ``support`` and ``context`` are those given to
    :func:`~patrolcast.io.briefing_map.write_briefing_map` for ``map_png``: the pack lists the
    same top places, named the same way. ``intervals`` optionally give (low, high) arrays of
    the forecast itself, one value per unit; without them, for a count, the pack shows the 90%
    range of a Poisson count and says what that range leaves out. ``backtest`` and
    ``evidence`` are (label, value) lines, e.g. ``("hit rate, top 5% of area", "0.31")`` and
    ``("events in the history used", "812")``; without backtest figures the pack says so.
    """
    from patrolcast.io import _briefing_draw as draw
    from patrolcast.io.map_context import attributions

    layers = map_layers(support, context)  # the map's own view: the same names and sources
    places = top_places(values, support, context.top_n, layers)
    index = {uid: i for i, uid in enumerate(support.unit_ids)}
    if intervals is not None:
        low_all, high_all = (np.asarray(a, dtype=np.float64) for a in intervals)
        if low_all.shape != (support.n_units,) or high_all.shape != (support.n_units,):
            raise InputError(f"intervals must give {support.n_units} lows and highs (one per unit)")
    rows = []
    for place in places:
        if intervals is not None:
            i = index[place.unit_id]
            spread = f"{_value(float(low_all[i]))} to {_value(float(high_all[i]))}"
        elif context.target == "count":
            low, high = poisson_range(place.value)
            spread = f"{low} to {high}"
        else:
            spread = ""
        rows.append(
            {
                "rank": place.rank,
                "name": place.name,
                "unit_id": place.unit_id,
                "value": _value(place.value),
                "spread": spread,
            }
        )
    if intervals is not None:
        spread_note = "Range: the forecast's own interval for each place."
    elif context.target == "count":
        spread_note = (
            f"Range: {RANGE_LEVEL:.0%} of the counts a place would see if offences arrived at "
            "random at the forecast rate (Poisson); the uncertainty of the rate itself is not "
            "included."
        )
    else:
        spread_note = ""
    html = render(
        "forecast_pack.html",
        marking=context.marking,
        title=draw.default_title(context),
        subtitle=draw.subtitle(context),
        footer=draw.created_line(context),
        map_uri=image_data_uri(map_png),
        measure=legend_label(support, context),
        rows=rows,
        spread_note=spread_note,
        total=_value(expected_total) if expected_total is not None else None,
        backtest=[(str(k), str(v)) for k, v in backtest],
        evidence=[(str(k), str(v)) for k, v in evidence],
        caveats=[*context.data.caveats, *context.notes, draw.NOT_A_PREDICTION],
        sources=[context.data.attribution, *attributions(layers)],
    )
    return write_pdf(html, path)
