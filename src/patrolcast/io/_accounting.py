"""Ingest accounting: every input row is stored or quarantined with a reason.

``rows_in = stored + quarantined`` holds per file and in total, and is asserted. ``stored``
counts input rows represented in the store; ``events`` counts stored records (fewer when the
victim rows of one incident collapse into one event, more when a wide table of monthly counts
turns long).
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

# Quarantine reasons, in the order the checks run.
NO_COORDINATES = "no coordinates"
ZERO_COORDINATES = "zero coordinates"
BAD_COORDINATES = "coordinates not a number"
BAD_DATE = "bad date"
MISSING_TIME = "missing time of day"
OUTSIDE = "outside the study area"
UNKNOWN_OFFENCE = "unknown offence"
NO_AREA = "no area code"
BAD_COUNT = "bad count"
DUPLICATE_IN_FILE = "duplicate within file"
ALREADY_STORED = "already stored (same event id)"


@dataclass
class FileSummary:
    """Accounting for one input file."""

    path: str
    sha256: str
    kind: str
    mapping: str | None = None
    encoding: str = ""
    delimiter: str = ""
    rows_in: int = 0
    stored: int = 0
    events: int = 0
    quarantined: int = 0
    reasons: Counter[str] = field(default_factory=Counter)
    notes: Counter[str] = field(default_factory=Counter)
    status: str = "ingested"  # ingested | skipped (already ingested) | empty

    def check(self) -> None:
        """Assert the accounting identity (a failure is a bug, not bad input)."""
        if self.rows_in != self.stored + self.quarantined:
            raise AssertionError(
                f"{self.path}: rows_in {self.rows_in} != stored {self.stored} + quarantined "
                f"{self.quarantined}"
            )
        if sum(self.reasons.values()) != self.quarantined:
            raise AssertionError(f"{self.path}: quarantine reasons do not add up")

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "sha256": self.sha256,
            "kind": self.kind,
            "mapping": self.mapping,
            "status": self.status,
            "encoding": self.encoding,
            "delimiter": self.delimiter,
            "rows_in": self.rows_in,
            "stored": self.stored,
            "events": self.events,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
            "notes": dict(sorted(self.notes.items())),
        }


@dataclass
class IngestSummary:
    """Accounting for one ingest run (one or many files into one dataset)."""

    dataset: str
    kind: str
    crs: str
    transformation: str
    files: list[FileSummary] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def rows_in(self) -> int:
        return sum(f.rows_in for f in self.files)

    @property
    def stored(self) -> int:
        return sum(f.stored for f in self.files)

    @property
    def events(self) -> int:
        return sum(f.events for f in self.files)

    @property
    def quarantined(self) -> int:
        return sum(f.quarantined for f in self.files)

    @property
    def reasons(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.reasons)
        return total

    @property
    def notes(self) -> Counter[str]:
        total: Counter[str] = Counter()
        for f in self.files:
            total.update(f.notes)
        return total

    def check(self) -> None:
        for f in self.files:
            f.check()
        if self.rows_in != self.stored + self.quarantined:
            raise AssertionError("ingest accounting does not add up")

    def to_dict(self) -> dict[str, Any]:
        return {
            "dataset": self.dataset,
            "kind": self.kind,
            "crs": self.crs,
            "transformation": self.transformation,
            "rows_in": self.rows_in,
            "stored": self.stored,
            "events": self.events,
            "quarantined": self.quarantined,
            "reasons": dict(sorted(self.reasons.items())),
            "notes": dict(sorted(self.notes.items())),
            "files_ingested": sum(f.status == "ingested" for f in self.files),
            "files_skipped": sum(f.status != "ingested" for f in self.files),
            "seconds": round(self.seconds, 3),
            "files": [f.to_dict() for f in self.files],
        }
