"""The one rule for times a person types: every command, the API and the web pages use it.

A time without a zone is local time: Europe/London, or the dataset's own zone for US city data
(the zone of its column mapping, e.g. America/Chicago). A time with an offset (``+01:00``,
``Z``) means what it says. Times are stored in UTC. A local time in the spring-forward gap is
refused (it never happened) and one in the autumn fold needs an offset (it happened twice); the
parsing itself is :func:`patrolcast.governance.clock.parse_time`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from patrolcast.errors import InputError
from patrolcast.governance.clock import LONDON, parse_time

__all__ = [
    "LONDON",
    "TIME_RULE",
    "dataset_zone",
    "parse_dataset_time",
    "parse_local_time",
    "time_help",
    "zone_of_info",
]

#: The rule in one sentence, for help texts and documentation.
TIME_RULE = (
    "a time without a zone is local time: Europe/London, or the dataset's own zone for US "
    "city data (its mapping); stored in UTC"
)

_EXAMPLE = "ISO 8601, e.g. 2026-06-01T14:00 or with an offset 2026-06-01T14:00+01:00"


def time_help(what: str, *, dataset: bool = False) -> str:
    """A help text for an option taking a time, stating the rule.

    ``dataset``: the time belongs to a dataset (a forecast window), so US city data are read in
    the dataset's zone; otherwise (governance, intelligence) Europe/London.
    """
    rule = TIME_RULE if dataset else "a time without a zone is Europe/London; stored in UTC"
    return f"{what}. {_EXAMPLE}; {rule}."


def parse_local_time(text: str, *, zone: str = LONDON, option: str | None = None) -> datetime:
    """``text`` as an aware UTC time; without an offset it is wall-clock time in ``zone``.

    ``option`` (e.g. ``"--start"``) prefixes the error so the user knows which value to fix.
    """
    try:
        return parse_time(text, zone=zone)
    except InputError as exc:
        if option is None:
            raise
        raise InputError(f"{option}: {exc}") from None


def zone_of_info(info: dict[str, Any]) -> str:
    """The local zone of a dataset from its store metadata (``dataset.json``).

    US city data carry their mapping's zone; everything else (data.police.uk, London Datastore,
    British National Grid data) is Europe/London.
    """
    mapping = info.get("mapping")
    if mapping:
        from patrolcast.io import load_mapping

        try:
            return load_mapping(str(mapping)).timezone
        except InputError:
            return LONDON
    return LONDON


def dataset_zone(store: Any, dataset: str) -> str:
    """The local zone of ``dataset`` in ``store`` (refuses an unknown dataset, naming it)."""
    return zone_of_info(store.meta(dataset))


def parse_dataset_time(text: str, store: Any, dataset: str, *, option: str | None = None
                       ) -> datetime:
    """A time typed for ``dataset``: without a zone, the dataset's local time (UTC result)."""
    return parse_local_time(text, zone=dataset_zone(store, dataset), option=option)
