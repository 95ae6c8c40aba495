"""Free-text check against obvious personal-data patterns.

Intelligence items in patrolcast are claims about *places and times*. Their free text (a
summary, a rationale) must not carry people: the Gangs Violence Matrix lesson (ICO 2018) is that
person-level data creeps in through free-text fields. :func:`check_text` finds the obvious
patterns and :func:`refuse_personal_data` refuses the text with one clear line naming each
kind of finding, with the matched text masked so the refusal itself leaks nothing into logs.

What is caught (each a documented regular expression, see ``_RULES``):

- a name after a title or a police rank (``Mr Smith``, ``Dr. Patel``, ``PC Jones``);
- a name introduced as such (``known as``, ``aka``, ``alias``, ``nicknamed``, ``named``);
- dates of birth (``DOB``, ``date of birth``, ``born ...``) and full dates before 2010, which
  in an intelligence item are almost always someone's birth date, not a patrol window;
- ages (``aged 17``, ``17 years old``, ``17yo``);
- telephone numbers: UK mobiles and landlines (``07700 900123``, ``020 7946 0958``,
  ``+44 (0)20 7946 0958``) and other international numbers written with ``+``;
- UK vehicle registrations: current (``AB12 CDE``), prefix (``A123 BCD``) and suffix
  (``ABC 123D``) formats, and anything after ``reg``/``VRM``;
- e-mail addresses, social-media handles (``@name``), National Insurance numbers;
- a house number with a street or a full postcode (an address pins a dwelling: the item's
  place belongs in its structured geometry, a point and radius or cells).

Limits, stated honestly: this is pattern matching, not understanding. It will miss a bare
surname (``Smith was seen``), names in lower case, foreign formats it does not know, and
descriptions that identify someone without naming them ("the tall lad from the chicken shop").
It errs towards refusal: ``Mr Whippy van`` would look like a name after a title, so a short,
editable allow-list of trade names that merely start with a title (``ALLOWED_TITLE_PHRASES``)
is exempted; anything else the user can rephrase. A human reviewer remains responsible for
what is written; the check removes the easy mistakes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass

from patrolcast.errors import InputError

__all__ = [
    "ALLOWED_TITLE_PHRASES",
    "Finding",
    "PersonalDataRefused",
    "check_text",
    "refuse_personal_data",
]

_TITLES = (
    r"Mr|Mrs|Ms|Miss|Mx|Master|Dr|Prof|Professor|Sir|Dame|Lord|Lady|Rev|Revd|Reverend|Fr|Father"
    r"|PC|PCSO|DC|Sgt|Sergeant|DS|Insp|Inspector|DI|DCI|Supt|Superintendent|Ch\s?Supt|Cllr"
    r"|Councillor"
)

# Trade and place names that begin with a title but name nobody. Editable; kept short on purpose.
ALLOWED_TITLE_PHRASES: frozenset[str] = frozenset(
    {
        "mr whippy",
        "mr softee",
        "mr kipling",
        "mr muscle",
        "dr martens",
        "dr pepper",
        "pc world",
        "lord mayor",
        "lady chapel",
    }
)

_CURRENT_YEAR_FLOOR = 2010  # full dates before this are treated as dates of birth


@dataclass(frozen=True)
class Finding:
    """One suspected piece of personal data in a text.

    Attributes
    ----------
    kind : what it looks like (``"name after a title"``, ``"phone number"``...).
    start, end : character span in the checked text.
    masked : the matched text with all but its first character replaced by ``*``.
    """

    kind: str
    start: int
    end: int
    masked: str


class PersonalDataRefused(InputError):
    """Free text refused because it looks like it holds personal data."""

    def __init__(self, field: str, findings: list[Finding]) -> None:
        self.field = field
        self.findings = findings
        kinds = "; ".join(f"{f.kind} ({f.masked!s})" for f in findings)
        super().__init__(
            f"refused: {field} looks like it contains personal data: {kinds}. "
            "Intelligence items describe places and times only; remove it and retry"
        )


def _mask(text: str) -> str:
    return text[:1] + re.sub(r"\S", "*", text[1:])


_NAME = r"[A-Z][a-z'\u2019-]+(?:-[A-Z][a-z]+)?"

# The same in capitals ("INFORMATION THAT MR SMITH ..."), as police text is often written.
_CAPS_TITLES = (
    r"MR|MRS|MS|MISS|MX|DR|PROF|SIR|DAME|LORD|LADY|REV|REVD|FR|PC|PCSO|DC|SGT|DS|INSP|DI|DCI"
    r"|SUPT|CLLR"
)
_CAPS_TITLE = re.compile(rf"\b(?:{_CAPS_TITLES})\.?\s+(?:[A-Z]\.?\s+)?[A-Z][A-Z'\u2019-]+\b")

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "name after a title",
        re.compile(rf"\b(?:{_TITLES})\.?\s+(?:[A-Z]\.?\s+)?{_NAME}"),
    ),
    ("name after a title", _CAPS_TITLE),
    (
        "name after a title",  # a title followed by an initial only: "Mr J." / "Dr A B"
        re.compile(rf"\b(?:{_TITLES})\.?\s+[A-Z](?:\.|\b)(?!\s*[a-z])"),
    ),
    (
        "name introduced as such",
        re.compile(
            r"\b(?i:known as|aka|a\.k\.a\.?|alias|nicknamed|named|goes by)\s+"
            r"['\"\u2018\u201c]?[A-Z0-9]",
        ),
    ),
    (
        "date of birth",
        re.compile(r"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|born (?:on|in)|birthday)\b", re.I),
    ),
    (
        "date of birth",  # a full numeric date with a year before 2010 (19xx or 200x)
        re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19\d\d|200\d)\b"),
    ),
    (
        "date of birth",  # a written full date with a year before 2010
        re.compile(
            r"\b\d{1,2}(?:st|nd|rd|th)?\s+(?:Jan|Feb|Mar|Apr|May|Jun|Jul|Aug|Sep|Sept|Oct|Nov|"
            r"Dec)[a-z]*\.?,?\s+(?:19\d\d|200\d)\b",
            re.IGNORECASE,
        ),
    ),
    (
        "age of a person",
        re.compile(
            r"\b(?:aged\s+\d{1,2}\b|\d{1,2}\s*(?:-\s*)?(?:yrs?|years?)[\s-]+old\b|\d{1,2}\s?yo\b)",
            re.IGNORECASE,
        ),
    ),
    (
        "phone number",  # UK: +44 (0)20 7946 0958, 020 7946 0958, 07700 900123, 07700-900-123
        re.compile(r"(?<![\w+])(?:\+44\s?(?:\(0\)\s?)?|\(?0)\d{2,4}\)?(?:[\s-]?\d){6,8}\b"),
    ),
    (
        "phone number",  # other international numbers written with a plus sign
        re.compile(r"(?<!\w)\+\d{1,3}(?:[\s-]?\d){7,12}\b"),
    ),
    (
        "vehicle registration",  # current format since 2001: AB12 CDE
        re.compile(r"\b[A-Z]{2}\d{2}\s?[A-Z]{3}\b", re.IGNORECASE),
    ),
    (
        "vehicle registration",  # prefix format 1983-2001: A123 BCD
        re.compile(r"\b[A-Z]\d{1,3}\s?[A-Z]{3}\b"),
    ),
    (
        "vehicle registration",  # suffix format 1963-1983: ABC 123D
        re.compile(r"\b[A-Z]{3}\s?\d{1,3}[A-Z]\b"),
    ),
    (
        "vehicle registration",
        re.compile(r"\b(?:VRM|reg(?:istration)?(?:\s?(?:no|number|plate))?)\.?:?\s+[A-Z0-9]{2,}",
                   re.IGNORECASE),
    ),
    ("e-mail address", re.compile(r"\b[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    ("social media handle", re.compile(r"(?<![\w@.])@[A-Za-z0-9_]{2,}\b")),
    (
        "National Insurance number",  # broader than HMRC's prefix rules, so QQ examples match
        re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b",
                   re.IGNORECASE),
    ),
    (
        "address (house number and street)",
        re.compile(
            r"\b(?:flat\s+\d+[A-Za-z]?,?\s+)?\d{1,4}[A-Za-z]?,?\s+(?:[A-Z][a-z'\u2019]+\s+){1,3}"
            r"(?:Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Gardens|Gdns|Way|Drive|Court|Ct|"
            r"Crescent|Cres|Place|Pl|Terrace|Grove|Square|Sq|Mews|Walk|Row|Hill|Rise|Park)\b"
        ),
    ),
    (
        "address (house number and street)",
        re.compile(r"\bflat\s+\d+[A-Za-z]?\b", re.IGNORECASE),
    ),
    (
        "full postcode",  # a unit postcode narrows a place to a handful of addresses
        re.compile(r"\b[A-Z]{1,2}\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b"),
    ),
)


_STREET_WORDS = (
    r"Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Gardens|Gdns|Way|Drive|Court|Ct|Crescent|Place"
    r"|Terrace|Grove|Square|Sq|Mews|Walk|Row|Hill|Rise|Park|Estate|House|School|Academy"
    r"|College|Hospital|Centre|Center|Library|Bridge|Station"
)
_PLACE_AFTER = re.compile(rf"^(?:\s+[A-Z][a-z'\u2019]+){{0,2}}\s+(?:{_STREET_WORDS})\b")
_CAPS_PLACE_AFTER = re.compile(rf"^(?:\s+[A-Z][A-Z'\u2019]+){{0,2}}\s+(?i:{_STREET_WORDS})\b")


def _allowed(text: str, start: int, end: int, extra: set[str], *, caps: bool = False) -> bool:
    """A title phrase that names nobody: an allow-listed trade name, or a place named after a
    person (``Lady Margaret Road``, ``Sir John Cass School``)."""
    tail = re.sub(r"[.\s]+", " ", text[start : start + 40].lower())
    if any(tail.startswith(p) for p in ALLOWED_TITLE_PHRASES | extra):
        return True
    return (_CAPS_PLACE_AFTER if caps else _PLACE_AFTER).match(text[end:]) is not None


def _normalise(text: str) -> str:
    """NFKC (full-width and compatibility forms to plain ones), invisible format characters
    (zero-width spaces and joiners, soft hyphens, bidi marks) removed: they would otherwise
    split a name or a number so that no pattern matches."""
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if unicodedata.category(c) != "Cf")


def check_text(text: str, *, allowed: Iterable[str] | None = None) -> list[Finding]:
    """Find obvious personal-data patterns in ``text``.

    Parameters
    ----------
    text : the free text to check.
    allowed : extra lower-case phrases beginning with a title that name nobody (added to
        :data:`ALLOWED_TITLE_PHRASES`).

    Returns
    -------
    list of Finding, in order of position, overlapping matches merged (first kind wins); spans
    are in the normalised text (NFKC, invisible format characters removed).

    Examples
    --------
    >>> [f.kind for f in check_text("Mr Smith seen near the station")]
    ['name after a title']
    >>> check_text("Fights expected outside the Mr Whippy van on the High St after 22:00")
    []
    """
    extra = {a.lower() for a in allowed or ()}
    text = _normalise(text)
    found: list[Finding] = []
    for kind, pattern in _RULES:
        caps = pattern is _CAPS_TITLE
        for m in pattern.finditer(text):
            if kind == "name after a title" and _allowed(
                text, m.start(), m.end(), extra, caps=caps
            ):
                continue
            found.append(Finding(kind, m.start(), m.end(), _mask(m.group(0))))
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in found:
        if merged and f.start < merged[-1].end:
            continue
        merged.append(f)
    return merged


def refuse_personal_data(text: str, *, field: str = "text") -> str:
    """Return ``text`` unchanged, or raise :class:`PersonalDataRefused` naming what was found."""
    findings = check_text(text)
    if findings:
        raise PersonalDataRefused(field, findings)
    return text
