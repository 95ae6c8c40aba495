"""Free-text check against obvious personal-data patterns (any layer may call it).

Claims in patrolcast are about *places and times*. Free text (an intelligence summary, a
deployment's place description and rationale, reasons, public notices, consultation notes,
debriefs, reviews) must not carry people: the Gangs Violence Matrix lesson (ICO 2018) is that
person-level data creeps in through free-text fields. :func:`check_text` finds the obvious
patterns and :func:`refuse_personal_data` refuses the text with one clear line naming each kind
of finding, with the matched text masked so that the refusal itself leaks nothing into logs.

This module imports only :mod:`patrolcast.errors` and the standard library, so governance,
oversight and the use cases can all call it.

**Normalisation first.** The text is put in NFKC form (full-width and compatibility letters to
plain ones, no-break spaces to spaces), then every invisible character is removed (format
characters such as zero-width spaces and joiners, soft hyphens and bidi marks, and the other
default-ignorable code points such as U+034F COMBINING GRAPHEME JOINER and variation
selectors), then Cyrillic and Greek letters that look like Latin ones are read as those Latin
letters (``Ѕmith`` with a Cyrillic Ѕ is ``Smith``), dashes as ``-`` and curly apostrophes as
``'``. That last step maps one character to one, so spans stay those of the NFKC text.

What is caught (each a documented regular expression, see ``_RULES``):

- a name after a title or a police rank (``Mr Smith``, ``Dr. Patel``, ``PS Jones``,
  ``Det Sgt Cole``, ``Mr Öztürk``, ``Mr de Souza``, ``Ms el-Amin``, ``MR SMITH``): names are
  letters of any script with a capital first letter, after optional initials and surname
  particles (de, da, van, von, del, della, di, le, la, al, el, bin...);
- a name introduced as such (``known as``, ``aka``, ``alias``, ``nicknamed``, ``goes by``,
  ``street name``, ``a boy called``);
- dates of birth (``DOB``, ``date of birth``, ``born ...``) and full dates before 2010 (also
  ISO ``2004-03-12``), which in a patrol record are almost always someone's birth date;
- ages (``aged 17``, ``age 19``, ``17 years old``, ``17yo``, ``16 y.o.``, ``a boy of 14``,
  ``victim, 15,``), but not age ranges (``aged 15 to 24``) nor the age of things
  (``50-year-old tower blocks``);
- telephone numbers: UK numbers with spaces, dashes or dots (``07700.900.123``) and ``+44`` or
  ``0044``, other ``+`` numbers and North American numbers (``(312) 555-0123``); freephone
  ``0800``/``0808`` and ``03`` numbers (Crimestoppers, force lines) are public, not personal;
- vehicle registrations: UK current (``AB12 CDE``, ``AB 12 CDE``), prefix (``A123 BCD``) and
  suffix (``ABC 123D``) formats, and anything after ``reg``, ``VRM`` or ``plate``;
- e-mail addresses (also ``name dot x at gmail dot com``), social-media handles (``@name``,
  ``Snap: name``, ``Instagram handle name``), National Insurance numbers;
- an address: a house number with a street (``14 Acacia Avenue``, ``12 ACRE LANE``,
  ``4521 N Kedzie Ave``), ``Flat 3`` / ``Apt 4B``, or a full postcode in any case.

A title phrase that names a *place* is not a name: one preceded by ``the`` (``the Lord
Nelson``, ``the Duke of York``) or followed, within a few capitalised words, by a place word
(``Lord Napier pub``, ``Sir John Cass School``, ``Dr. Martin Luther King Jr. Drive``, ``Lady
Owen Arms``), and a few trade names on an editable allow-list (``ALLOWED_TITLE_PHRASES``).
A registration-like token whose letters are a common word (``BUS 12A stop``, ``N29 BUS``) is
not a registration.

Limits, stated honestly: this is pattern matching, not understanding. It misses bare names
(``Smith was seen``, ``Jordan Clarke``), descriptions that identify someone without naming them
("the tall lad from the chicken shop"), numbers spelled out in words and many foreign formats.
It also refuses contact details of public bodies (a switchboard number, a team mailbox, a police
station's street address) and officers' names: write the building or the role instead.
A reviewer remains responsible for what is written; the check removes the easy mistakes.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from patrolcast.errors import InputError

__all__ = [
    "ALLOWED_TITLE_PHRASES",
    "Finding",
    "PersonalDataRefused",
    "check_text",
    "normalise",
    "refuse_personal_data",
]

# Trade and other phrases that begin with a title but name nobody. Editable; kept short on
# purpose: places named after people are recognised by the place word that follows them.
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
        "ms teams",
        "ms office",
        "ms word",
        "ms excel",
        "father christmas",
        "master plan",
    }
)


@dataclass(frozen=True)
class Finding:
    """One suspected piece of personal data in a text.

    Attributes
    ----------
    kind : what it looks like (``"name after a title"``, ``"phone number"``...).
    start, end : character span in the normalised text (:func:`normalise`).
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
            "Records describe places and times only; remove it and retry"
        )


# ------------------------------------------------------------------------------ normalisation

# Default-ignorable code points (Unicode DerivedCoreProperties) that are not format (Cf)
# characters: invisible, so they can split a word without showing.
_IGNORABLE_RANGES: tuple[tuple[int, int], ...] = (
    (0x034F, 0x034F),  # combining grapheme joiner
    (0x115F, 0x1160),  # Hangul fillers
    (0x17B4, 0x17B5),  # Khmer inherent vowels
    (0x180B, 0x180F),  # Mongolian free variation selectors
    (0x3164, 0x3164),  # Hangul filler
    (0xFE00, 0xFE0F),  # variation selectors
    (0xFFA0, 0xFFA0),  # halfwidth Hangul filler
    (0xFFF0, 0xFFF8),  # unassigned specials
    (0x1BCA0, 0x1BCA3),  # shorthand format controls
    (0x1D173, 0x1D17A),  # musical formatting
    (0xE0000, 0xE0FFF),  # tags and variation selectors supplement
)


def _invisible(char: str) -> bool:
    if unicodedata.category(char) == "Cf":
        return True
    code = ord(char)
    return any(lo <= code <= hi for lo, hi in _IGNORABLE_RANGES)


# Cyrillic and Greek letters drawn like Latin ones, dashes and apostrophes: one to one, so the
# spans of the folded text are those of the normalised text.
_CONFUSABLES = str.maketrans(
    {
        # Cyrillic capitals and small letters
        "А": "A", "В": "B", "Е": "E", "Ѕ": "S", "І": "I", "Ј": "J", "К": "K", "М": "M",
        "Н": "H", "О": "O", "Р": "P", "С": "C", "Т": "T", "Х": "X", "У": "Y", "Ү": "Y",
        "Ԛ": "Q", "Ԝ": "W", "Ӏ": "I",
        "а": "a", "е": "e", "о": "o", "р": "p", "с": "c", "у": "y", "х": "x", "ѕ": "s",
        "і": "i", "ј": "j", "ԁ": "d", "ԛ": "q", "ԝ": "w", "һ": "h", "ү": "y",
        # Greek capitals and small letters
        "Α": "A", "Β": "B", "Ε": "E", "Ζ": "Z", "Η": "H", "Ι": "I", "Κ": "K", "Μ": "M",
        "Ν": "N", "Ο": "O", "Ρ": "P", "Τ": "T", "Υ": "Y", "Χ": "X",
        "ο": "o", "ν": "v", "α": "a", "ι": "i", "κ": "k", "ρ": "p",
        # Latin small capitals, drawn like capitals
        "ᴀ": "A", "ʙ": "B", "ᴄ": "C", "ᴅ": "D", "ᴇ": "E", "ɢ": "G", "ʜ": "H", "ɪ": "I",
        "ᴊ": "J", "ᴋ": "K", "ʟ": "L", "ᴍ": "M", "ɴ": "N", "ᴏ": "O", "ᴘ": "P", "ʀ": "R",
        "ꜱ": "S", "ᴛ": "T", "ᴜ": "U", "ᴠ": "V", "ᴡ": "W", "ʏ": "Y", "ᴢ": "Z",
        # dashes and minus signs, curly and modifier apostrophes, primes
        "\u2010": "-", "\u2011": "-", "\u2012": "-", "\u2013": "-", "\u2014": "-",
        "\u2015": "-", "\u2212": "-", "\u2018": "'", "\u2019": "'", "\u02bc": "'",
        "\u2032": "'", "\u00b4": "'", "`": "'",
    }
)


def normalise(text: str) -> str:
    """The text the patterns see: NFKC, invisible characters removed (spans refer to this).

    Full-width and compatibility forms become plain ones and no-break spaces plain spaces;
    format characters (zero-width spaces and joiners, soft hyphens, bidi marks) and the other
    default-ignorable code points (U+034F, variation selectors...) are removed, since they would
    otherwise split a name or a number so that no pattern matches.
    """
    text = unicodedata.normalize("NFKC", text)
    return "".join(c for c in text if not _invisible(c))


def _fold(text: str) -> str:
    """Look-alike letters to Latin ones, dashes to ``-``, apostrophes to ``'`` (same length)."""
    return text.translate(_CONFUSABLES)


# ------------------------------------------------------------------------------ names


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


def _class_of(test: Callable[[str], bool]) -> str:
    """A regex character class of the BMP characters for which ``test`` holds."""
    ranges: list[str] = []
    start = prev = -2
    for code in range(0x10000):
        if test(chr(code)):
            if code == prev + 1:
                prev = code
                continue
            if start >= 0:
                ranges.append(_range(start, prev))
            start = prev = code
    if start >= 0:
        ranges.append(_range(start, prev))
    return "[" + "".join(ranges) + "]"


def _range(lo: int, hi: int) -> str:
    return re.escape(chr(lo)) if lo == hi else f"{re.escape(chr(lo))}-{re.escape(chr(hi))}"


# A capital letter of any script (upper or title case), and a letter of any script.
_UPPER = _class_of(lambda c: c.isupper() or unicodedata.category(c) == "Lt")
_LETTER = r"[^\W\d_]"

# Honorifics and police ranks, as written in running text and in capitals.
_HONORIFICS = (
    "Mr", "Mrs", "Ms", "Miss", "Mx", "Master", "Dr", "Prof", "Professor", "Sir", "Dame",
    "Lord", "Lady", "Rev", "Revd", "Reverend", "Fr", "Father", "Cllr", "Councillor", "Sr",
    "Sra", "Srta", "Herr", "Frau", "Mme", "Mlle", "Imam", "Pastor", "Rabbi", "Sheikh",
)
_RANKS = (
    "PC", "PCSO", "TDC", "DC", "DS", "PS", "TDS", "Sgt", "Sergeant", "DSgt", "Det", "Detective",
    "Insp", "Inspector", "DI", "CI", "DCI", "Ch", "Supt", "Superintendent", "DSupt", "DCS",
    "Cmdr", "Commander", "Constable", "Officer", "Lt", "Lieutenant", "Capt", "Captain",
)
_TITLE_SET = frozenset(form for t in _HONORIFICS + _RANKS for form in (t, t.upper()))
_TITLE_FORMS = sorted(_TITLE_SET, key=len, reverse=True)
_TITLE = r"(?:" + "|".join(_TITLE_FORMS) + r")"
# One or more titles ("Det Sgt", "Ch Supt", "Rev Dr"), each ending in "." or a space, then
# perhaps a collar number ("PC 4512 Hughes"); "M r" is an evasion of "Mr".
_TITLES = (
    rf"\b(?:{_TITLE}|M\s(?:rs|r|s)\b)(?:\.\s*|\s+)(?:{_TITLE}(?:\.\s*|\s+)){{0,2}}"
    r"(?:\d{1,6}\s+)?"
)

# Surname particles (lower or capital case), before the capitalised part of a surname.
_PARTICLE = (
    r"(?:[Dd]e|[Dd]a|[Dd]as|[Dd]os|[Dd]u|[Dd]er|[Dd]en|[Vv]an|[Vv]on|[Dd]el|[Dd]ella|[Dd]i"
    r"|[Ll]e|[Ll]a|[Aa]l|[Ee]l|[Bb]in|[Bb]int|[Ii]bn|[Bb]en|[Aa]p|[Tt]er|[Tt]en|[Ss]t\.?"
    r"|DE|DA|DU|VAN|VON|DER|DEL|DELLA|DI|LE|LA|AL|EL|BIN|IBN)"
)
# A surname: a capital letter then letters, with inner apostrophes and hyphens (O'Brien,
# Adebayo-Smith, McCarthy, Öztürk, Иванов); a particle may precede it, joined by a space, a
# hyphen or an apostrophe (de Souza, van der Berg, el-Amin).
_SURNAME = rf"{_UPPER}{_LETTER}*(?:['-]{_LETTER}+)*"
_NAME = rf"(?:{_PARTICLE}[\s'-]+){{0,3}}{_SURNAME}"
_INITIALS = rf"(?:{_UPPER}\.?\s+){{0,2}}"

# Words that may follow a title without being a name.
_NOT_NAMES = frozenset(_words(
    """the this that these those a an and or but on at in to of for from by with as is was are
    were will would has had have be been it its he she they we you i if so no not than then there
    here who which what when where why how all any some one two team teams group on duty chief
    monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december nb sb eb wb""")
)

_PREPOSITIONS = frozenset(_words(
    """around near along outside behind past through towards toward between opposite across
    via into onto off over under within beyond beside by from units officers cars""")
)

# Words naming a place: a title phrase followed by one of them names a place, not a person.
_PLACE_WORDS = (
    r"pub|inn|tavern|arms|bar|hotel|wetherspoons?|stop|stand|station|road|rd|street|st|avenue"
    r"|ave|lane|ln|way|drive|dr|boulevard|blvd|close|gardens?|gdns|court|ct|crescent|place|pl"
    r"|terrace|grove|square|sq|mews|walk|row|hill|rise|park|estate|house|houses|school|academy"
    r"|college|university|hospital|centre|center|clinic|library|bridge|hall|memorial|statue"
    r"|church|chapel|mosque|temple|synagogue|market|fields?|building|tower|towers|museum"
    r"|gallery|theatre|theater|cinema|stadium|ground|van|café|cafe|restaurant|takeaway"
    r"|garage|gate|gates|playground|primary|secondary|leisure|sports|community|health|path"
    r"|passage|alley|yard|wharf|quay|green|common|parade|circus|broadway|embankment"
    r"|foundation|trust|institute|society|association|charity|fund|club|lodge"
)
_TAIL_TOKEN = rf"(?:{_UPPER}{_LETTER}*(?:['.-]{_LETTER}*)*|of|de|la|le|du|van|von|der|Jr\.?|Sr\.?)"
_PLACE_TAIL = re.compile(rf"(?:\s+{_TAIL_TOKEN}){{0,4}}?\s+(?P<word>{_PLACE_WORDS})\b", re.I)
_PLACE_TAIL_CASED = re.compile(rf"(?:\s+{_TAIL_TOKEN}){{0,4}}?\s+(?P<word>(?i:{_PLACE_WORDS}))\b")
_ARTICLE_BEFORE = re.compile(r"\b(?:the|THE|The)\s+$")
_WASHINGTON_BEFORE = re.compile(r"\bWashington,?\s+$", re.I)


# Titles that are only ever a person's ("Ms Lane" is a woman, "Lady Lane" a street).
_PERSONAL_TITLES = frozenset({"Mr", "Mrs", "Ms", "Miss", "Mx", "Dr", "MR", "MRS", "MS", "MISS",
                              "MX", "DR"})
_STREET_TYPE = re.compile(
    r"(?i:street|road|lane|avenue|drive|grove|close|way|crescent|terrace|place|gardens|mews"
    r"|square|walk|rise|yard|parade|row|pub|inn|tavern|arms|estate|station|school"
    r"|st|sts|rd|ave|av|dr|ln|pl|ct|blvd|ter|sq)"
)


def _is_caps(text: str) -> bool:
    letters = [c for c in text if c.isalpha()]
    return len(letters) >= 8 and sum(c.isupper() for c in letters) >= 0.8 * len(letters)


def _names_a_place(
    text: str, start: int, end: int, extra: frozenset[str], *, caps: bool
) -> bool:
    """A title phrase that names nobody: an allow-listed phrase, a title after ``the``, or a
    place named after someone (``Lady Margaret Road``, ``Lord Napier pub``)."""
    tail = re.sub(r"[.\s]+", " ", text[start : start + 40].lower())
    if any(tail.startswith(p) for p in ALLOWED_TITLE_PHRASES | extra):
        return True
    # searched within the text (not a slice of it), so that \b sees the character before
    if _ARTICLE_BEFORE.search(text, max(0, start - 8), start):
        return True
    if _WASHINGTON_BEFORE.search(text, max(0, start - 12), start):
        return True  # "Washington DC Metro": the district, not a detective constable
    title_and_name = text[start:end].split()
    if (
        len(title_and_name) == 2
        and title_and_name[0].rstrip(".") not in _PERSONAL_TITLES
        and _STREET_TYPE.fullmatch(title_and_name[1])
    ):
        return True  # "Lord Street", "Lady Lane", "Constable Drive", "Master Lane"
    tail_re = _PLACE_TAIL if caps else _PLACE_TAIL_CASED
    m = tail_re.match(text, end)
    if m is None:
        return False
    between = text[end : m.start("word")].split()
    if caps and any(w.lower() in _NOT_NAMES for w in between):
        return False
    possessive = text[start : m.start("word")].rstrip().endswith("'s") or any(
        w.endswith("'s") for w in between
    )
    # "Mrs Celik's shop" is a person's shop; "Dr Johnson's House" is a named place.
    return not (possessive and not caps and m.group("word")[0].islower())


_NAME_AFTER_TITLE = re.compile(rf"{_TITLES}{_INITIALS}(?P<name>{_NAME})")
_INITIAL_AFTER_TITLE = re.compile(rf"{_TITLES}(?P<name>{_UPPER})(?:\.|\b)(?!\s*[a-z])")
_JOINED_TITLE = re.compile(rf"\b(?:Mr|Mrs|Ms|Miss|Dr)(?P<name>{_UPPER}[a-z]{{2,}})")
_LOWER_TITLE = re.compile(r"\b(?:[Mm]rs?|Ms)\.?\s+(?P<name>[^\W\d_]{2,})")


def _name_findings(text: str, extra: frozenset[str]) -> list[tuple[int, int]]:
    spans: list[tuple[int, int]] = []
    caps = _is_caps(text)
    for pattern in (_NAME_AFTER_TITLE, _INITIAL_AFTER_TITLE, _JOINED_TITLE, _LOWER_TITLE):
        for m in pattern.finditer(text):
            name = m.group("name")
            first = name.split()[0].rstrip(".")
            # a name that is a further title ("Det Sgt Insp") or a word such as "the"; a
            # surname whose last part is a title word ("Smith-Lord", "de Lord") is a name
            if pattern is not _INITIAL_AFTER_TITLE and (
                first.lower() in _NOT_NAMES or first in _TITLE_SET
            ):
                continue
            if _names_a_place(text, m.start(), m.end(), extra, caps=caps):
                continue
            spans.append((m.start(), m.end()))
    return spans


# ------------------------------------------------------------------------------ other rules

_MONTH = r"(?:jan|feb|mar|apr|may|jun|jul|aug|sep|sept|oct|nov|dec)[a-z]*\.?"
_AGE_WORDS = (
    r"(?:ten|eleven|twelve|thirteen|fourteen|fifteen|sixteen|seventeen|eighteen|nineteen"
    r"|twenty(?:[\s-](?:one|two|three|four|five|six|seven|eight|nine))?)"
)
_PERSON = (
    r"(?:victim|suspect|boy|girl|male|female|man|woman|youth|lad|teen|teenager|son|daughter"
    r"|brother|sister|child|kid|pupil|student|person|mother|father)s?"
)
_THINGS = (
    r"(?:tower|block|building|estate|house|flat|car|van|bus|tree|bridge|station|school|pub"
    r"|scheme|law|policy|record|case|feud|dispute|rivalry|mural|memorial|site|shop|business"
    r"|market|church|lease|contract|boiler|lift|system|camera|cctv|building)s?"
)
# Words that look like registration letter groups but are words ("BUS 12A stop", "N29 BUS").
_WORD_GROUPS = frozenset(_words(
    """bus bay van car cab via the and for are was not but all any can had her his him one our
    out day get has how man men new now old see two way who did its let put say she too use off
    top end row rd tfl dlr sat sun mon tue wed thu fri jan feb mar apr may jun jul aug sep oct
    nov dec hrs pm am at on to in by of up we me my an or no so do go he it us be pcs pct age
    and route stop""")
)
_STREET = (
    r"Road|Rd|Street|St|Avenue|Ave|Lane|Ln|Close|Gardens|Gdns|Way|Drive|Dr|Court|Ct|Crescent"
    r"|Cres|Place|Pl|Terrace|Grove|Square|Sq|Mews|Walk|Row|Hill|Rise|Park|Boulevard|Blvd"
)
_STREET_NAME_WORD = (
    rf"(?:{_UPPER}{_LETTER}*(?:'{_LETTER}+)?|\d{{1,3}}(?:st|nd|rd|th)|[NSEW]|de|la|le)"
)

# The older formats look like road numbers, routes and codes (A12 BOW, N29 BUS, UTM 30N), so
# they count only next to a word about a vehicle.
_PREFIX_PLATE = re.compile(r"\b(?P<a>[A-Z])\s?\d{1,3}\s?(?P<b>[A-Z]{3})\b")  # 1983-2001: A123 BCD
_SUFFIX_PLATE = re.compile(r"\b(?P<a>[A-Z]{3})\s?\d{1,3}(?P<b>[A-Z])\b")  # 1963-1983: ABC 123D
_VEHICLE_CONTEXT = re.compile(
    r"\b(?:cars?|vans?|vehicles?|motor(?:bike|cycle)?s?|mopeds?|scooters?|bikes?|lorry|lorries"
    r"|trucks?|taxis?|cabs?|minicabs?|reg|registration|plates?|vrm|parked|parking|driv(?:ing|en|er)"
    r"|drove|golf|audi|bmw|mercedes|ford|vauxhall|toyota|honda|nissan|rover|corsa|fiesta|prius"
    r"|transit|saloon|hatchback|estate car)\b",
    re.I,
)

_RULES: tuple[tuple[str, re.Pattern[str]], ...] = (
    (
        "name introduced as such",
        re.compile(
            r"\b(?i:known(?:\s+to\s+\w+)?\s+as|aka|a\.k\.a\.?|alias|nicknamed|named"
            r"|goes\s+by(?:\s+the\s+name(?:\s+of)?)?|street\s+name"
            r"|call(?:s|ed)?\s+(?:him|her|them)(?:sel(?:f|ves))?)"
            rf"\s*[:\-]?\s*(?:['\"\u201c]\S|{_UPPER}|\d)",
        ),
    ),
    (
        "name introduced as such",
        re.compile(rf"\b(?i:{_PERSON}|guy|bloke|one)\s+(?i:called|named"
                   rf"|(?:that\s+|who\s+)?(?:they|people|everyone|others|friends)\s+call)"
                   rf"\s+['\"\u201c]?{_UPPER}"),
    ),
    (
        "date of birth",
        re.compile(r"\b(?:d\.?\s?o\.?\s?b\.?|date of birth|birthday)(?!\w)", re.I),
    ),
    (
        "date of birth",  # "born" with a date or a year after it
        re.compile(rf"\bborn\s+(?:on\s+|in\s+)?(?:the\s+)?(?:\d|{_MONTH}(?!\w))", re.I),
    ),
    (
        "date of birth",  # a full numeric date with a year before 2010 (19xx or 200x, or 2 digits)
        re.compile(r"\b\d{1,2}[/.-]\d{1,2}[/.-](?:19\d\d|200\d)\b"),
    ),
    (
        "date of birth",  # an ISO date before 2010
        re.compile(r"\b(?:19\d\d|200\d)-\d{1,2}-\d{1,2}\b"),
    ),
    (
        "date of birth",  # a written full date with a year before 2010
        re.compile(
            rf"\b\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?{_MONTH},?\s+(?:19\d\d|200\d)\b", re.I
        ),
    ),
    (
        "age of a person",
        re.compile(
            rf"\b(?:aged?|age:)\s*[:\-]?\s*(?:\d{{1,2}}|{_AGE_WORDS})\b"
            r"(?!\s*(?:to|-|and|or|plus|\+)\s*\d)(?!\s*(?:-|to)\s*\w)",
            re.I,
        ),
    ),
    (
        "age of a person",
        re.compile(
            rf"\b(?:\d{{1,2}}|{_AGE_WORDS})\s*-?\s*(?:yrs?|years?)[\s-]+old\b(?!\s+{_THINGS}\b)"
            r"|\b\d{1,2}\s?(?:yo|y\.o\.?|y/o)(?!\w)",
            re.I,
        ),
    ),
    (
        "age of a person",
        re.compile(rf"\b{_PERSON}(?:\s+of\s+|,\s*|\s*\()\d{{1,2}}(?:\)|,|\b(?!\s*(?:[:%.]|to\b)))",
                   re.I),
    ),
    (
        "phone number",  # UK: 0 and 9-10 digits with spaces, dots, dashes, brackets between
        re.compile(r"(?<![\w+.])\(?0(?!80|3)(?:[\s.\-()]{0,2}\d){9,10}(?![\w-])"),
    ),
    (
        "phone number",  # UK in international form: +44 / 0044, with or without (0)
        re.compile(r"(?<![\w+])(?:\+|00)44\s?(?:\(0\)\s?)?(?:[\s.\-]?\d){9,10}\b"),
    ),
    (
        "phone number",  # other international numbers written with a plus sign
        re.compile(r"(?<!\w)\+\d{1,3}(?:[\s.\-]?\d){7,12}\b"),
    ),
    (
        "phone number",  # North American: (312) 555-0123, 215-555-0147, 312.555.0199
        re.compile(r"(?<![\w+/])(?:\([2-9]\d{2}\)\s?|[2-9]\d{2}[\s.\-])[2-9]\d{2}[\s.\-]\d{4}\b"),
    ),
    (
        "vehicle registration",  # current format since 2001: AB12 CDE, AB 12 CDE
        re.compile(r"\b(?P<a>[A-Z]{2})\s?\d{2}\s?(?P<b>[A-Z]{3})\b", re.I),
    ),
    ("vehicle registration", _PREFIX_PLATE),
    ("vehicle registration", _SUFFIX_PLATE),
    (
        "vehicle registration",
        re.compile(
            r"\b(?:VRM|reg(?:istration)?(?:\s?(?:no|number|plate))?|(?:number\s|licen[cs]e\s)?"
            r"plate|tag)\.?\s*(?:no\.?|number|#)?:?\s+"
            r"(?=[A-Z0-9\- ]{0,5}\d)[A-Z0-9]{1,4}[\s-]?[A-Z0-9]{2,5}\b",
            re.IGNORECASE,
        ),
    ),
    ("e-mail address", re.compile(r"(?<![\w.+-])[\w.+-]+@[\w-]+(?:\.[\w-]+)+\b")),
    (
        "e-mail address",  # spelt out: "jo dot bloggs at gmail dot com"
        re.compile(r"\b\w+(?:\s+dot\s+\w+)*\s+(?:at|\(at\)|\[at\])\s+\w+\s+dot\s+"
                   r"(?:com|co|org|net|uk|io)\b", re.I),
    ),
    ("social media handle", re.compile(r"(?<![\w@.])@\w{2,}")),
    (
        "social media handle",  # "Snap: name", "Instagram handle name", "username: name"
        re.compile(
            r"\b(?:snap(?:chat)?|insta(?:gram)?|ig|tiktok|twitter|telegram|facebook|fb|youtube"
            r"|discord|kik)\s*(?:handle|username|user|account|name|id)?\s*:\s*@?[\w.]{2,}"
            r"|\b(?:handle|username|user\s?name)\s*:?\s+@?(?=[\w.]*[\d_])[\w.]{3,}",
            re.I,
        ),
    ),
    (
        "National Insurance number",  # broader than HMRC's prefix rules, so QQ examples match
        re.compile(r"\b[A-Z]{2}\s?\d{2}\s?\d{2}\s?\d{2}\s?[A-D]\b", re.IGNORECASE),
    ),
    (
        "address (house number and street)",
        re.compile(
            r"\b(?:flat\s+\d+[A-Za-z]?,?\s+)?\d{1,5}[A-Za-z]?,?\s+"
            rf"(?:{_STREET_NAME_WORD}\s+){{1,3}}(?:{_STREET})\b"
        ),
    ),
    (
        "address (house number and street)",  # in capitals: 12 ACRE LANE
        re.compile(
            r"\b\d{1,5}[A-Z]?,?\s+(?:[A-Z][A-Z']+\s+){1,3}"
            r"(?:ROAD|RD|STREET|ST|AVENUE|AVE|LANE|CLOSE|GARDENS|WAY|DRIVE|COURT|CRESCENT|PLACE"
            r"|TERRACE|GROVE|SQUARE|MEWS|WALK|ROW|HILL|RISE)\b"
        ),
    ),
    (
        "address (house number and street)",
        re.compile(rf"\bnumber\s+\d{{1,4}}[A-Za-z]?\s+(?:on|in)\s+(?:{_UPPER}{_LETTER}+\s+){{1,3}}"
                   rf"(?:{_STREET})\b"),
    ),
    (
        "address (house number and street)",
        re.compile(r"\b(?:flat|apt|apartment)\.?\s+\d+[A-Za-z]?\b", re.IGNORECASE),
    ),
    (
        "full postcode",  # a unit postcode narrows a place to a handful of addresses
        re.compile(r"\b[A-PR-UWYZ][A-HK-Y]?\d[A-Z\d]?\s?\d[ABD-HJLNP-UW-Z]{2}\b", re.I),
    ),
)


_TABLE_BEFORE = re.compile(r"\b(?:ONS|census|table)\b[\s(]*$", re.I)
_RANGE_AFTER = re.compile(r"\s*(?:to|-|until|till)\s*\d{1,4}[/.-]\d", re.I)
_RANGE_BEFORE = re.compile(r"\d[/.-]\d{1,4}\s*(?:to|-|until|till)\s*$", re.I)


def _rule_exempt(kind: str, m: re.Match[str], text: str) -> bool:
    """Matches of a rule that are not personal data after all."""
    if kind == "vehicle registration" and "a" in m.re.groupindex:
        # letter groups that are words: BUS 12A, N29 BUS, ON 12 JUN
        if {m.group("a").lower(), m.group("b").lower()} & _WORD_GROUPS:
            return True
        if m.re is _PREFIX_PLATE or m.re is _SUFFIX_PLATE:
            window = text[max(0, m.start() - 40) : m.end() + 40]
            return _VEHICLE_CONTEXT.search(window) is None
        return False
    if kind == "full postcode":
        code = m.group(0)
        letters = [c for c in code if c.isalpha()]
        if not (all(c.isupper() for c in letters) or all(c.islower() for c in letters)):
            return True  # "N66th": a street number, not a postcode (postcodes are one case)
        if " " not in code and code[-2:].lower() in {"st", "nd", "rd", "th"}:
            return True  # "S33RD St"
    if kind == "full postcode" and " " not in m.group(0):
        # census table codes such as "ONS KS201EW" look like a postcode written without a space
        return _TABLE_BEFORE.search(text, max(0, m.start() - 16), m.start()) is not None
    if kind == "date of birth" and re.fullmatch(r"(?i)dob", m.group(0)):
        return re.match(rf"\s+(?:{_STREET})\b", text[m.end() :]) is not None  # "Dob Lane"
    if kind == "date of birth" and m.group(0)[:1].isdigit():
        # a period between two dates ("01/01/2005 to 31/12/2009") is not a birth date
        return bool(_RANGE_AFTER.match(text, m.end()) or _RANGE_BEFORE.search(text, 0, m.start()))
    if kind == "address (house number and street)" and m.group(0)[:1].isdigit():
        number, *words = m.group(0).split()[:-1]
        if re.fullmatch(r"\d+(?:m|km|M|KM),?", number):
            return True  # "200M AROUND BRUCE GROVE": a distance, not a house number
        # "6300 BLOCK FRANKFORD AVE": a block of a street (how US data anonymise), no dwelling
        return any(w.lower().strip(",") in _NOT_NAMES | _PREPOSITIONS | {"block"} for w in words)
    return False


def check_text(text: str, *, allowed: Iterable[str] | None = None) -> list[Finding]:
    """Find obvious personal-data patterns in ``text``.

    Parameters
    ----------
    text : the free text to check.
    allowed : extra lower-case phrases beginning with a title that name nobody (added to
        :data:`ALLOWED_TITLE_PHRASES`).

    Returns
    -------
    list of Finding, in order of position, overlapping matches merged (the longest first);
    spans are in the normalised text (:func:`normalise`).

    Examples
    --------
    >>> [f.kind for f in check_text("Mr Öztürk seen near the station")]
    ['name after a title']
    >>> check_text("Disorder outside the Lord Napier pub after 22:00")
    []
    """
    extra = frozenset(a.lower() for a in allowed or ())
    shown = normalise(text)
    folded = _fold(shown)
    found: list[Finding] = []
    for start, end in _name_findings(folded, extra):
        found.append(Finding("name after a title", start, end, _mask(shown[start:end])))
    for kind, pattern in _RULES:
        for m in pattern.finditer(folded):
            if _rule_exempt(kind, m, folded):
                continue
            found.append(Finding(kind, m.start(), m.end(), _mask(shown[m.start() : m.end()])))
    found.sort(key=lambda f: (f.start, -f.end))
    merged: list[Finding] = []
    for f in found:
        if merged and f.start < merged[-1].end:
            continue
        merged.append(f)
    return merged


def _mask(text: str) -> str:
    return text[:1] + re.sub(r"\S", "*", text[1:])


def refuse_personal_data(text: str, *, field: str = "text") -> str:
    """Return ``text`` unchanged, or raise :class:`PersonalDataRefused` naming what was found.

    ``field`` names the field in the one-line message (``"rationale"``, ``"public notice"``).
    """
    findings = check_text(text)
    if findings:
        raise PersonalDataRefused(field, findings)
    return text
