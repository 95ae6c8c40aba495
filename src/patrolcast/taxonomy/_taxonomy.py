"""Loading, validating and applying the offence taxonomy file."""

from __future__ import annotations

import csv
import io
import math
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import numpy.typing as npt
import pandas as pd

from patrolcast.errors import InputError

GROUPS: tuple[str, ...] = (
    "serious_violence",
    "violence",
    "robbery",
    "weapons",
    "sexual",
    "public_order",
    "burglary",
    "theft",
    "vehicle",
    "criminal_damage",
    "drugs",
    "asb",
    "fraud",
    "other",
)
SERIOUS_VIOLENCE = "serious_violence"
_COLUMNS = ("source", "offence", "group", "harm", "basis")
_BASES = ("published", "approximate")
_SPACES = re.compile(r"\s+")


def normalise_label(label: str) -> str:
    """Case-folded label with surrounding space removed and inner runs of space collapsed."""
    return _SPACES.sub(" ", label.strip()).casefold()


def default_taxonomy_path() -> Path:
    """The taxonomy shipped with patrolcast (``patrolcast/taxonomy/offences.csv``)."""
    return Path(__file__).with_name("offences.csv")


@dataclass(frozen=True)
class Offence:
    """One row of the taxonomy: how one publisher label is grouped and weighted."""

    source: str
    offence: str
    group: str
    harm: float
    basis: str


@dataclass(frozen=True)
class Taxonomy:
    """Validated taxonomy, looked up by ``(source, normalised label)``.

    For the ``home-office`` vocabulary, labels are ``"MAJOR / MINOR"``; an entry
    ``"MAJOR / *"`` matches any minor category of that major category not listed on its own.
    """

    entries: tuple[Offence, ...]
    path: str

    def __post_init__(self) -> None:
        index: dict[tuple[str, str], Offence] = {}
        for entry in self.entries:
            index[(entry.source, normalise_label(entry.offence))] = entry
        object.__setattr__(self, "_index", index)

    @property
    def sources(self) -> tuple[str, ...]:
        return tuple(sorted({e.source for e in self.entries}))

    def lookup(self, source: str, label: str) -> Offence | None:
        """The entry for ``label`` in ``source``'s vocabulary, or None if the label is unknown."""
        index: dict[tuple[str, str], Offence] = self._index  # type: ignore[attr-defined]
        key = normalise_label(label)
        hit = index.get((source, key))
        if hit is None and " / " in key:
            hit = index.get((source, key.split(" / ", 1)[0] + " / *"))
        return hit

    def classify(
        self, source: str, labels: Sequence[str] | npt.NDArray[np.object_]
    ) -> tuple[npt.NDArray[np.object_], npt.NDArray[np.float64]]:
        """Offence group and harm weight of each label (group None, harm NaN where unknown).

        Looks up each distinct label once, so it is cheap on millions of rows with few labels.
        """
        inverse, uniques = pd.factorize(np.asarray(labels, dtype=object), use_na_sentinel=False)
        groups = np.empty(len(uniques), dtype=object)
        harms = np.full(len(uniques), np.nan)
        for i, label in enumerate(uniques):
            hit = self.lookup(source, str(label))
            if hit is not None:
                groups[i] = hit.group
                harms[i] = hit.harm
        return groups[inverse], harms[inverse]

    def groups_for(self, source: str) -> dict[str, str]:
        """Label -> group for one vocabulary (as written in the file)."""
        return {e.offence: e.group for e in self.entries if e.source == source}


def _parse(text: str, origin: str) -> Taxonomy:
    lines = [ln for ln in text.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
    if not lines:
        raise InputError(f"taxonomy {origin} is empty")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    header = [h.strip() for h in next(reader)]
    if tuple(header) != _COLUMNS:
        raise InputError(
            f"taxonomy {origin}: header must be {','.join(_COLUMNS)}, got {','.join(header)}"
        )
    entries: list[Offence] = []
    seen: set[tuple[str, str]] = set()
    for number, row in enumerate(reader, start=2):
        where = f"taxonomy {origin}, entry {number}"
        if len(row) != len(_COLUMNS):
            raise InputError(f"{where}: expected {len(_COLUMNS)} fields, got {len(row)}")
        source, offence, group, harm_text, basis = (field.strip() for field in row)
        if not source or not offence:
            raise InputError(f"{where}: source and offence must not be empty")
        if group not in GROUPS:
            raise InputError(f"{where}: unknown group {group!r} (known: {', '.join(GROUPS)})")
        try:
            harm = float(harm_text)
        except ValueError:
            raise InputError(f"{where}: harm {harm_text!r} is not a number") from None
        if not math.isfinite(harm) or harm < 0:
            raise InputError(f"{where}: harm must be a finite non-negative number")
        if basis not in _BASES:
            raise InputError(f"{where}: basis must be one of {', '.join(_BASES)}")
        key = (source, normalise_label(offence))
        if key in seen:
            raise InputError(f"{where}: ({source}, {offence}) is listed twice")
        seen.add(key)
        entries.append(Offence(source, offence, group, harm, basis))
    return Taxonomy(entries=tuple(entries), path=origin)


@lru_cache(maxsize=8)
def _load_cached(path: str, mtime: float) -> Taxonomy:
    return _parse(Path(path).read_text(encoding="utf-8-sig"), path)


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """Load and validate a taxonomy file (default: the shipped ``offences.csv``).

    Raises
    ------
    InputError
        If the file is missing, has the wrong header, an unknown group, a negative or
        non-numeric harm weight, or a duplicate ``(source, offence)`` pair.
    """
    target = Path(path) if path is not None else default_taxonomy_path()
    if not target.is_file():
        raise InputError(f"taxonomy file {target} does not exist")
    return _load_cached(str(target.resolve()), target.stat().st_mtime)


def known_labels(taxonomy: Taxonomy, source: str) -> Iterable[str]:
    """Labels a vocabulary knows (for error messages and docs)."""
    return (e.offence for e in taxonomy.entries if e.source == source)
