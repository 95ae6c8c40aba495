"""Stop-and-search volume and ethnic disproportionality against the resident population.

Method (the relative rate used by the Home Office in *Police powers and procedures: stop and
search*, and by Shiner et al. 2018, *The Colour of Injustice*): for a broad ethnic group ``g``
with ``s_g`` searches and ``p_g`` residents,

    rate_g = 1000 * s_g / p_g                      (searches per 1,000 residents)
    ratio_g = rate_g / rate_White                  (relative rate against White)

with an approximate 95% interval ``exp(log ratio_g +- 1.96 * sqrt(1/s_g + 1/s_White))``,
treating the census counts as fixed (Poisson counts of searches; Katz et al. 1978 log method).
Searches are grouped by **self-defined** ethnicity into the five broad 2011 Census groups
(White, Mixed, Asian, Black, Other); "not stated" searches are counted and reported but cannot
enter a ratio. Officer-defined ethnicity (four groups, no Mixed) can be used instead.

Denominators, honestly: the census table in ``../shared/data`` gives residents per LSOA but **no
ethnic breakdown**. Rates per 1,000 residents of all ethnicities are computed per area from it.
Ethnic ratios need residents by ethnic group; the only one available offline is the published
London-wide 2011 composition (:data:`patrolcast.io.census.LONDON_2011_ETHNIC_GROUPS`). It is the
right denominator for London as a whole (Met and City of London together) and a labelled
*fallback* for a borough or smaller area, where it assumes the area's residents have London's
mix: a ratio there mixes disproportion with differences in local composition, and says so.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from patrolcast.errors import InputError
from patrolcast.io.census import LONDON_2011_ETHNIC_GROUPS, LONDON_2011_ETHNICITY_SOURCE

__all__ = [
    "BROAD_GROUPS",
    "AreaDisproportion",
    "broad_group",
    "disproportion",
    "disproportion_by_area",
    "locate",
]

BROAD_GROUPS = ("White", "Mixed", "Asian", "Black", "Other")
NOT_STATED = "Not stated"
MIN_SEARCHES_FOR_RATIO = 5

_PREFIXES = (
    ("white", "White"),
    ("mixed", "Mixed"),
    ("asian", "Asian"),
    ("black", "Black"),
    ("chinese or other ethnic group - chinese", "Asian"),  # 2001 code O1: Chinese is Asian in 2011
    ("chinese", "Other"),
    ("other ethnic group - not stated", NOT_STATED),
    ("other", "Other"),
    ("not stated", NOT_STATED),
)


def broad_group(label: Any) -> str:
    """The 2011 broad ethnic group of a data.police.uk ethnicity label (either vocabulary).

    ``"Black/African/Caribbean/Black British - African"`` and ``"Black or Black British -
    African (B2)"`` are both ``"Black"``; missing values and "not stated" are ``"Not stated"``.
    """
    if label is None or (isinstance(label, float) and math.isnan(label)):
        return NOT_STATED
    text = str(label).strip().lower()
    if not text or text == "nan":
        return NOT_STATED
    for prefix, group in _PREFIXES:
        if text.startswith(prefix):
            return group
    return NOT_STATED


@dataclass(frozen=True)
class AreaDisproportion:
    """Searches and ratios for one area (or for the whole force area)."""

    area: str
    searches: int
    not_stated: int
    residents: int | None
    searches_by_group: dict[str, int]
    rate_per_1000_residents: float | None
    ratio_vs_white: dict[str, float | None]
    ratio_ci95: dict[str, tuple[float, float] | None]
    denominator: str
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "area": self.area,
            "searches": self.searches,
            "not_stated": self.not_stated,
            "residents": self.residents,
            "searches_by_group": self.searches_by_group,
            "rate_per_1000_residents": self.rate_per_1000_residents,
            "ratio_vs_white": self.ratio_vs_white,
            "ratio_ci95": {k: list(v) if v else None for k, v in self.ratio_ci95.items()},
            "denominator": self.denominator,
            "notes": self.notes,
        }


def _group_column(searches: pd.DataFrame, ethnicity: str) -> pd.Series:
    column = {"self": "self_defined_ethnicity", "officer": "officer_defined_ethnicity"}.get(
        ethnicity
    )
    if column is None:
        raise InputError("ethnicity must be 'self' or 'officer'")
    if column not in searches.columns:
        raise InputError(f"stop-and-search data has no column {column!r}")
    return searches[column].map(broad_group)


def disproportion(
    searches: pd.DataFrame,
    *,
    area: str = "all",
    residents: int | None = None,
    ethnic_population: dict[str, int] | None = None,
    ethnicity: str = "self",
    denominator_label: str | None = None,
) -> AreaDisproportion:
    """Searches by broad ethnic group and relative rates against White for one area.

    Parameters
    ----------
    searches : one row per search with ``self_defined_ethnicity`` (and/or
        ``officer_defined_ethnicity``).
    area : label of the area.
    residents : usual residents of the area (all ethnicities), for the overall rate.
    ethnic_population : residents per broad group; default the London-wide 2011 composition.
    ethnicity : ``"self"`` (default, as the Home Office) or ``"officer"``.
    denominator_label : how to describe the ethnic denominator in the output.
    """
    groups = _group_column(searches, ethnicity)
    counts = groups.value_counts()
    by_group = {g: int(counts.get(g, 0)) for g in BROAD_GROUPS}
    not_stated = int(counts.get(NOT_STATED, 0))
    population = ethnic_population or LONDON_2011_ETHNIC_GROUPS
    label = denominator_label or f"London-wide 2011 composition ({LONDON_2011_ETHNICITY_SOURCE})"
    notes: list[str] = []
    ratios: dict[str, float | None] = {}
    cis: dict[str, tuple[float, float] | None] = {}
    white = by_group["White"]
    for g in BROAD_GROUPS:
        s = by_group[g]
        if g == "White":
            ratios[g], cis[g] = (1.0, None) if white else (None, None)
            continue
        if s < MIN_SEARCHES_FOR_RATIO or white < MIN_SEARCHES_FOR_RATIO or not population.get(g):
            ratios[g], cis[g] = None, None
            continue
        ratio = (s / population[g]) / (white / population["White"])
        half = 1.96 * math.sqrt(1.0 / s + 1.0 / white)
        ratios[g] = ratio
        cis[g] = (ratio * math.exp(-half), ratio * math.exp(half))
    if any(r is None for g, r in ratios.items() if g != "White"):
        notes.append(
            f"no ratio where a group or White has fewer than {MIN_SEARCHES_FOR_RATIO} searches"
        )
    if not_stated:
        share = not_stated / max(1, len(groups))
        notes.append(f"{not_stated} searches ({share:.0%}) with ethnicity not stated are left out")
    rate = None
    if residents:
        rate = 1000.0 * len(searches) / residents
    elif residents is None:
        notes.append("residents unknown: no rate per 1,000 residents")
    if ethnicity == "officer":
        notes.append("officer-defined ethnicity has no Mixed group")
    return AreaDisproportion(
        area=area,
        searches=len(searches),
        not_stated=not_stated,
        residents=int(residents) if residents is not None else None,
        searches_by_group=by_group,
        rate_per_1000_residents=rate,
        ratio_vs_white=ratios,
        ratio_ci95=cis,
        denominator=label,
        notes=notes,
    )


def disproportion_by_area(
    searches: pd.DataFrame,
    *,
    area_column: str,
    residents: pd.Series | None = None,
    ethnicity: str = "self",
) -> pd.DataFrame:
    """:func:`disproportion` for each area in ``searches[area_column]`` (one row per area).

    ``residents`` is indexed by area code. Ratios per area use the London-wide composition as a
    labelled fallback (see the module notes).
    """
    if area_column not in searches.columns:
        raise InputError(f"stop-and-search data has no column {area_column!r}")
    rows = []
    fallback = (
        "FALLBACK: London-wide 2011 composition; this area's own ethnic mix is not in the data"
    )
    for code, part in searches.groupby(area_column, sort=True):
        res = None
        if residents is not None and code in residents.index:
            res = int(residents.loc[code])
        result = disproportion(
            part, area=str(code), residents=res, ethnicity=ethnicity, denominator_label=fallback
        )
        row: dict[str, Any] = {
            "area": result.area,
            "searches": result.searches,
            "residents": result.residents,
            "rate_per_1000": result.rate_per_1000_residents,
            "not_stated": result.not_stated,
        }
        for g in BROAD_GROUPS:
            row[f"searches_{g.lower()}"] = result.searches_by_group[g]
        for g in BROAD_GROUPS[1:]:
            row[f"ratio_{g.lower()}_vs_white"] = result.ratio_vs_white[g]
        rows.append(row)
    frame = pd.DataFrame(rows)
    if frame.empty:
        return frame
    return frame.replace({None: np.nan})


def locate(searches: pd.DataFrame, support: Any) -> pd.Series:
    """Area code of each search from its ``x, y`` (metres), ``None`` where it has no location
    or lies outside every area of ``support`` (an AreaSupport in the same CRS)."""
    if not {"x", "y"} <= set(searches.columns):
        raise InputError("stop-and-search data has no x, y coordinates")
    x = searches["x"].astype(float).fillna(-1e12).to_numpy()
    y = searches["y"].astype(float).fillna(-1e12).to_numpy()
    idx = support.assign(x, y)
    codes = list(support.ids)
    return pd.Series(
        [codes[i] if i >= 0 else None for i in idx], index=searches.index, name="area"
    )
