"""Reader for the English Indices of Deprivation 2019 (IMD) by LSOA 2011, London extract.

``london_lsoa_deprivation.xlsx`` (MHCLG English Indices of Deprivation 2019; PROVENANCE.md
section 5) has a sheet ``IMD 2019`` (score, rank and decile of the overall index and of each
domain; rank 1 and decile 1 are the most deprived of England's 32,844 LSOAs) and a sheet
``Population figures`` (mid-2015 population by age band, excluding prisoners).
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import pandas as pd

from patrolcast.errors import InputError

__all__ = ["IMD_SOURCE", "read_imd", "read_imd_population"]

IMD_SOURCE = "MHCLG English Indices of Deprivation 2019, LSOA 2011 (london_lsoa_deprivation.xlsx)"

_IMD_COLUMNS = {
    "LSOA code (2011)": "lsoa_code",
    "LSOA name (2011)": "lsoa_name",
    "Local Authority District code (2019)": "lad_code",
    "Local Authority District name (2019)": "lad_name",
    "Index of Multiple Deprivation (IMD) Score": "imd_score",
    "Index of Multiple Deprivation (IMD) Rank (where 1 is most deprived)": "imd_rank",
    "Index of Multiple Deprivation (IMD) Decile (where 1 is most deprived 10% of LSOAs)":
        "imd_decile",
    "Income Score (rate)": "income_score",
    "Employment Score (rate)": "employment_score",
    "Crime Score": "crime_score",
    "Living Environment Score": "living_environment_score",
}


def _sheet(path: Path, sheet: str) -> pd.DataFrame:
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path} does not exist")
    try:
        return pd.read_excel(path, sheet_name=sheet, engine="openpyxl")
    except (ValueError, OSError, zipfile.BadZipFile) as exc:
        raise InputError(f"{path}: cannot read sheet {sheet!r} ({exc})") from None


def read_imd(path: Path) -> pd.DataFrame:
    """IMD 2019 per LSOA: ``lsoa_code, lsoa_name, lad_code, lad_name, imd_score, imd_rank,
    imd_decile`` and a few domain scores (income, employment, crime, living environment)."""
    frame = _sheet(path, "IMD 2019")
    missing = set(_IMD_COLUMNS) - set(frame.columns)
    if missing:
        raise InputError(f"{path}: sheet 'IMD 2019' lacks columns {sorted(missing)}")
    out = frame[list(_IMD_COLUMNS)].rename(columns=_IMD_COLUMNS)
    out["imd_rank"] = out["imd_rank"].astype("Int64")
    out["imd_decile"] = out["imd_decile"].astype("Int64")
    return out.reset_index(drop=True)


def read_imd_population(path: Path) -> pd.DataFrame:
    """Mid-2015 population per LSOA (excluding prisoners): ``lsoa_code, population_2015,
    children_0_15, aged_16_59, aged_60_plus``."""
    frame = _sheet(path, "Population figures")
    names = {
        "LSOA code (2011)": "lsoa_code",
        "Total population: mid 2015 (excluding prisoners)": "population_2015",
        "Dependent Children aged 0-15: mid 2015 (excluding prisoners)": "children_0_15",
        "Population aged 16-59: mid 2015 (excluding prisoners)": "aged_16_59",
        "Older population aged 60 and over: mid 2015 (excluding prisoners)": "aged_60_plus",
    }
    missing = set(names) - set(frame.columns)
    if missing:
        raise InputError(f"{path}: sheet 'Population figures' lacks columns {sorted(missing)}")
    return frame[list(names)].rename(columns=names).reset_index(drop=True)
