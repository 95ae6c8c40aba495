"""The monthly public transparency report (``patrolcast report transparency``).

For one calendar month of proposals: deployments by borough and outcome, by trigger type and
outcome, authorised durations, extensions, authorising rank, plus the algorithm described under
the UK Algorithmic Transparency Recording Standard (:mod:`patrolcast.oversight.atrs`). Written
as HTML from the shared document templates (``io/templates/transparency.html`` over
``base.html``: self-contained, no scripts, no external assets; :func:`write_pdf` prints the same
document to an A4 PDF with the public marking on every page), CSV (long format, every text cell
escaped against formula injection), JSON, GeoJSON (borough polygons in WGS84, RFC 7946, with
the suppressed counts as properties) and, when given, the audit log's public key
(``write_public_key``) so that anyone can verify the signed audit exports.

Month of a proposal (:attr:`DeploymentRecord.month`), in Europe/London local time: an
authorised proposal is filed under the month of its authorised start (not the month it asked
for); a refused one under the month of the refusal; an undecided one under its requested
start. Without those times (older records) the requested start is used.

Every count table is suppressed with :func:`patrolcast.oversight.suppression.suppress`: counts
of 1 and 2 show as ``"<3"``, small totals and further withheld counts as ``"[c]"``, checked on
the whole table so no hidden count can be solved from the rest; then all tables and the
headline are solved together (:func:`linked_disclosures`), and a column that would still give
a small count away is withheld whole and named in the notes. A deployment that touches two
boroughs counts once in each borough's row; the totals of the borough table are therefore
borough-deployments, not deployments (the report says so).

Files fit to publish: every file carries the Open Government Licence v3.0 attribution
(:data:`OGL_ATTRIBUTION`; the GeoJSON also the boundaries' OS/ONS attribution), the deploying
organisation and its public marking from the ``[organisation]`` settings (a visible warning
while those are not set). Numbers are numbers: the CSV and GeoJSON give each count as an
integer (empty where withheld) with a separate flag column (``suppressed (<3)`` or ``[c]``),
column names in snake_case, so GDAL and spreadsheets read counts as integers. Months are
written as ``month_start`` (``2025-06-01``, ISO 8601: Excel reads it as that date, LibreOffice
keeps the ISO form; a bare ``2025-06`` became ``Jun-25`` in Excel) and a ``period`` text
(``June 2025 (Europe/London)``, which no spreadsheet takes for a date).

A median (or any order statistic) of fewer than ``MIN_FOR_ORDER_STATISTIC`` (10) deployments
is not published: the median of three deployments *is* one deployment's exact figure. Its
value then reads "not published (fewer than 10)" and its flag (``headline_flags``, the CSV's
``flag`` column) says why.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from patrolcast.config import Organisation
from patrolcast.errors import InputError
from patrolcast.io.writers import escape_csv_cell
from patrolcast.oversight.atrs import (
    algorithm_record,
    configured_organisation,
    organisation_warning,
)
from patrolcast.oversight.disclosure import WITHHELD, Link, joint_unprotected
from patrolcast.oversight.suppression import TOTAL, SuppressedTable, disclosed_cells, suppress

__all__ = [
    "DURATION_BANDS",
    "MIN_FOR_ORDER_STATISTIC",
    "OUTCOMES",
    "REPORT_TZ",
    "DeploymentRecord",
    "TransparencyReport",
    "BOUNDARY_ATTRIBUTION",
    "OGL_ATTRIBUTION",
    "OGL_URL",
    "build_report",
    "count_flag",
    "linked_disclosures",
    "month_start",
    "period_text",
    "summary_lines",
    "month_bounds",
    "month_of",
    "public_key_fingerprint",
    "write_csv",
    "write_geojson",
    "write_html",
    "write_json",
    "write_pdf",
    "write_public_key",
]

OUTCOMES = ("pending", "refused", "active", "cancelled", "expired")
OUTCOME_LABELS = {
    "pending": "not decided",
    "refused": "refused",
    "active": "authorised, active or upcoming",
    "cancelled": "authorised, cancelled early",
    "expired": "authorised, ran to expiry",
}
AUTHORISED = ("active", "cancelled", "expired")
ENDED = ("cancelled", "expired")
FOLLOW_UPS = ("awaiting debrief", "debriefed", "reviewed")
TRIGGERS = ("incident", "intelligence")
DURATION_BANDS = ((0.0, 6.0, "up to 6 h"), (6.0, 12.0, "6-12 h"), (12.0, 24.0, "12-24 h"),
                  (24.0, float("inf"), "over 24 h"))
MIN_FOR_TOTAL = 3  # sums of hours: published from 3 authorised deployments
MIN_FOR_ORDER_STATISTIC = 10  # medians and any other order statistic
NOT_PUBLISHED = f"not published (fewer than {MIN_FOR_ORDER_STATISTIC})"
REPORT_TZ = ZoneInfo("Europe/London")
OGL_URL = "https://www.nationalarchives.gov.uk/doc/open-government-licence/version/3/"
OGL_ATTRIBUTION = (
    "Contains public sector information licensed under the Open Government Licence v3.0 "
    f"({OGL_URL})."
)
BOUNDARY_ATTRIBUTION = (
    "Borough boundaries: London Datastore, Statistical GIS Boundary Files for London; "
    "contains National Statistics data and OS data © Crown copyright and database right, "
    "Open Government Licence v3.0."
)
#: snake_case keys of the outcome columns (GeoJSON properties), ``total`` for the total
OUTCOME_KEYS = {**{label: key for key, label in OUTCOME_LABELS.items()}, TOTAL: "total"}


def month_start(month: str) -> str:
    """``2025-06`` -> ``2025-06-01`` (an ISO 8601 date spreadsheets read as that day)."""
    return month_bounds(month)[0].date().isoformat()


def period_text(month: str) -> str:
    """``2025-06`` -> ``June 2025 (Europe/London)``: text no spreadsheet takes for a date."""
    return f"{month_bounds(month)[0]:%B %Y} (Europe/London)"


def count_flag(shown: Any) -> tuple[int | None, str]:
    """A displayed cell as ``(count, flag)``: ``(4, "")``, ``(None, "suppressed (<3)")``,
    ``(None, "[c]")``."""
    if isinstance(shown, str):
        return None, f"suppressed ({shown})" if shown.startswith("<") else shown
    return int(shown), ""


def month_of(when: datetime) -> str:
    """``YYYY-MM`` of an aware instant in Europe/London local time."""
    return when.astimezone(REPORT_TZ).strftime("%Y-%m")


@dataclass(frozen=True)
class DeploymentRecord:
    """What the public report needs of one proposal (no people: a rank, never a name)."""

    proposal_id: int
    requested_start: datetime
    boroughs: tuple[str, ...]
    trigger_type: str
    outcome: str
    authorised_hours: float | None = None
    extensions: int = 0
    authorising_rank: str | None = None
    area_km2: float = 0.0
    follow_up: str | None = None  # ended deployments: awaiting debrief, debriefed, reviewed
    authorised_start: datetime | None = None  # authorised proposals: the start granted
    decided_at: datetime | None = None  # when it was authorised or refused

    def __post_init__(self) -> None:
        for name in ("requested_start", "authorised_start", "decided_at"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise InputError(f"{name} must be timezone-aware (UTC)")
        if self.outcome not in OUTCOMES:
            raise InputError(f"unknown outcome {self.outcome!r}: one of {', '.join(OUTCOMES)}")
        if self.trigger_type not in TRIGGERS:
            raise InputError(f"unknown trigger type {self.trigger_type!r}")
        if not self.boroughs:
            raise InputError("a deployment record needs at least one borough")
        if self.follow_up is not None and self.follow_up not in FOLLOW_UPS:
            raise InputError(f"unknown follow-up {self.follow_up!r}: one of {FOLLOW_UPS}")

    @property
    def filed_by(self) -> str:
        """Which time files this proposal under a month (see the module notes)."""
        if self.authorised and self.authorised_start is not None:
            return "authorised start"
        if self.outcome == "refused" and self.decided_at is not None:
            return "decision"
        return "requested start"

    @property
    def month(self) -> str:
        """The month this proposal is reported under (Europe/London)."""
        when = {"authorised start": self.authorised_start, "decision": self.decided_at}.get(
            self.filed_by, self.requested_start)
        return month_of(when or self.requested_start)

    @property
    def authorised(self) -> bool:
        return self.outcome in AUTHORISED


@dataclass(frozen=True)
class TransparencyReport:
    """One month's tables (suppressed), headline figures and the ATRS record."""

    month: str
    generated_at: datetime
    tables: dict[str, SuppressedTable]
    titles: dict[str, str]
    headline: dict[str, Any]
    atrs: dict[str, dict[str, str]]
    borough_names: dict[str, str] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    headline_flags: dict[str, str] = field(default_factory=dict)
    audit_public_key_pem: str | None = None
    organisation: str = ""
    public_marking: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def month_start(self) -> str:
        return month_start(self.month)

    @property
    def period(self) -> str:
        return period_text(self.month)

    @property
    def audit_public_key_fingerprint(self) -> str | None:
        if self.audit_public_key_pem is None:
            return None
        return public_key_fingerprint(self.audit_public_key_pem)

    def as_dict(self) -> dict[str, Any]:
        return {
            "month": self.month,
            "month_start": self.month_start,
            "period": self.period,
            "organisation": self.organisation,
            "public_marking": self.public_marking,
            "warnings": self.warnings,
            "licence": OGL_ATTRIBUTION,
            "generated_at": self.generated_at.isoformat(),
            "headline": self.headline,
            "headline_flags": self.headline_flags,
            "audit_public_key": None if self.audit_public_key_pem is None else {
                "algorithm": "Ed25519",
                "pem": self.audit_public_key_pem,
                "fingerprint": self.audit_public_key_fingerprint,
            },
            "tables": {
                name: {
                    "title": self.titles[name],
                    "rows": _display_records(t),
                }
                for name, t in self.tables.items()
            },
            "notes": self.notes,
            "algorithm_transparency_record": self.atrs,
        }


def _display_records(table: SuppressedTable) -> list[dict[str, Any]]:
    shown = table.display
    out = []
    for row in shown.index:
        rec: dict[str, Any] = {"row": str(row)}
        for col in shown.columns:
            value = shown.loc[row, col]
            rec[str(col)] = value if isinstance(value, str) else int(value)
        out.append(rec)
    return out


def public_key_fingerprint(pem: str) -> str:
    """``sha256:<hex>`` of the raw 32-byte Ed25519 key (the audit checkpoints' ``key_id``);
    ``InputError`` unless ``pem`` is an Ed25519 public key in PEM."""
    from cryptography.hazmat.primitives import serialization
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    try:
        key = serialization.load_pem_public_key(pem.encode("ascii"))
    except (ValueError, TypeError, UnicodeEncodeError):
        raise InputError("the audit public key is not a PEM public key") from None
    if not isinstance(key, Ed25519PublicKey):
        raise InputError("the audit public key must be an Ed25519 key")
    raw = key.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return "sha256:" + hashlib.sha256(raw).hexdigest()


def month_bounds(month: str) -> tuple[datetime, datetime]:
    """The UTC instants ``[first day 00:00, next month's first day 00:00)`` of ``YYYY-MM``
    (also the check that ``month`` is ``YYYY-MM``; reports file by Europe/London months)."""
    try:
        start = datetime.strptime(month, "%Y-%m").replace(tzinfo=UTC)
    except ValueError:
        raise InputError(f"month {month!r} is not YYYY-MM") from None
    end = start.replace(year=start.year + 1, month=1) if start.month == 12 else start.replace(
        month=start.month + 1
    )
    return start, end


def _band(hours: float) -> str:
    for lo, hi, label in DURATION_BANDS:
        if lo < hours <= hi or (lo == 0.0 and hours == 0.0):
            return label
    return DURATION_BANDS[-1][2]


def build_report(
    records: Sequence[DeploymentRecord],
    month: str,
    *,
    generated_at: datetime,
    borough_names: dict[str, str] | None = None,
    atrs: dict[str, dict[str, str]] | None = None,
    threshold: int = 3,
    audit_public_key_pem: str | None = None,
    organisation: Organisation | None = None,
) -> TransparencyReport:
    """Build the report for ``month`` (``YYYY-MM``) from the proposals filed under it
    (:attr:`DeploymentRecord.month`: authorised start, else decision, else requested start,
    in Europe/London). ``audit_public_key_pem``: the audit log's Ed25519 public key, published
    with the report (checked: ``InputError`` if it is not one). ``organisation``: the
    deploying force (default: the ``[organisation]`` settings in force); the ATRS record
    defaults to :func:`~patrolcast.oversight.atrs.algorithm_record` of it."""
    month_bounds(month)
    org = configured_organisation(organisation)
    key_pem = None
    if audit_public_key_pem is not None:
        public_key_fingerprint(audit_public_key_pem)
        key_pem = audit_public_key_pem.strip() + "\n"
    mine = [r for r in records if r.month == month]
    names = borough_names or {}
    label = {o: OUTCOME_LABELS[o] for o in OUTCOMES}

    boroughs = sorted({names.get(b, b) for r in mine for b in r.boroughs})
    outcome_cols = [label[o] for o in OUTCOMES]
    by_borough = _table(
        Counter((names.get(b, b), label[r.outcome]) for r in mine for b in r.boroughs),
        boroughs,
        outcome_cols,
    )
    by_trigger = _table(
        Counter((r.trigger_type, label[r.outcome]) for r in mine), list(TRIGGERS), outcome_cols
    )
    authorised = [r for r in mine if r.authorised]
    row = "authorised deployments"
    durations = _table(
        Counter((row, _band(r.authorised_hours or 0.0)) for r in authorised),
        [row],
        [b[2] for b in DURATION_BANDS],
    )
    ext_cols = ["no extension", "one extension", "two or more"]
    ext = _table(Counter((row, ext_cols[min(r.extensions, 2)]) for r in authorised), [row],
                 ext_cols)
    decided = [r for r in mine if r.outcome == "refused" or r.authorised]
    rank_counts = Counter(
        (
            r.authorising_rank or "not recorded",
            "refused" if r.outcome == "refused" else "authorised",
        )
        for r in decided
    )
    ranks = sorted({k[0] for k in rank_counts}) or ["none"]
    by_rank = _table(rank_counts, ranks, ["authorised", "refused"])
    ended = [r for r in mine if r.outcome in ENDED]
    ended_row = "ended deployments"
    follow_up = _table(Counter((ended_row, r.follow_up or "awaiting debrief") for r in ended),
                       [ended_row], list(FOLLOW_UPS))

    # Linked suppression: the outcome totals appear in several tables (and the headline), so
    # they are suppressed once, here, and every table keeps the same totals hidden.
    by_outcome = _table(Counter(("all proposals", label[r.outcome]) for r in mine),
                        ["all proposals"], outcome_cols)
    forced: set[str] = set()
    while True:
        outcome = suppress(by_outcome, threshold=threshold,
                           locked_totals=dict.fromkeys(forced, True))
        last = outcome.status.shape[0] - 1
        hidden = {c: bool(outcome.status[last, j]) for j, c in enumerate(outcome.counts.columns)}
        auth_hidden = any(hidden[label[o]] for o in AUTHORISED) or 0 < len(authorised) < threshold
        refused_hidden = hidden[label["refused"]]
        ended_hidden = any(hidden[label[o]] for o in ENDED) or 0 < len(ended) < threshold
        tables = {
            "by_outcome": outcome,
            "by_trigger": suppress(by_trigger, threshold=threshold, locked_totals=hidden),
            # Its column totals count every proposal at least once (a proposal touching two
            # boroughs counts in each), so they are linked to the outcome totals as well.
            "by_borough": suppress(by_borough, threshold=threshold, locked_totals=hidden),
            "durations": suppress(durations, threshold=threshold,
                                  locked_totals={TOTAL: auth_hidden}),
            "extensions": suppress(ext, threshold=threshold, locked_totals={TOTAL: auth_hidden}),
            "by_rank": suppress(
                by_rank, threshold=threshold,
                locked_totals={"authorised": auth_hidden, "refused": refused_hidden,
                               TOTAL: auth_hidden or refused_hidden},
            ),
            "follow_up": suppress(follow_up, threshold=threshold,
                                  locked_totals={TOTAL: ended_hidden}),
        }
        # A linked total that a table can only protect by hiding it is hidden everywhere.
        stuck = _stuck_totals(tables["by_trigger"], set(hidden))
        stuck |= _stuck_totals(tables["by_borough"], set(hidden))
        if _stuck_totals(tables["by_rank"], {"refused", TOTAL}):
            stuck.add(label["refused"])
        if _stuck_totals(tables["by_rank"], {"authorised", TOTAL}) or any(
            _stuck_totals(tables[n], {TOTAL}) for n in ("durations", "extensions")
        ):
            stuck |= {label[o] for o in AUTHORISED if int(by_outcome[label[o]].iloc[0]) > 0}
        if _stuck_totals(tables["follow_up"], {TOTAL}):
            stuck |= {label[o] for o in ENDED if int(by_outcome[label[o]].iloc[0]) > 0}
        stuck -= forced
        if not stuck:
            break
        forced |= stuck
    # Solved together, tables can pin a count that each protects on its own (two "<3" by
    # trigger say the outcome total is at least 2, one "<3" and zeros by borough say at most
    # 2). Suppressing more cannot help (zeros are shown): the offending line of the dependent
    # table is withheld whole, zeros included, and the report says which.
    withheld: list[tuple[str, str]] = []
    names_in_order = list(tables)
    shown_auth = None if auth_hidden else len(authorised)
    while failures := _joint_failures(tables, shown_auth):
        choice = None
        for t, cell in failures:
            name = names_in_order[t]
            if name == "by_outcome":
                continue  # the outcome counts are the totals the others are linked to
            line, cells = _line_of(tables[name], cell)
            if any(tables[name].status[c] != WITHHELD for c in cells):
                choice = name, line, cells
                break
        if choice is None:
            # The pinned cells' own lines are withheld: the bound comes from elsewhere.
            # Withhold the first column with a bound that makes things better (or the first).
            options = _small_columns(tables)
            if not options:
                break  # nothing left to withhold; reported by linked_disclosures()
            choice = options[0]
            for name, line, cells in options:
                trial = dict(tables)
                trial[name] = tables[name].withhold(cells)
                if len(_joint_failures(trial, shown_auth)) < len(failures):
                    choice = name, line, cells
                    break
        name, line, cells = choice
        tables[name] = tables[name].withhold(cells)
        withheld.append((name, line))
    titles = {
        "by_outcome": "Proposals by outcome",
        "by_trigger": "Proposals by trigger and outcome",
        "by_borough": "Proposals by borough and outcome (a deployment touching two boroughs "
        "counts in each)",
        "durations": "Authorised duration, including extensions",
        "extensions": "Extensions granted",
        "by_rank": "Decisions by the rank of the deciding officer",
        "follow_up": "Debrief and independent review of ended deployments",
    }
    shown = outcome.display.iloc[0]
    hours = np.array([r.authorised_hours or 0.0 for r in authorised])
    n_auth = len(authorised)
    flags: dict[str, str] = {}

    def order_statistic(key: str, values: list[float], digits: int) -> float | str:
        if auth_hidden:
            flags[key] = "withheld: the number of authorised deployments is withheld"
            return "[c]"
        if n_auth < MIN_FOR_ORDER_STATISTIC:
            flags[key] = f"fewer than {MIN_FOR_ORDER_STATISTIC} authorised deployments"
            return NOT_PUBLISHED
        flags[key] = ""
        return round(float(np.median(values)), digits)

    enough_for_total = not auth_hidden and n_auth >= MIN_FOR_TOTAL
    headline: dict[str, Any] = {
        "proposals": shown[TOTAL],
        "authorised": "[c]" if auth_hidden else n_auth,
        **{o: shown[label[o]] for o in OUTCOMES},
        "authorised_hours_total": round(float(hours.sum()), 1) if enough_for_total else "[c]",
        "authorised_hours_median": order_statistic("authorised_hours_median",
                                                   [float(h) for h in hours], 1),
        "area_km2_median": order_statistic("area_km2_median",
                                           [r.area_km2 for r in authorised], 2),
    }
    headline = {k: (v if isinstance(v, str | float) else int(v)) for k, v in headline.items()}
    moved = sum(r.month != month_of(r.requested_start) for r in mine)
    notes = [
        "Counts of 1 or 2 are shown as '<3'. '[c]' marks a total of 1 or 2 (in a table with a "
        "single row every count is also a total), or a further count withheld so that a small "
        "one cannot be worked out. Every table, and all the tables with the headline together, "
        "are checked by solving them as a system of equations: no withheld count can be "
        "worked out, nor a '<3' narrowed down to 1 or to 2.",
        f"Medians are published only for {MIN_FOR_ORDER_STATISTIC} or more deployments: the "
        "median of a few deployments is one deployment's exact figure.",
        "Month of a proposal (Europe/London time): an authorised proposal is counted in the "
        "month of its authorised start, a refused one in the month of the refusal, an "
        "undecided one in the month of its requested start. "
        f"{moved} of this month's {len(mine)} proposals asked for another month. Outcomes as "
        f"at {generated_at.astimezone(UTC).isoformat(timespec='minutes')} UTC.",
        "No names, no individuals: ranks only; areas are published at borough level.",
    ]
    for name, line in withheld:
        notes.append(
            f"In '{titles[name]}', {line} is withheld entirely ('[c]' there may also stand "
            "for 0): with the other tables it would have given a small count away."
        )
    if key_pem is not None:
        notes.append(
            "The audit log's exports are signed; verify them with the Ed25519 public key "
            f"published with this report (fingerprint {public_key_fingerprint(key_pem)})."
        )
    return TransparencyReport(
        month=month,
        generated_at=generated_at,
        tables=tables,
        titles=titles,
        headline=headline,
        atrs=atrs or algorithm_record(organisation=org),
        borough_names=names,
        notes=notes,
        headline_flags=flags,
        audit_public_key_pem=key_pem,
        organisation=org.name if org.configured else "",
        public_marking=org.public_marking,
        warnings=[w for w in [organisation_warning(org)] if w],
    )


def _links(tables: dict[str, SuppressedTable], authorised: int | None) -> list[Link]:
    """How the report's tables relate (table numbers in the order of ``tables``): the same
    outcome totals in the outcome, trigger and rank tables; borough totals at least the
    outcome totals; durations, extensions and follow-up totals as sums of outcome totals;
    the headline's number of authorised deployments when it is shown."""
    names = list(tables)
    num = {n: k for k, n in enumerate(names)}

    def total(name: str, col: str) -> tuple[int, tuple[int, int], float]:
        t = tables[name]
        return num[name], (t.counts.shape[0] - 1, list(t.counts.columns).index(col)), 1.0

    def neg(term: tuple[int, tuple[int, int], float]) -> tuple[int, tuple[int, int], float]:
        return term[0], term[1], -term[2]

    o = {key: total("by_outcome", OUTCOME_LABELS[key]) for key in OUTCOMES}
    links: list[Link] = []
    for key in [*OUTCOMES, TOTAL]:
        col = TOTAL if key == TOTAL else OUTCOME_LABELS[key]
        out = total("by_outcome", col)
        links.append(([total("by_trigger", col), neg(out)], 0.0, 0.0))
        links.append(([total("by_borough", col), neg(out)], 0.0, math.inf))
    auth = [o[k] for k in AUTHORISED]
    for name, col in (("by_rank", "authorised"), ("durations", TOTAL), ("extensions", TOTAL)):
        links.append(([total(name, col), *map(neg, auth)], 0.0, 0.0))
    links.append(([total("by_rank", "refused"), neg(o["refused"])], 0.0, 0.0))
    links.append(([total("follow_up", TOTAL), *(neg(o[k]) for k in ENDED)], 0.0, 0.0))
    if authorised is not None:
        links.append((auth, float(authorised), float(authorised)))
    return links


def _small_columns(tables: dict[str, SuppressedTable]
                   ) -> list[tuple[str, str, list[tuple[int, int]]]]:
    """Columns (besides the outcome table's) with a "<3" or "[c]" that still announces a
    lower bound, as candidate lines to withhold: (table, line name, inner cells)."""
    out = []
    for name, table in tables.items():
        if name == "by_outcome":
            continue
        rows, cols = table.counts.shape
        for j in range(cols - 1):
            line, cells = _line_of(table, (0, j))
            if line.startswith("column") and any(table.status[c] in (1, 2) for c in cells):
                out.append((name, line, cells))
    return out


def _line_of(table: SuppressedTable, cell: tuple[int, int]
             ) -> tuple[str, list[tuple[int, int]]]:
    """The inner cells of ``cell``'s column, or if those are withheld already (or ``cell`` is
    a row total) its row, or else the whole breakdown, and how to name that line."""
    rows, cols = table.counts.shape
    # with a single inner row (column) the total row (column) repeats it: withheld alike
    last_r = rows if rows == 2 else rows - 1
    last_c = cols if cols == 2 else cols - 1
    i, j = cell
    lines = []
    if j < cols - 1:
        lines.append((f"column '{table.counts.columns[j]}'", [(r, j) for r in range(last_r)]))
    if i < rows - 1:
        lines.append((f"row '{table.counts.index[i]}'", [(i, c) for c in range(last_c)]))
    lines.append(("the breakdown", [(r, c) for r in range(last_r) for c in range(last_c)]))
    for line in lines:  # the first that still shows something
        if any(table.status[c] != WITHHELD for c in line[1]):
            return line
    return lines[-1]


def _joint_failures(tables: dict[str, SuppressedTable], authorised: int | None
                    ) -> list[tuple[int, tuple[int, int]]]:
    return joint_unprotected(
        [(t.counts.to_numpy().astype(np.int64), t.status, t.threshold) for t in tables.values()],
        _links(tables, authorised),
    )


def linked_disclosures(report: TransparencyReport) -> list[tuple[str, str, str]]:
    """Hidden counts an attacker could solve by combining the report's tables (and the
    headline): ``(table, row, column)`` for each; empty for a safe report."""
    authorised = report.headline["authorised"]
    names = list(report.tables)
    out = []
    for t, (i, j) in _joint_failures(report.tables,
                                     authorised if isinstance(authorised, int) else None):
        counts = report.tables[names[t]].counts
        out.append((names[t], str(counts.index[i]), str(counts.columns[j])))
    return out


def _stuck_totals(table: SuppressedTable, columns: set[str]) -> set[str]:
    """Locked column totals (among ``columns``) to hide because the table still discloses a
    hidden count with them shown: those of the disclosed cells' columns, or, if none of those
    is a shown locked total, the smallest shown non-zero locked total of ``columns``."""
    disclosed = disclosed_cells(table)
    if not disclosed:
        return set()
    totals = table.counts.to_numpy()[-1]
    status = table.status[-1]
    names = [str(c) for c in table.counts.columns]
    shown = {
        col: int(totals[j]) for j, col in enumerate(names)
        if col in columns and int(status[j]) == 0 and int(totals[j]) > 0
    }
    near = {names[j] for _, j in disclosed} & set(shown)
    if near or not shown:
        return near
    return {min(shown, key=lambda c: (shown[c], c))}  # the least informative first


def _table(counts: Counter[tuple[str, str]], rows: list[str], cols: list[str]) -> pd.DataFrame:
    return pd.DataFrame(
        [[counts.get((r, c), 0) for c in cols] for r in rows], index=rows, columns=cols
    )


# --------------------------------------------------------------------------------- writers
#: headline figures that are measures (hours, km2), not counts
HEADLINE_MEASURES = ("authorised_hours_total", "authorised_hours_median", "area_km2_median")
CSV_COLUMNS = ("month_start", "period", "table", "row", "column", "count", "count_flag",
               "value", "value_flag", "text")


def write_csv(report: TransparencyReport, path: Path) -> Path:
    """Long-format CSV, one figure a row (columns :data:`CSV_COLUMNS`); text cells
    formula-escaped.

    ``count`` is an integer, empty where withheld, with ``count_flag`` saying why
    (``suppressed (<3)``, ``[c]``); headline measures (hours, km2) are in ``value`` /
    ``value_flag`` alike. Table ``about`` rows carry text: the organisation, the public
    marking, the licence, the audit public key's fingerprint (the key itself is in the JSON,
    the HTML and the ``.pem`` file, :func:`write_public_key`).
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    when = (report.month_start, report.period)
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_COLUMNS)
        for name, value in report.headline.items():
            if name in HEADLINE_MEASURES:
                number = float(value) if isinstance(value, int | float) else None
                flag = report.headline_flags.get(name, "") or (
                    "" if number is not None else str(value))
                writer.writerow(_escaped([*when, "headline", name, "", None, "", number, flag,
                                          ""]))
            else:
                count, cflag = count_flag(value)
                writer.writerow(_escaped([*when, "headline", name, "", count, cflag, None, "",
                                          ""]))
        for name, table in report.tables.items():
            shown_table = table.display
            for row in shown_table.index:
                for col in shown_table.columns:
                    count, cflag = count_flag(shown_table.loc[row, col])
                    writer.writerow(_escaped([*when, name, row, col, count, cflag, None, "",
                                              ""]))
        about = {
            "organisation": report.organisation or "(not configured)",
            "public_marking": report.public_marking,
            "licence": OGL_ATTRIBUTION,
            **{f"warning_{k + 1}": w for k, w in enumerate(report.warnings)},
        }
        if report.audit_public_key_fingerprint is not None:
            about["audit_public_key_ed25519_fingerprint"] = report.audit_public_key_fingerprint
        for key, text in about.items():
            writer.writerow(_escaped([*when, "about", key, "", None, "", None, "", text]))
    return path


def write_json(report: TransparencyReport, path: Path) -> Path:
    """The report as JSON (:meth:`TransparencyReport.as_dict`), public key included."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(report.as_dict(), indent=1, ensure_ascii=False),
                    encoding="utf-8")
    return path


def write_public_key(report: TransparencyReport, path: Path) -> Path | None:
    """The audit log's public key as a ``.pem`` file beside the report (``None``: no key)."""
    if report.audit_public_key_pem is None:
        return None
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(report.audit_public_key_pem, encoding="ascii")
    return path


def _short(outcome: str) -> str:
    return OUTCOME_LABELS[outcome].removeprefix("authorised, ")


def summary_lines(report: TransparencyReport) -> list[str]:
    """The report for a terminal, as plain lines: warnings first, then the headline, each
    table with its withheld cells counted, and the notes that matter for reading it."""
    h = report.headline
    lines = [f"{w}" if w.startswith("WARNING") else f"WARNING: {w}" for w in report.warnings]
    who = report.organisation or "organisation not configured"
    lines += [
        f"Transparency report for {report.period}, {who} ({report.public_marking})",
        f"generated {report.generated_at.astimezone(UTC):%Y-%m-%d %H:%M} UTC; counts of 1 or 2 "
        "show as <3, [c] marks a count withheld so a small one cannot be worked out",
        "",
        f"proposals {h['proposals']}: authorised {h['authorised']} "
        f"({', '.join(f'{_short(o)} {h[o]}' for o in AUTHORISED)}), "
        f"refused {h['refused']}, not decided {h['pending']}",
    ]
    for key, label, unit in (("authorised_hours_total", "authorised hours, total", " h"),
                             ("authorised_hours_median", "authorised hours, median", " h"),
                             ("area_km2_median", "area, median", " km2")):
        value = h.get(key)
        flag = report.headline_flags.get(key, "")
        shown = f"{value:g}{unit}" if isinstance(value, float) else str(value)
        lines.append(f"{label}: {shown}" + (f" ({flag})" if flag and flag not in shown else ""))
    for name, table in report.tables.items():
        shown_table = table.display
        hidden = int((table.status != 0).sum())
        lines += ["", report.titles[name] + (f" ({hidden} cells withheld)" if hidden else "")]
        width = max(len(str(r)) for r in shown_table.index)
        cols = [str(c) for c in shown_table.columns]
        lines.append(" " * width + "  " + " | ".join(cols))
        for row in shown_table.index:
            cells = " | ".join(f"{shown_table.loc[row, c]!s:>{len(str(c))}}"
                               for c in shown_table.columns)
            lines.append(f"{row!s:<{width}}  {cells}")
    lines += ["", OGL_ATTRIBUTION]
    return lines


def _escaped(cells: list[Any]) -> list[Any]:
    return [escape_csv_cell(c) if isinstance(c, str) else c for c in cells]


def _document(report: TransparencyReport) -> str:
    """The report as HTML from ``io/templates/transparency.html`` (autoescaped, A4 in print,
    the public marking on every page; nothing external loaded)."""
    from patrolcast.io.documents import render

    headline = []
    for k, v in report.headline.items():
        flag = report.headline_flags.get(k, "")
        shown = f"{v} ({flag})" if flag and isinstance(v, str) and flag not in v else str(v)
        headline.append((k.replace("_", " "), shown))
    tables = []
    for name, table in report.tables.items():
        shown_table = table.display
        tables.append({
            "title": report.titles[name],
            "columns": [str(c) for c in shown_table.columns],
            "rows": [{"name": str(row), "cells": [str(shown_table.loc[row, c])
                                                  for c in shown_table.columns]}
                     for row in shown_table.index],
        })
    return render(
        "transparency.html",
        marking=report.public_marking,
        title=f"Targeted patrols: transparency report, {report.period}",
        subtitle=report.organisation or "",
        footer=OGL_ATTRIBUTION,
        organisation=report.organisation,
        month_start=report.month_start,
        generated=report.generated_at.astimezone(UTC).isoformat(timespec="minutes"),
        warnings=report.warnings,
        headline=headline,
        tables=tables,
        notes=report.notes,
        public_key=report.audit_public_key_pem,
        fingerprint=report.audit_public_key_fingerprint or "",
        atrs=[(section, list(fields.items())) for section, fields in report.atrs.items()],
        licence_url=OGL_URL,
    )


def write_html(report: TransparencyReport, path: Path) -> Path:
    """A self-contained HTML page (no scripts, no external assets); all text escaped."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(_document(report), encoding="utf-8")
    return path


def write_pdf(report: TransparencyReport, path: Path) -> Path:
    """The same document printed to PDF (WeasyPrint; A4, the public marking on every page)."""
    from patrolcast.io.documents import write_pdf as print_pdf

    return print_pdf(_document(report), Path(path))


def write_geojson(
    report: TransparencyReport, path: Path, boroughs: Any | None = None, *, tolerance_m: float = 25
) -> Path:
    """Borough features with the month's suppressed counts (RFC 7946: WGS84 lon/lat).

    ``boroughs`` is an :class:`~patrolcast.geo.support.AreaSupport` in a metric CRS (ids are
    codes); without it the features carry no geometry. Properties: ``code, name,
    month_start, period``, then for each outcome (``pending, refused, active, cancelled,
    expired, total``) the count as an integer (null where withheld) and ``<outcome>_flag``.
    Outlines simplified with ``tolerance_m`` metres (shared edges kept), coordinates to 6
    decimals. The collection's ``licence``, ``attribution`` and ``metadata`` members carry the
    licence, the boundaries' attribution, the organisation and the public marking.
    """
    import geopandas as gpd
    import pandas as pd
    import pyogrio
    import shapely

    shown = report.tables["by_borough"].display
    if boroughs is not None:
        geoms = np.asarray(boroughs.geometries, dtype=object)
        try:
            simple = shapely.coverage_simplify(geoms, tolerance_m)
        except shapely.errors.GEOSException:
            simple = shapely.simplify(geoms, tolerance_m, preserve_topology=True)
        units = list(zip(boroughs.ids, boroughs.names, simple, strict=True))
        crs = boroughs.crs
    else:
        units = [(code, name, None) for code, name in report.borough_names.items()]
        crs = "EPSG:4326"
    rows = []
    for code, name, _ in units:
        label = report.borough_names.get(code, name)
        row = label if label in shown.index else code if code in shown.index else None
        props: dict[str, Any] = {"code": code, "name": name, "month_start": report.month_start,
                                 "period": report.period}
        for col in shown.columns:
            key = OUTCOME_KEYS.get(str(col), _snake(str(col)))
            count, flag = count_flag(shown.loc[row, col]) if row is not None else (0, "")
            props[key], props[f"{key}_flag"] = count, flag
        rows.append(props)
    frame = pd.DataFrame(rows)
    for col in frame.columns:
        if col in OUTCOME_KEYS.values():
            frame[col] = frame[col].astype("Int32")  # integers with nulls: GDAL Integer
    layer = gpd.GeoDataFrame(frame, geometry=[g for *_, g in units], crs=crs).to_crs("EPSG:4326")
    about = {
        "licence": OGL_ATTRIBUTION,
        "attribution": BOUNDARY_ATTRIBUTION if boroughs is not None else "",
        "metadata": {
            "organisation": report.organisation or "(not configured)",
            "public_marking": report.public_marking,
            "month_start": report.month_start,
            "period": report.period,
            "generated_at": report.generated_at.isoformat(),
            "flags": "suppressed (<3): a count of 1 or 2; [c]: withheld so that a small count "
            "cannot be worked out",
            "warnings": report.warnings,
        },
    }
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists():
        path.unlink()
    pyogrio.write_dataframe(
        layer, path, driver="GeoJSON", layer=f"transparency_{report.month.replace('-', '_')}",
        layer_options={
            "RFC7946": "YES", "COORDINATE_PRECISION": "6",
            "DESCRIPTION": f"Targeted patrols by borough and outcome, {report.period}. "
            f"{OGL_ATTRIBUTION}",
            "FOREIGN_MEMBERS_COLLECTION": json.dumps(about, ensure_ascii=False),
        },
    )
    return path


def _snake(label: str) -> str:
    """``"authorised, cancelled early"`` -> ``authorised_cancelled_early``."""
    out = "".join(c if c.isalnum() else "_" for c in label.lower())
    return "_".join(p for p in out.split("_") if p) or "column"
