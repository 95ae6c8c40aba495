"""Street-level crimes of one force area from the data.police.uk API, in the published CSV layout.

The live site publishes per-force CSV files only inside its monthly archives (every force, 36
months, gigabytes) or in custom downloads it builds on request. A small real sample (one force
area, a year) is available from its API instead: one request per month,
``{api}/crimes-street/all-crime?poly=...&date=YYYY-MM`` (JSON, at most 10,000 crimes per
request), and ``{api}/crimes-street-dates`` lists the months published. The JSON is saved as
downloaded (checksummed like any other file) and converted to the street CSV layout of the
archive, so ``ingest`` treats it as a street file.

What differs from the archive's CSV: the API selects crimes by **location** (the anonymised
map point lies inside the polygon), not by the force that recorded them, so crimes a
neighbouring force recorded at points inside the outline are included; the LSOA columns and
``Reported by`` / ``Falls within`` are empty (the API does not give them); the crime type is
the API's category slug turned into the archive's label (``violent-crime`` -> ``Violence and
sexual offences``); an unknown slug is kept as it is, so ingest quarantines it as an unknown
offence rather than dropping it silently.
"""

from __future__ import annotations

import csv
import json
import os
import urllib.parse
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError

DEFAULT_API_URL = "https://data.police.uk/api"
API_URL_ENV = "PATROLCAST_POLICE_UK_API_URL"
DATES_PATH = "crimes-street-dates.json"

# Outlines (latitude, longitude) of the force areas the API layout knows: the ONS Police Force
# Areas (December 2022) generalised boundary, simplified to 60 m. Other forces: --layout archive.
AREAS: dict[str, tuple[tuple[float, float], ...]] = {
    "city-of-london": (
        (51.5069, -0.0802),
        (51.5098, -0.1115),
        (51.5153, -0.1116),
        (51.5185, -0.1053),
        (51.5215, -0.0786),
    ),
}

# data.police.uk API category slugs -> the "Crime type" labels of the published CSV files.
CRIME_TYPES: dict[str, str] = {
    "anti-social-behaviour": "Anti-social behaviour",
    "bicycle-theft": "Bicycle theft",
    "burglary": "Burglary",
    "criminal-damage-arson": "Criminal damage and arson",
    "drugs": "Drugs",
    "other-theft": "Other theft",
    "possession-of-weapons": "Possession of weapons",
    "public-order": "Public order",
    "robbery": "Robbery",
    "shoplifting": "Shoplifting",
    "theft-from-the-person": "Theft from the person",
    "vehicle-crime": "Vehicle crime",
    "violent-crime": "Violence and sexual offences",
    "other-crime": "Other crime",
}

STREET_HEADER = (
    "Crime ID", "Month", "Reported by", "Falls within", "Longitude", "Latitude", "Location",
    "LSOA code", "LSOA name", "Crime type", "Last outcome category", "Context",
)  # fmt: skip


def api_url(flag: str | None = None) -> str:
    """The API base URL: the flag, else ``PATROLCAST_POLICE_UK_API_URL``, else the live API."""
    url = (flag or os.environ.get(API_URL_ENV) or DEFAULT_API_URL).rstrip("/")
    if urllib.parse.urlsplit(url).scheme not in ("http", "https"):
        raise InputError(f"API URL {url!r}: use an http:// or https:// URL")
    return url


def area(force: str) -> tuple[tuple[float, float], ...]:
    try:
        return AREAS[force]
    except KeyError:
        raise InputError(
            f"--layout api knows the outline of {', '.join(sorted(AREAS))} only, not {force!r}: "
            "use --layout archive for other forces"
        ) from None


def street_items(force: str, months: list[str], api: str) -> list[tuple[str, str]]:
    """(URL, relative path) of the JSON of each month's street-level crimes in the force area."""
    poly = ":".join(f"{lat:.4f},{lon:.4f}" for lat, lon in area(force))
    return [
        (
            f"{api}/crimes-street/all-crime?poly={poly}&date={month}",
            f"{month}/{month}-{force}-street.json",
        )
        for month in months
    ]


def published_months(dates_file: Path) -> list[str]:
    """Months listed in a saved ``crimes-street-dates`` answer, oldest first."""
    try:
        data = json.loads(dates_file.read_text(encoding="utf-8"))
        found = sorted({str(entry["date"])[:7] for entry in data})
    except (OSError, ValueError, TypeError, KeyError) as exc:
        raise InputError(f"{dates_file}: not a list of published months ({exc})") from None
    if not found:
        raise InputError(f"{dates_file}: the API lists no published month")
    return found


def _text(value: Any) -> str:
    return "" if value is None else str(value)


def street_csv(json_file: Path) -> Path:
    """Convert one month's JSON (as downloaded) to ``<same name>.csv`` in the street layout."""
    try:
        crimes = json.loads(json_file.read_text(encoding="utf-8"))
        if not isinstance(crimes, list):
            raise ValueError("not a list of crimes")
    except (OSError, ValueError) as exc:
        raise InputError(f"{json_file}: not a data.police.uk crimes answer ({exc})") from None
    target = json_file.with_suffix(".csv")
    tmp = target.with_name(target.name + ".tmp")
    with tmp.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, lineterminator="\n")
        out.writerow(STREET_HEADER)
        for crime in crimes:
            crime = crime if isinstance(crime, dict) else {}
            place = crime.get("location") or {}
            street = place.get("street") or {}
            outcome = crime.get("outcome_status") or {}
            slug = _text(crime.get("category"))
            out.writerow(
                [
                    _text(crime.get("persistent_id")),
                    _text(crime.get("month")),
                    "",
                    "",
                    _text(place.get("longitude")),
                    _text(place.get("latitude")),
                    _text(street.get("name")),
                    "",
                    "",
                    CRIME_TYPES.get(slug, slug),
                    _text(outcome.get("category")),
                    _text(crime.get("context")),
                ]
            )
    tmp.replace(target)
    return target


__all__ = [
    "API_URL_ENV",
    "AREAS",
    "CRIME_TYPES",
    "DEFAULT_API_URL",
    "api_url",
    "published_months",
    "street_csv",
    "street_items",
]
