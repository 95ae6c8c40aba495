"""A small real sample for a machine without the shared data: one force area, the last months.

:func:`fetch_sample` asks the data.police.uk API which months are published, then downloads
the street-level crimes of the City of London for the last ``n_months`` of them with
:func:`patrolcast.io.fetch.fetch_police_uk` (``layout="api"``: polite, checksummed, resumable;
the JSON is kept and converted to the published street CSV layout). A second run downloads the
months list again and skips the months already on disk. Nothing here runs unless the caller
asked for it (``patrolcast demo`` does when the shared data folder is absent, and says so first).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from patrolcast.errors import InputError
from patrolcast.io import fetch, police_uk_api

SAMPLE_FORCE = "city-of-london"
SAMPLE_MONTHS = 12


class SampleUnavailable(InputError):
    """The sample could not be downloaded (network unreachable, server failing)."""


@dataclass(frozen=True)
class Sample:
    folder: Path  # the street CSV files (and their JSON) in YYYY-MM/ folders
    months: tuple[str, ...]
    files: int  # months with a file (a month the API has no answer for is listed as missing)
    missing: tuple[str, ...]
    api: str


def fetch_sample(
    folder: Path,
    *,
    force: str = SAMPLE_FORCE,
    n_months: int = SAMPLE_MONTHS,
    api: str | None = None,
    delay: float = 1.0,
    retries: int = 2,
    timeout: float = 30.0,
    progress: fetch.Progress | None = None,
    sleep: Callable[[float], None] | None = None,
) -> Sample:
    """Download the sample into ``folder``; :class:`SampleUnavailable` in one line on failure."""
    root = police_uk_api.api_url(api)
    police_uk_api.area(force)  # an unknown force area is refused before any request
    options: dict[str, object] = {"delay": delay, "retries": retries, "timeout": timeout}
    if sleep is not None:
        options["sleep"] = sleep
    folder.mkdir(parents=True, exist_ok=True)
    dates = fetch.fetch_files(
        [(f"{root}/crimes-street-dates", police_uk_api.DATES_PATH)], folder, refresh=True,
        **options,  # type: ignore[arg-type]
    )  # fmt: skip
    head = dates.files[0]
    if head.status in ("failed", "not found"):
        raise SampleUnavailable(
            f"cannot reach the data.police.uk API at {root} ({head.message or head.status})"
        )
    published = police_uk_api.published_months(folder / police_uk_api.DATES_PATH)
    chosen = published[-n_months:]
    summary = fetch.fetch_police_uk(
        force, chosen[0], chosen[-1], folder, kinds=("street",), layout="api", base=root,
        progress=progress, **options,
    )  # fmt: skip
    got = [f for f in summary.files if f.status not in ("failed", "not found")]
    if not got:
        reasons = "; ".join(sorted({f"{f.status} {f.message}".strip() for f in summary.files}))
        raise SampleUnavailable(
            f"no month of the sample could be downloaded from {root} ({reasons})"
        )
    missing = tuple(f.path.split("/")[0] for f in summary.files if f not in got)
    return Sample(folder, tuple(chosen), len(got), missing, root)


__all__ = ["SAMPLE_FORCE", "SAMPLE_MONTHS", "Sample", "SampleUnavailable", "fetch_sample"]
