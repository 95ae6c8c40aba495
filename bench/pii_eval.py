"""Precision and recall of the personal-data check on a labelled corpus.

Run: ``.venv/bin/python bench/pii_eval.py [--corpus tests/privacy/corpus.tsv] [--split dev]
[--json] [--errors]``

The corpus (``tests/privacy/corpus.tsv``) holds short texts of the kind written in patrol
proposals, consultations, debriefs and intelligence summaries, each labelled ``personal`` (it
holds personal data the check should refuse) or ``innocuous`` (a place or time description that
must pass), with a kind (``name``, ``phone``, ``pub``, ``bus``...) and a split: ``dev`` texts were
used while improving the check, ``holdout`` texts (a fixed 30 % chosen by a hash of the text)
were not looked at until the end. In the text column ``\\uXXXX`` stands for that code point, so
invisible and look-alike characters stay readable in review.

A text counts as flagged when :func:`patrolcast.privacy.check_text` returns any finding. For the
``personal`` class: true positive = flagged, false negative = passed; for ``innocuous``: false
positive = flagged, true negative = passed. Precision = TP / (TP + FP), recall = TP / (TP + FN),
F1 their harmonic mean. Counts are printed per split and per kind; ``--errors`` lists the texts
that were misclassified (with the kinds found), ``--json`` prints everything as one object.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

from patrolcast.privacy import check_text

DEFAULT_CORPUS = Path(__file__).resolve().parents[1] / "tests" / "privacy" / "corpus.tsv"
LABELS = ("personal", "innocuous")
SPLITS = ("dev", "holdout")


@dataclass(frozen=True)
class Case:
    """One labelled text of the corpus."""

    label: str
    kind: str
    split: str
    text: str
    line: int


def _unescape(text: str) -> str:
    return re.sub(r"\\u([0-9a-fA-F]{4})", lambda m: chr(int(m.group(1), 16)), text)


def load_corpus(path: Path = DEFAULT_CORPUS) -> list[Case]:
    """Read the corpus: ``#`` comment lines, a header, then label, kind, split, text (tabs)."""
    cases: list[Case] = []
    header_seen = False
    for number, raw in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not raw.strip() or raw.startswith("#"):
            continue
        if not header_seen:
            if raw.split("\t") != ["label", "kind", "split", "text"]:
                raise ValueError(f"{path}:{number}: expected the header label, kind, split, text")
            header_seen = True
            continue
        parts = raw.split("\t")
        if len(parts) != 4:
            raise ValueError(f"{path}:{number}: expected 4 tab-separated fields, got {len(parts)}")
        label, kind, split, text = parts
        if label not in LABELS or split not in SPLITS:
            raise ValueError(f"{path}:{number}: label {label!r} or split {split!r} unknown")
        cases.append(Case(label, kind, split, _unescape(text), number))
    return cases


@dataclass
class Counts:
    """Confusion counts with the usual ratios (``None`` where a ratio has no denominator)."""

    tp: int = 0
    fp: int = 0
    tn: int = 0
    fn: int = 0

    def add(self, label: str, flagged: bool) -> None:
        if label == "personal":
            if flagged:
                self.tp += 1
            else:
                self.fn += 1
        elif flagged:
            self.fp += 1
        else:
            self.tn += 1

    @property
    def precision(self) -> float | None:
        return self.tp / (self.tp + self.fp) if self.tp + self.fp else None

    @property
    def recall(self) -> float | None:
        return self.tp / (self.tp + self.fn) if self.tp + self.fn else None

    @property
    def f1(self) -> float | None:
        p, r = self.precision, self.recall
        if p is None or r is None or p + r == 0:
            return None
        return 2 * p * r / (p + r)

    def as_dict(self) -> dict[str, float | int | None]:
        return {"tp": self.tp, "fp": self.fp, "tn": self.tn, "fn": self.fn,
                "precision": self.precision, "recall": self.recall, "f1": self.f1}


@dataclass
class Report:
    """Counts overall, per split and per (split, label, kind), and the misclassified cases."""

    overall: Counts
    by_split: dict[str, Counts]
    by_kind: dict[tuple[str, str, str], Counts]
    errors: list[tuple[Case, list[str]]]


def evaluate(cases: list[Case], splits: tuple[str, ...] = SPLITS) -> Report:
    """Run the check on every case of the given splits and count the outcomes."""
    overall = Counts()
    by_split: dict[str, Counts] = {s: Counts() for s in splits}
    by_kind: dict[tuple[str, str, str], Counts] = defaultdict(Counts)
    errors: list[tuple[Case, list[str]]] = []
    for case in cases:
        if case.split not in splits:
            continue
        kinds = [f.kind for f in check_text(case.text)]
        flagged = bool(kinds)
        overall.add(case.label, flagged)
        by_split[case.split].add(case.label, flagged)
        by_kind[(case.split, case.label, case.kind)].add(case.label, flagged)
        if flagged != (case.label == "personal"):
            errors.append((case, kinds))
    return Report(overall, by_split, dict(sorted(by_kind.items())), errors)


def _pct(value: float | None) -> str:
    return "  n/a" if value is None else f"{100 * value:5.1f}"


def render(report: Report, *, show_errors: bool) -> str:
    """The report as plain text."""
    lines = ["split     precision  recall     F1    TP   FP   TN   FN"]
    rows = [*report.by_split.items(), ("all", report.overall)]
    for name, c in rows:
        lines.append(f"{name:<9} {_pct(c.precision):>9} {_pct(c.recall):>7} {_pct(c.f1):>6}"
                     f" {c.tp:5d} {c.fp:4d} {c.tn:4d} {c.fn:4d}")
    lines += ["", "per kind (personal: caught/total; innocuous: passed/total)"]
    for (split, label, kind), c in report.by_kind.items():
        good, total = (c.tp, c.tp + c.fn) if label == "personal" else (c.tn, c.tn + c.fp)
        lines.append(f"  {split:<8} {label:<10} {kind:<15} {good:4d}/{total:<4d}")
    if show_errors:
        lines += ["", "misclassified"]
        for case, kinds in report.errors:
            found = ", ".join(kinds) or "nothing found"
            lines.append(f"  line {case.line} [{case.split} {case.label} {case.kind}] "
                         f"{case.text!r} -> {found}")
    return "\n".join(lines)


def as_json(report: Report) -> dict[str, object]:
    """The report as a JSON-ready dictionary."""
    return {
        "overall": report.overall.as_dict(),
        "by_split": {s: c.as_dict() for s, c in report.by_split.items()},
        "by_kind": [{"split": s, "label": lab, "kind": k, **c.as_dict()}
                    for (s, lab, k), c in report.by_kind.items()],
        "errors": [{"line": c.line, "split": c.split, "label": c.label, "kind": c.kind,
                    "text": c.text, "found": kinds} for c, kinds in report.errors],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--corpus", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--split", choices=SPLITS, action="append",
                        help="evaluate only this split (repeatable; default: both)")
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--errors", action="store_true", help="list misclassified texts")
    args = parser.parse_args(argv)
    report = evaluate(load_corpus(args.corpus), tuple(args.split or SPLITS))
    if args.json:
        print(json.dumps(as_json(report), indent=2, ensure_ascii=False))
    else:
        print(render(report, show_errors=args.errors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
