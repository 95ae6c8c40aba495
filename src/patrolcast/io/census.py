"""Readers for residents per area: the 2011 Census by LSOA, the LSOA-to-force lookup and the GLA
ward population estimates; plus the published 2011 ethnic composition of London.

Files (see ``../shared/data/PROVENANCE.md`` section 5):

- ``census_2011_population_hh.csv``: ONS 2011 Census usual residents, households and area by
  LSOA 2011 (England and Wales). Its header has a blank column and ``Persons`` three times (all
  usual residents / in households / in communal establishments); numbers carry thousands
  separators (``"1,563"``).
- ``PoliceforceLSOA.csv``: LSOA 2011 -> MSOA -> local authority -> police force area.
- ``london_ward_pop.csv``: GLA population estimates (2011-) and projections by 2014 ward.

The census file here has **no ethnic breakdown**. :data:`LONDON_2011_ETHNIC_GROUPS` gives the
published London-wide composition (ONS 2011 Census table KS201EW, region E12000007 London), the
only ethnic denominator available offline; it is a labelled fallback, never a local figure.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from patrolcast.errors import InputError

__all__ = [
    "CENSUS_SOURCE",
    "LONDON_2011_ETHNICITY_SOURCE",
    "LONDON_2011_ETHNIC_GROUPS",
    "read_census_population",
    "read_police_force_lookup",
    "read_ward_population",
]

CENSUS_SOURCE = "ONS 2011 Census, usual residents by LSOA 2011 (census_2011_population_hh.csv)"

LONDON_2011_ETHNICITY_SOURCE = (
    "ONS 2011 Census table KS201EW (Ethnic group), London region E12000007, usual residents"
)

# Usual residents of London by the five broad ethnic groups of the 2011 Census (KS201EW).
# Sums to 8,173,941, the usual resident population of London on census day (27 March 2011).
LONDON_2011_ETHNIC_GROUPS: dict[str, int] = {
    "White": 4_887_435,
    "Mixed": 405_279,
    "Asian": 1_511_546,
    "Black": 1_088_640,
    "Other": 281_041,
}

_CENSUS_COLUMNS = [
    "region_code",
    "region_name",
    "la_code",
    "la_name",
    "msoa_code",
    "msoa_name",
    "lsoa_code",
    "lsoa_name",
    "_blank",
    "residents",
    "residents_in_households",
    "residents_in_communal",
    "hectares",
    "persons_per_hectare",
    "households",
    "persons_per_household",
]


def _exists(path: Path) -> Path:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    return path


def _number(series: pd.Series) -> pd.Series:
    cleaned = series.astype("string").str.replace(",", "", regex=False).str.strip()
    return pd.to_numeric(cleaned, errors="coerce")


def read_census_population(path: Path, *, region: str | None = None) -> pd.DataFrame:
    """Usual residents, households and area per LSOA 2011.

    Parameters
    ----------
    path : ``census_2011_population_hh.csv(.gz)``.
    region : keep one region by name, e.g. ``"LONDON"`` (4,835 LSOAs), or all if ``None``.

    Returns
    -------
    DataFrame with ``lsoa_code, lsoa_name, msoa_code, la_code, la_name, region_name,
    residents, residents_in_households, residents_in_communal, hectares, households``
    (integers where the census gives integers), one row per LSOA.
    """
    frame = pd.read_csv(_exists(path), header=0, dtype=str, encoding="utf-8-sig")
    if frame.shape[1] != len(_CENSUS_COLUMNS) or "LSOA Code" not in frame.columns:
        raise InputError(
            f"{path} is not the 2011 census LSOA population table "
            f"(expected {len(_CENSUS_COLUMNS)} columns including 'LSOA Code')"
        )
    frame.columns = pd.Index(_CENSUS_COLUMNS)
    if region is not None:
        frame = frame[frame["region_name"].str.upper() == region.upper()]
        if frame.empty:
            raise InputError(f"no LSOAs in region {region!r} in {path}")
    for col in ("residents", "residents_in_households", "residents_in_communal", "households"):
        frame[col] = _number(frame[col]).astype("Int64")
    frame["hectares"] = _number(frame["hectares"])
    keep = [
        "lsoa_code",
        "lsoa_name",
        "msoa_code",
        "la_code",
        "la_name",
        "region_name",
        "residents",
        "residents_in_households",
        "residents_in_communal",
        "hectares",
        "households",
    ]
    return frame[keep].reset_index(drop=True)


def read_police_force_lookup(path: Path) -> pd.DataFrame:
    """LSOA 2011 to local authority and police force area: ``lsoa_code, la_code, la_name,
    police_force``. In the shipped file 3,335 of the 32,844 English LSOAs have no force (empty
    ``police_force``); London's are complete (32 boroughs Metropolitan Police, the City its own)."""
    frame = pd.read_csv(_exists(path), dtype=str, encoding="utf-8-sig")
    needed = {"LSOA Code", "Local authority code", "Local authority name", "Police_force"}
    if not needed <= set(frame.columns):
        raise InputError(f"{path} lacks columns {sorted(needed - set(frame.columns))}")
    out = frame.rename(
        columns={
            "LSOA Code": "lsoa_code",
            "Local authority code": "la_code",
            "Local authority name": "la_name",
            "Police_force": "police_force",
        }
    )
    return out[["lsoa_code", "la_code", "la_name", "police_force"]].reset_index(drop=True)


def read_ward_population(path: Path, *, year: int | None = 2011) -> pd.DataFrame:
    """GLA ward population: ``ward_code, ward_name, borough, year, population, hectares``.

    Years after the latest estimate are GLA *projections*; pass ``year=None`` for all years.
    """
    frame = pd.read_csv(_exists(path), encoding="utf-8-sig")
    needed = {"Code", "Borough", "Ward_Name", "Year", "Population", "Hectares"}
    if not needed <= set(frame.columns):
        raise InputError(f"{path} lacks columns {sorted(needed - set(frame.columns))}")
    out = frame.rename(
        columns={
            "Code": "ward_code",
            "Borough": "borough",
            "Ward_Name": "ward_name",
            "Year": "year",
            "Population": "population",
            "Hectares": "hectares",
        }
    )[["ward_code", "ward_name", "borough", "year", "population", "hectares"]]
    if year is not None:
        out = out[out["year"] == year]
        if out.empty:
            raise InputError(f"no ward population for year {year} in {path}")
    return out.reset_index(drop=True)
