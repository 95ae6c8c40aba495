"""Boroughs named by a person: a name ("Hackney", "hammersmith & fulham") or a GSS code
("E09000012"), wherever a borough is named. Stored and sent as the GSS code.

Names are looked up in the borough boundaries of the settings (``boroughs_file``, by default
the London boroughs in the shared data), case and punctuation aside. A code is accepted as it
is when it has the GSS shape (the server checks it against the boundaries it holds).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from pathlib import Path

from patrolcast.errors import InputError

__all__ = ["borough_code", "borough_codes"]

_GSS = re.compile(r"[EWSN]\d{8}")


def _key(name: str) -> str:
    text = name.casefold().replace("&", " and ")
    return " ".join(re.sub(r"[^a-z0-9]+", " ", text).split())


def _names(boundaries: Path) -> dict[str, str]:
    from patrolcast.geo.boundaries import read_borough_boundaries

    areas = read_borough_boundaries(boundaries)
    found = {_key(n): str(c) for c, n in zip(areas.ids, areas.names, strict=True)}
    if "city of london" in found:
        found.setdefault("city", found["city of london"])
    return found


def borough_codes(values: Iterable[str], boundaries: Path) -> list[str]:
    """GSS codes of ``values`` (names or codes); an unknown name is refused, naming it."""
    wanted = [v.strip() for v in values if v.strip()]
    codes: list[str] = []
    lookup: dict[str, str] | None = None
    for value in wanted:
        if _GSS.fullmatch(value.upper()):
            codes.append(value.upper())
            continue
        if lookup is None:
            if not boundaries.exists():
                raise InputError(
                    f"borough {value!r}: naming a borough needs the borough boundaries "
                    f"({boundaries} is absent); give its GSS code (e.g. E09000012)"
                )
            lookup = _names(boundaries)
        code = lookup.get(_key(value))
        if code is None:
            raise InputError(
                f"unknown borough {value!r}: give a borough name or GSS code from {boundaries.name}"
            )
        codes.append(code)
    return codes


def borough_code(value: str, boundaries: Path) -> str:
    """The GSS code of one borough (name or code)."""
    codes = borough_codes([value], boundaries)
    if not codes:
        raise InputError("empty borough: give a borough name or GSS code")
    return codes[0]
