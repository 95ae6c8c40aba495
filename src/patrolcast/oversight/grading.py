"""The 3x5x2 intelligence grading and the documented weights it gives an item.

The 3x5x2 system (College of Policing APP *Intelligence management*, 2021; it replaced 5x5x5)
grades every piece of intelligence on three axes:

- source evaluation: 1 reliable, 2 untested, 3 not reliable;
- intelligence assessment: A known directly to the source, B known indirectly but corroborated,
  C known indirectly, D not known, E suspected to be false;
- handling code: P lawful sharing permitted, C lawful sharing permitted with conditions.

The *weight* of a grading is ``source_weight * assessment_weight`` with the values read from
``grading.toml`` (editable; a judgement, stated in the file, not an estimate). Handling does not
change the weight: it governs sharing, not credibility. An E grading always weighs 0.
"""

from __future__ import annotations

import re
import tomllib
from dataclasses import dataclass
from enum import StrEnum
from importlib import resources
from pathlib import Path
from typing import Any

from patrolcast.errors import InputError

__all__ = [
    "Assessment",
    "Grading",
    "GradingWeights",
    "Handling",
    "SourceEvaluation",
    "load_weights",
]


class SourceEvaluation(StrEnum):
    RELIABLE = "1"
    UNTESTED = "2"
    NOT_RELIABLE = "3"


class Assessment(StrEnum):
    KNOWN_DIRECTLY = "A"
    KNOWN_INDIRECTLY_CORROBORATED = "B"
    KNOWN_INDIRECTLY = "C"
    NOT_KNOWN = "D"
    SUSPECTED_FALSE = "E"


class Handling(StrEnum):
    SHARING_PERMITTED = "P"
    SHARING_WITH_CONDITIONS = "C"


_GRADING = re.compile(r"^\s*([123])\s*[-/ ]?\s*([A-Ea-e])\s*[-/ ]?\s*([PCpc])\s*$")


@dataclass(frozen=True)
class Grading:
    """A 3x5x2 grading, e.g. ``Grading.parse("2B P")``."""

    source: SourceEvaluation
    assessment: Assessment
    handling: Handling

    @classmethod
    def parse(cls, text: str) -> Grading:
        """Parse ``"1A P"``, ``"1-A-P"``, ``"2bc"``...; one clear error otherwise."""
        m = _GRADING.match(text)
        if m is None:
            raise InputError(
                f"grading {text!r} is not 3x5x2: give source 1-3, assessment A-E and handling "
                "P or C, e.g. '2B P'"
            )
        source, assessment, handling = m.group(1), m.group(2).upper(), m.group(3).upper()
        return cls(SourceEvaluation(source), Assessment(assessment), Handling(handling))

    def __str__(self) -> str:
        return f"{self.source.value}{self.assessment.value} {self.handling.value}"


@dataclass(frozen=True)
class GradingWeights:
    """Weights per source evaluation and assessment, the decay and the largest radius."""

    source: dict[str, float]
    assessment: dict[str, float]
    end_fraction: float
    max_radius_m: float

    def weight(self, grading: Grading) -> float:
        """``source_weight * assessment_weight`` of a grading (0 for assessment E)."""
        return self.source[grading.source.value] * self.assessment[grading.assessment.value]

    def as_dict(self) -> dict[str, Any]:
        return {
            "source": dict(self.source),
            "assessment": dict(self.assessment),
            "end_fraction": self.end_fraction,
            "max_radius_m": self.max_radius_m,
        }


def load_weights(path: Path | None = None) -> GradingWeights:
    """Read the grading weights (default: the packaged ``grading.toml``)."""
    if path is None:
        text = resources.files("patrolcast.oversight").joinpath("grading.toml").read_text("utf-8")
    else:
        if not path.exists():
            raise InputError(f"grading weights file {path} does not exist")
        text = path.read_text("utf-8")
    try:
        raw = tomllib.loads(text)
        source = {k: float(raw["source"][k]) for k in ("1", "2", "3")}
        assessment = {k: float(raw["assessment"][k]) for k in "ABCDE"}
        end_fraction = float(raw["decay"]["end_fraction"])
        max_radius = float(raw["place"]["max_radius_m"])
    except (KeyError, ValueError, TypeError, tomllib.TOMLDecodeError) as exc:
        raise InputError(f"grading weights file is incomplete or malformed: {exc}") from None
    values = [*source.values(), *assessment.values(), end_fraction]
    if any(not 0.0 <= v <= 1.0 for v in values):
        raise InputError("grading weights and end_fraction must lie between 0 and 1")
    if assessment["E"] != 0.0:
        raise InputError("assessment E (suspected false) must weigh 0")
    if max_radius <= 0:
        raise InputError("max_radius_m must be positive")
    return GradingWeights(source, assessment, end_fraction, max_radius)
