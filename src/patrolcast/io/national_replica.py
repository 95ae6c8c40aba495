"""A synthetic national replica of data.police.uk street files, to measure national runs on.

What it lays out
----------------
``<out>/<YYYY-MM>/<YYYY-MM>-<force>-street.csv`` for each of the 43 territorial force areas of
England and Wales and each month: the 12 columns and the monthly folder layout of the real
archive (``Crime ID, Month, Reported by, Falls within, Longitude, Latitude, Location, LSOA code,
LSOA name, Crime type, Last outcome category, Context``). **Every row is synthetic**: the LSOA
columns are left empty (there is no real LSOA behind a simulated point), ``Crime ID`` is random
hex (empty for anti-social behaviour, as in the real files) and ``Location`` says "synthetic".

Volumes
-------
``records_per_month`` (default 500,000, about the national monthly total of street records) is
shared among forces by :func:`force_shares`, **derived from the shared data**: 2011 Census usual
residents per LSOA (``census_and_lookups/census_2011_population_hh.csv.gz``) summed by force area
through the LSOA -> local authority -> force lookup (``PoliceforceLSOA.csv.gz``; the local
authorities the lookup leaves blank, Wales included, are assigned to their force in
:data:`_LA_FORCE`), so recorded crime is taken proportional to residents. The City of London,
whose 8,000 residents would give it almost nothing, takes instead its real mean monthly volume
from its 36 street files in ``police_uk/city_of_london_street``. A check against real files:
West Yorkshire's three real months hold 27,000-31,600 rows, the replica gives it 19,824
(residents under-weight the urban forces; the national total is unchanged).

Structure
---------
Inside each force, points follow a self-exciting (ETAS-like) cluster process, the same as
:func:`patrolcast.forecast.simulate.simulate_etas` (which ``io`` may not import: layers point
down): background events around hotspots, each event triggering offspring nearby soon after
(branching ratio 0.3, 150 m, mean delay 10 days), all inside the real force boundary
(``boundaries/england_wales``, ONS Police Force Areas December 2022, EPSG:27700), after a burn-in
of 60 days so the first month is at the steady rate. Crime types follow their shares in West
Yorkshire's real files (:data:`CRIME_TYPES`). Seeded and reproducible; one force at a time, so
forces can be generated in parallel (``executor``).
"""

from __future__ import annotations

import binascii
import calendar
import functools
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd

from patrolcast.errors import InputError

__all__ = [
    "ForceJob",
    "force_areas",
    "force_shares",
    "generate_force",
    "generate_replica",
    "slug_of",
    "CRIME_TYPES",
]

COLUMNS = [
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
]  # fmt: skip

# Shares of each crime type in West Yorkshire's three real files in police_uk/other_forces_street
# (2016-07, 2017-07, 2018-07; 87,348 rows), rounded.
CRIME_TYPES: dict[str, float] = {
    "Violence and sexual offences": 0.273,
    "Anti-social behaviour": 0.216,
    "Criminal damage and arson": 0.093,
    "Other theft": 0.079,
    "Public order": 0.075,
    "Burglary": 0.073,
    "Vehicle crime": 0.069,
    "Shoplifting": 0.051,
    "Other crime": 0.019,
    "Drugs": 0.017,
    "Theft from the person": 0.012,
    "Bicycle theft": 0.009,
    "Robbery": 0.009,
    "Possession of weapons": 0.006,
}
OUTCOMES = (
    "Investigation complete; no suspect identified",
    "Unable to prosecute suspect",
    "Under investigation",
    "Status update unavailable",
)

BOUNDARIES = "boundaries/england_wales/police_force_areas_2022_ew_buc.zip"
CENSUS = "census_and_lookups/census_2011_population_hh.csv.gz"
LOOKUP = "census_and_lookups/PoliceforceLSOA.csv.gz"
CITY_FILES = "police_uk/city_of_london_street"

# Local authorities (2011 codes) the shared lookup leaves without a force.
_LA_FORCE: dict[str, tuple[str, ...]] = {
    "Northumbria": ("E06000048", "E08000020"),
    "Devon & Cornwall": ("E07000040",) + tuple(f"E070000{n}" for n in range(42, 48)),
    "Dorset": tuple(f"E070000{n}" for n in range(48, 54)),
    "Hampshire": ("E07000084", "E07000089", "E07000092"),
    "Hertfordshire": ("E07000097", "E07000100", "E07000101", "E07000104"),
    "Kent": ("E07000107", "E07000109"),
    "Northamptonshire": ("E07000151", "E07000155"),
    "North Yorkshire": tuple(f"E07000{n}" for n in range(163, 170)),
    "Nottinghamshire": ("E07000172", "E07000173", "E07000176"),
    "Avon and Somerset": tuple(f"E07000{n}" for n in range(187, 192)),
    "Suffolk": ("E07000200", "E07000201", "E07000203", "E07000204"),
    "Warwickshire": ("E07000221", "E07000222"),
    "West Mercia": tuple(f"E07000{n}" for n in range(234, 240)),
    "North Wales": tuple(f"W0600000{n}" for n in range(1, 7)),
    "Dyfed-Powys": ("W06000008", "W06000009", "W06000010", "W06000023"),
    "South Wales": tuple(f"W060000{n:02d}" for n in range(11, 17)) + ("W06000024",),
    "Gwent": tuple(f"W060000{n}" for n in range(18, 23)),
}
# Lookup spelling -> boundary file spelling (PFA22NM).
_NAMES = {"Devon and Cornwall": "Devon & Cornwall", "City of London": "London, City of"}
_SLUGS = {"Metropolitan Police": "metropolitan", "London, City of": "city-of-london"}


class _Mapper(Protocol):
    def map(self, fn: Any, items: Any) -> Any: ...


def slug_of(name: str) -> str:
    """The force's name as data.police.uk writes it in file names (``west-yorkshire``)."""
    if name in _SLUGS:
        return _SLUGS[name]
    return name.lower().replace("&", "and").replace(" ", "-").replace(",", "")


@functools.lru_cache(maxsize=2)
def force_areas(shared_data: Path) -> dict[str, Any]:
    """Force name (PFA22NM) -> its boundary (shapely, EPSG:27700), for the 43 forces."""
    import geopandas as gpd

    path = Path(shared_data) / BOUNDARIES
    if not path.is_file():
        raise InputError(f"force boundaries not found: {path}")
    frame = gpd.read_file(f"zip://{path}")
    if frame.crs is None or frame.crs.to_epsg() != 27700:
        frame = frame.to_crs(27700)
    return {str(n): g for n, g in zip(frame["PFA22NM"], frame.geometry, strict=True)}


def _city_monthly(shared_data: Path) -> float:
    files = sorted((Path(shared_data) / CITY_FILES).glob("*-street.csv*"))
    if not files:
        raise InputError(f"no City of London street files under {shared_data / CITY_FILES}")
    return float(np.mean([len(pd.read_csv(f, usecols=["Month"])) for f in files]))


@functools.lru_cache(maxsize=2)
def force_shares(shared_data: Path, records_per_month: int = 500_000) -> dict[str, int]:
    """Records per month for each force (see the module notes for the derivation)."""
    lookup = pd.read_csv(
        Path(shared_data) / LOOKUP, usecols=["Local authority code", "Police_force"]
    )
    lookup = lookup.dropna()
    la_force = lookup.groupby("Local authority code")["Police_force"].agg(
        lambda s: s.value_counts().index[0]
    )
    mapping = {code: _NAMES.get(f, f) for code, f in la_force.items()}
    for force, codes in _LA_FORCE.items():
        mapping.update(dict.fromkeys(codes, force))
    census = pd.read_csv(
        Path(shared_data) / CENSUS, usecols=["Local authority code", "Persons"], thousands=","
    )
    census["force"] = census["Local authority code"].map(mapping)
    if census["force"].isna().any():
        missing = sorted(census.loc[census["force"].isna(), "Local authority code"].unique())
        raise InputError(f"local authorities without a force: {', '.join(missing[:5])}")
    residents = census.groupby("force")["Persons"].sum()
    names = set(force_areas(Path(shared_data)))
    city = "London, City of"
    residents = residents.drop(city, errors="ignore")
    if set(residents.index) | {city} != names:
        raise InputError(
            f"forces do not match the boundaries: {sorted(names ^ set(residents.index))}"
        )
    city_n = round(_city_monthly(Path(shared_data)) * records_per_month / 500_000)
    rest = records_per_month - city_n
    raw = residents / residents.sum() * rest
    out = {str(k): int(v) for k, v in np.floor(raw).items()}
    for k in (raw - np.floor(raw)).sort_values(ascending=False).index[: rest - sum(out.values())]:
        out[str(k)] += 1  # largest remainders: the total is exact
    out[city] = int(city_n)
    return dict(sorted(out.items()))


@dataclass(frozen=True)
class ForceJob:
    """One force's files of the replica (a task's whole input)."""

    force: str
    records_per_month: int
    months: tuple[str, ...]  # "YYYY-MM"
    out: str
    shared_data: str
    seed: int
    compress: bool = False


def _month_starts(months: Sequence[str]) -> np.ndarray:
    starts = [datetime.strptime(m, "%Y-%m").replace(tzinfo=UTC) for m in months]
    last = starts[-1]
    end = datetime(last.year + (last.month == 12), last.month % 12 + 1, 1, tzinfo=UTC)
    return np.array([s.timestamp() / 86_400.0 for s in [*starts, end]])


BRANCHING = 0.3  # mean direct offspring per event
DELAY_DAYS = 10.0  # mean delay of an offspring
SPREAD_M = 150.0  # sd of an offspring's displacement
BURN_IN_DAYS = 60.0  # simulated before the first month and dropped


def _inside(area: Any, pts: np.ndarray) -> np.ndarray:
    import shapely

    return np.asarray(shapely.contains_xy(area, pts[:, 0], pts[:, 1]))


def _cluster_process(
    area: Any, rng: np.random.Generator, *, background_per_day: float, days: float, hotspots: int
) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """Times (days from 0), x, y (sorted by time) and the share of triggered events.

    Background: Poisson in time, in space a mixture of hotspots (60%, sd 1.2 km) and uniform
    over the area; each event has Poisson(``BRANCHING``) offspring, exponential delay, Gaussian
    displacement; offspring outside the area or after the end are dropped (Mohler et al. 2011).
    """
    import shapely

    xmin, ymin, xmax, ymax = shapely.bounds(area)
    shapely.prepare(area)
    centres = np.empty((0, 2))
    while len(centres) < hotspots:
        c = rng.uniform((xmin, ymin), (xmax, ymax), size=(4 * hotspots, 2))
        centres = np.vstack([centres, c[_inside(area, c)]])
    centres = centres[:hotspots]
    n_bg = int(rng.poisson(background_per_day * days))
    pts = np.empty((0, 2))
    while len(pts) < n_bg:
        m = 2 * (n_bg - len(pts)) + 16
        cand = rng.uniform((xmin, ymin), (xmax, ymax), size=(m, 2))
        hot = rng.uniform(size=m) < 0.6
        k = rng.integers(0, hotspots, size=int(hot.sum()))
        cand[hot] = centres[k] + rng.normal(0.0, 1200.0, size=(int(hot.sum()), 2))
        pts = np.vstack([pts, cand[_inside(area, cand)]])
    pts = pts[:n_bg]
    ts, xs, ys = [rng.uniform(0.0, days, n_bg)], [pts[:, 0]], [pts[:, 1]]
    gen_t, gen_x, gen_y = ts[0], xs[0], ys[0]
    while gen_t.size:
        par = np.repeat(np.arange(gen_t.size), rng.poisson(BRANCHING, gen_t.size))
        ct = gen_t[par] + rng.exponential(DELAY_DAYS, par.size)
        kid = np.column_stack([gen_x[par], gen_y[par]]) + rng.normal(0, SPREAD_M, (par.size, 2))
        keep = (ct < days) & _inside(area, kid)
        gen_t, gen_x, gen_y = ct[keep], kid[keep, 0], kid[keep, 1]
        ts.append(gen_t)
        xs.append(gen_x)
        ys.append(gen_y)
    t, x, y = np.concatenate(ts), np.concatenate(xs), np.concatenate(ys)
    order = np.argsort(t, kind="stable")
    triggered = 1.0 - n_bg / max(len(t), 1)
    return t[order], x[order], y[order], float(triggered)


def generate_force(job: ForceJob) -> dict[str, Any]:
    """Write one force's monthly files; returns its name, rows per month and files."""
    from pyproj import Transformer

    area = force_areas(Path(job.shared_data))[job.force]
    edges = _month_starts(job.months)
    days = float(edges[-1] - edges[0])
    per_day = job.records_per_month * len(job.months) / days
    rng = np.random.default_rng(job.seed)
    t, x, y, triggered = _cluster_process(
        area, rng, background_per_day=per_day * (1 - BRANCHING), days=days + BURN_IN_DAYS,
        hotspots=int(20 + job.records_per_month // 400),
    )  # fmt: skip
    kept = t >= BURN_IN_DAYS
    t, x, y = t[kept] - BURN_IN_DAYS + float(edges[0]), x[kept], y[kept]
    lon, lat = Transformer.from_crs(27700, 4326, always_xy=True).transform(x, y)
    month_of = np.searchsorted(edges, t, side="right") - 1
    rng = np.random.default_rng(job.seed + 1)
    n = len(t)
    types = np.array(list(CRIME_TYPES))
    p = np.array(list(CRIME_TYPES.values()))
    crime = types[rng.choice(len(types), size=n, p=p / p.sum())]
    asb = crime == "Anti-social behaviour"
    hexes = binascii.hexlify(rng.bytes(32 * n)).decode("ascii")
    ids = np.array([hexes[i * 64 : (i + 1) * 64] for i in range(n)], dtype=object)
    ids[asb] = ""
    outcome = np.array(OUTCOMES, dtype=object)[rng.integers(0, len(OUTCOMES), n)]
    outcome[asb] = ""
    police = f"{job.force} Police"
    slug = slug_of(job.force)
    frame = pd.DataFrame(
        {
            "Crime ID": ids,
            "Month": np.array(job.months, dtype=object)[month_of],
            "Reported by": police,
            "Falls within": police,
            "Longitude": np.round(lon, 6),
            "Latitude": np.round(lat, 6),
            "Location": "On or near synthetic point",
            "LSOA code": "",
            "LSOA name": "",
            "Crime type": crime,
            "Last outcome category": outcome,
            "Context": "",
        },
        columns=COLUMNS,
    )
    rows: dict[str, int] = {}
    files: list[str] = []
    for k, month in enumerate(job.months):
        folder = Path(job.out) / month
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / f"{month}-{slug}-street.csv{'.gz' if job.compress else ''}"
        part = frame[month_of == k]
        part.to_csv(path, index=False, compression={"method": "gzip", "compresslevel": 1}
                    if job.compress else None)  # fmt: skip
        rows[month] = len(part)
        files.append(str(path))
    return {"force": job.force, "slug": slug, "rows": rows, "files": files,
            "triggered_share": triggered}  # fmt: skip


def months_from(start: str, n_months: int) -> tuple[str, ...]:
    """``n_months`` month labels from ``start`` (``YYYY-MM``)."""
    year, month = (int(v) for v in start.split("-"))
    out = []
    for _ in range(n_months):
        out.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    calendar.monthrange(year, month)  # validates
    return tuple(out)


def generate_replica(
    out: Path | str,
    *,
    shared_data: Path | str,
    start: str = "2023-01",
    n_months: int = 12,
    records_per_month: int = 500_000,
    forces: Sequence[str] | None = None,
    seed: int = 14,
    compress: bool = False,
    executor: _Mapper | None = None,
) -> list[dict[str, Any]]:
    """Lay out the replica under ``out`` (one task per force; see the module notes).

    ``records_per_month`` is the national total (scale it down to fit a small machine);
    ``forces`` restricts to some forces (names as in the boundary file, ``PFA22NM``).
    """
    shared = Path(shared_data)
    shares = force_shares(shared, int(records_per_month))
    chosen = list(forces) if forces is not None else list(shares)
    unknown = sorted(set(chosen) - set(shares))
    if unknown:
        raise InputError(f"unknown force(s): {', '.join(unknown)}; known: {', '.join(shares)}")
    months = months_from(start, n_months)
    jobs = [
        ForceJob(
            force=f,
            records_per_month=shares[f],
            months=months,
            out=str(out),
            shared_data=str(shared),
            seed=seed * 1000 + sorted(shares).index(f),
            compress=compress,
        )  # fmt: skip
        for f in chosen
    ]
    if executor is None:
        return [generate_force(job) for job in jobs]
    return list(executor.map(generate_force, jobs))
