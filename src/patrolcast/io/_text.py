"""Delimited text at the edge: compression, encoding, delimiter, header, bounded-memory blocks.

Every physical line of a file is accounted for. The header is line 1; each later line is either
a parsed row (with its line number) or a *bad line* with a reason (blank line, unmatched quote,
wrong number of fields). Blocks of a few megabytes are parsed with pyarrow's CSV reader, so a
file of any size streams in bounded memory. Quoted values may not span lines (none of the
publishers' files do); a line with an odd number of quote characters is quarantined on its own
instead of swallowing the rest of the file.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import hashlib
import io
from collections.abc import Callable, Generator, Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, TypeVar

import numpy as np
import numpy.typing as npt
import pyarrow as pa
import pyarrow.csv as pacsv

from patrolcast.errors import InputError
from patrolcast.io._fast import line_spans, scan_lines

BLOCK_BYTES = 8 << 20
_SAMPLE_BYTES = 1 << 16
_DELIMITERS = (",", "\t", ";", "|")

BLANK_LINE = "blank line"
UNMATCHED_QUOTE = "malformed line: unmatched quote"
NUL_BYTE = "malformed line: NUL byte"
# A field longer than this is no value any publisher writes (the longest real field in the shared
# data is a few hundred characters): its line is quarantined, with the field cut short in the raw
# text kept, instead of reaching the store.
MAX_FIELD_CHARS = 10_000
_KEEP_OF_LONG_FIELD = 200
# Signatures of binary formats people hand to ``ingest`` by mistake (zip is handled before).
_MAGIC = {
    b"PK\x03\x04": "a zip archive",
    b"%PDF": "a PDF document",
    b"\x89PNG": "a PNG image",
    b"\xff\xd8\xff": "a JPEG image",
    b"PAR1": "a Parquet file",
    b"SQLite format 3": "an SQLite database",
    b"\xd0\xcf\x11\xe0": "an old Office document (save it as CSV)",
    b"BZh": "bzip2-compressed data (decompress it first)",
    b"\xfd7zXZ": "xz-compressed data (decompress it first)",
}


def long_field_reason(chars: int) -> str:
    return f"field too long ({chars:,} characters, limit {MAX_FIELD_CHARS:,})"


def binary_kind(sample: bytes) -> str | None:
    """What a sample of (decompressed) bytes is if it is not delimited text, else None.

    Text may hold a stray NUL byte or control character in a row (that row is quarantined);
    a file is binary when its first line holds one, or when they are more than 1% of the sample.
    """
    for magic, what in _MAGIC.items():
        if sample.startswith(magic):
            return what
    head = sample[:_SAMPLE_BYTES]
    arr = np.frombuffer(head, dtype=np.uint8)
    control = (arr < 32) & (arr != 9) & (arr != 10) & (arr != 13) & (arr != 12)
    first_end = head.find(b"\n")
    first = control[: first_end if first_end >= 0 else len(arr)]
    if first.any() or control.sum() > max(1, len(arr) // 100):
        return "binary data"
    return None


def open_binary(path: Path) -> BinaryIO:
    """Open a file for reading bytes, decompressing gzip (by magic number, not by name)."""
    fh = path.open("rb")
    magic = fh.read(2)
    fh.seek(0)
    if magic == b"\x1f\x8b":
        return gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[return-value]
    return fh


def file_digest(path: Path) -> str:
    """SHA-256 of the stored bytes of ``path`` (compressed bytes for a .gz file)."""
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


@dataclass(frozen=True)
class TextFormat:
    """What was detected about a delimited text file."""

    encoding: str  # "utf-8" or "cp1252"
    bom: bool
    delimiter: str
    header: tuple[str, ...]
    raw_header: tuple[str, ...]

    @property
    def delimiter_name(self) -> str:
        return {",": "comma", "\t": "tab", ";": "semicolon", "|": "pipe"}[self.delimiter]


def _unique_names(names: list[str]) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    for i, raw in enumerate(names):
        name = raw.strip() or f"Unnamed: {i}"
        if name in seen:
            seen[name] += 1
            name = f"{name}.{seen[name]}"
        else:
            seen[name] = 0
        out.append(name)
    return tuple(out)


def sniff(path: Path) -> TextFormat | None:
    """Detect encoding, BOM, delimiter and header of ``path``; None for an empty file."""
    with open_binary(path) as fh:
        try:
            sample = fh.read(_SAMPLE_BYTES)
        except (OSError, EOFError) as exc:
            raise InputError(f"{path}: cannot read ({exc})") from None
    bom = sample.startswith(codecs.BOM_UTF8)
    if bom:
        sample = sample[len(codecs.BOM_UTF8) :]
    if sample.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        raise InputError(f"{path}: UTF-16 text is not supported; save it as UTF-8")
    if not sample.strip():
        return None
    try:
        codecs.getincrementaldecoder("utf-8")().decode(sample, final=False)
        encoding = "utf-8"
    except UnicodeDecodeError:
        encoding = "utf-8" if bom else "cp1252"
    what = binary_kind(sample)
    if what is not None:
        raise InputError(f"{path.name}: {what}, not delimited text")
    first = sample.split(b"\n", 1)[0].rstrip(b"\r").decode(encoding, errors="replace")
    counts = {d: first.count(d) for d in _DELIMITERS}
    delimiter = max(_DELIMITERS, key=lambda d: counts[d])
    if counts[delimiter] == 0:
        delimiter = ","
    raw_header = next(csv.reader([first], delimiter=delimiter), [])
    return TextFormat(
        encoding=encoding,
        bom=bom,
        delimiter=delimiter,
        header=_unique_names(raw_header),
        raw_header=tuple(raw_header),
    )


@dataclass
class BadLine:
    """A line that could not be parsed as a row."""

    line: int
    reason: str
    text: str


@dataclass
class Block:
    """Parsed rows (all columns as strings) with their line numbers, and the bad lines."""

    table: pa.Table
    lines: npt.NDArray[np.int64]
    bad: list[BadLine] = field(default_factory=list)
    nbytes: int = 0
    encoding: str = ""
    source: bytes = b""  # the block's text (UTF-8), every line, for quarantined rows' raw text
    first_line: int = 0

    @property
    def n_lines(self) -> int:
        return self.table.num_rows + len(self.bad)

    def raw_lines(self, lines: npt.NDArray[np.int64]) -> list[str]:
        """The text of the given lines (file line numbers) of this block, without newline."""
        index = np.asarray(lines, dtype=np.int64) - self.first_line
        order = np.argsort(index, kind="stable")
        starts, ends = line_spans(self.source, index[order])
        texts = [
            self.source[a:b].decode("utf-8", errors="replace").rstrip("\r")
            for a, b in zip(starts.tolist(), ends.tolist(), strict=True)
        ]
        out = [""] * len(texts)
        for k, i in enumerate(order.tolist()):
            out[i] = texts[k]
        return out


def _segments(buf: bytes) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """Start and end (exclusive, newline excluded) byte offsets of each line of ``buf``."""
    arr = np.frombuffer(buf, dtype=np.uint8)
    ends = np.flatnonzero(arr == 10).astype(np.int64)
    starts = np.empty_like(ends)
    if len(ends):
        starts[0] = 0
        starts[1:] = ends[:-1] + 1
    return starts, ends


def _parse_block(
    buf: bytes,
    first_line: int,
    fmt: TextFormat,
    encoding: str,
    n_lines: int | None = None,
    columns: tuple[str, ...] | None = None,
    longest: int = -1,
) -> Block:
    """Parse whole lines; ``columns`` (default: all) are the columns converted to text (every
    line is still split and its fields counted, and the block keeps its text for raw lines).
    ``longest``: the longest line's bytes if known (-1: not measured)."""
    if encoding != "utf-8":
        buf = buf.decode(encoding, errors="replace").encode("utf-8")
        longest = -1  # re-encoding changes the lengths
    block = _parse_either(buf, first_line, fmt, encoding, n_lines, columns, longest)
    block.source, block.first_line = buf, first_line
    return block


def _parse_either(
    buf: bytes,
    first_line: int,
    fmt: TextFormat,
    encoding: str,
    n_lines: int | None,
    columns: tuple[str, ...] | None,
    longest: int = -1,
) -> Block:
    n = buf.count(b"\n") if n_lines is None else n_lines
    long_lines = longest > MAX_FIELD_CHARS if longest >= 0 else _may_hold_long_line(buf)
    # Fast path: a block without quote characters is handed to pyarrow as it is; if pyarrow's
    # rows and refused lines account for every line, there was no blank line and the line
    # numbers are exact. Otherwise (quotes, or blank lines that pyarrow skipped) the lines to
    # set aside are found first and the rest parsed again.
    if (
        b'"' not in buf
        and b"\x00" not in buf
        and not buf.startswith((b"\n", b"\r\n"))
        and not long_lines
    ):
        block = _parse_lines(buf, first_line, n, fmt, encoding, careful=False, columns=columns)
        if block is not None:
            return block
    block = _parse_lines(buf, first_line, n, fmt, encoding, careful=True, columns=columns)
    assert block is not None
    return block


def _may_hold_long_line(buf: bytes) -> bool:
    """False when no line of ``buf`` is longer than :data:`MAX_FIELD_CHARS` bytes (so no field
    is longer either); True when one may be (the careful parse then measures each line).

    A line longer than the limit covers a whole aligned window of half the limit, so it is
    enough to find a newline in every such window: a few thousand ``memchr`` calls per block.
    """
    step = MAX_FIELD_CHARS // 2
    return any(buf.find(b"\n", i, i + step) < 0 for i in range(0, len(buf) - step + 1, step))


def _long_field(text: str, delimiter: str) -> tuple[int, str] | None:
    """(characters, shortened line) if a field of ``text`` exceeds the limit, else None."""
    try:
        values = next(csv.reader([text], delimiter=delimiter), [])
    except csv.Error:
        values = text.split(delimiter)
    longest = max((len(v) for v in values), default=0)
    if longest <= MAX_FIELD_CHARS:
        return None
    short = [
        v if len(v) <= MAX_FIELD_CHARS else f"{v[:_KEEP_OF_LONG_FIELD]}[... {len(v):,} characters]"
        for v in values
    ]
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="").writerow(short)
    return longest, out.getvalue()


def _parse_lines(
    buf: bytes,
    first_line: int,
    n: int,
    fmt: TextFormat,
    encoding: str,
    *,
    careful: bool,
    columns: tuple[str, ...] | None = None,
) -> Block | None:
    bad: list[BadLine] = []
    line_numbers = np.arange(first_line, first_line + n, dtype=np.int64)
    kept_lines = line_numbers
    if careful:
        starts, ends = _segments(buf)
        arr = np.frombuffer(buf, dtype=np.uint8)
        length = ends - starts
        has_cr = np.zeros(n, dtype=bool)
        nonempty = length > 0
        has_cr[nonempty] = arr[ends[nonempty] - 1] == 13
        blank = (length - has_cr) <= 0
        drop = blank.copy()
        reasons: dict[int, str] = {}
        if b"\x00" in buf:
            nuls = np.flatnonzero(arr == 0)
            has_nul = (np.searchsorted(nuls, ends) - np.searchsorted(nuls, starts)) > 0
            for i in np.flatnonzero(has_nul & ~drop).tolist():
                reasons[i] = NUL_BYTE
            drop |= has_nul
        for i in np.flatnonzero((length > MAX_FIELD_CHARS) & ~drop).tolist():
            text = buf[starts[i] : ends[i]].decode("utf-8", errors="replace").rstrip("\r")
            found = _long_field(text, fmt.delimiter)
            if found is not None:
                reasons[i] = long_field_reason(found[0])
                drop[i] = True
        if b'"' in buf:
            quotes = np.flatnonzero(arr == 34)
            per_line = np.searchsorted(quotes, ends) - np.searchsorted(quotes, starts)
            drop |= (per_line % 2 == 1) & ~blank
        if drop.any():
            for i in np.flatnonzero(drop).tolist():
                text = buf[starts[i] : ends[i]].decode("utf-8", errors="replace").rstrip("\r")
                reason = BLANK_LINE if blank[i] else reasons.get(i, UNMATCHED_QUOTE)
                if reason == NUL_BYTE:
                    text = text.replace("\x00", "\\x00")
                elif reason != BLANK_LINE and reason != UNMATCHED_QUOTE:
                    text = (_long_field(text, fmt.delimiter) or (0, text))[1]
                bad.append(BadLine(int(line_numbers[i]), reason, text))
            keep = np.flatnonzero(~drop)
            buf = b"\n".join(buf[starts[i] : ends[i]] for i in keep) + (b"\n" if len(keep) else b"")
            kept_lines = line_numbers[keep]
    invalid: list[tuple[int, str, int]] = []

    def on_invalid(row: pacsv.InvalidRow) -> str:
        invalid.append((row.number if row.number is not None else -1, row.text, row.actual_columns))
        return "skip"

    names = list(fmt.header)
    wanted = names if columns is None else [c for c in names if c in set(columns)]
    if len(kept_lines) == 0:
        table = pa.table({name: pa.array([], pa.string()) for name in wanted})
    else:
        table = pacsv.read_csv(
            pa.py_buffer(buf),
            read_options=pacsv.ReadOptions(
                # the serial reader numbers rows across its own blocks (tested); blocks of
                # 1 MiB parse faster than one block of the whole buffer (cache), and hold any
                # line of the fast path (at most MAX_FIELD_CHARS bytes); the careful path
                # may keep longer lines (many fields under the limit): one block
                use_threads=False,
                column_names=names,
                block_size=len(buf) + 1 if careful else min(len(buf) + 1, 1 << 20),
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=fmt.delimiter,
                # a block without quote characters is tokenised without quote handling
                quote_char='"' if careful else False,
                invalid_row_handler=on_invalid,
                ignore_empty_lines=True,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={name: pa.string() for name in names},
                include_columns=wanted,
                strings_can_be_null=False,
                quoted_strings_can_be_null=False,
            ),
        )
    if not careful and table.num_rows + len(invalid) != n:
        return None  # blank lines skipped by pyarrow: parse again, carefully
    if invalid:
        positions = np.array([num - 1 for num, _, _ in invalid], dtype=np.int64)
        if (positions < 0).any() or (positions >= len(kept_lines)).any():
            raise InputError("CSV parser lost track of line numbers")
        for (_, text, actual), pos in zip(invalid, positions, strict=True):
            bad.append(
                BadLine(
                    int(kept_lines[pos]),
                    f"malformed line: {actual} fields, header has {len(names)}",
                    text,
                )
            )
        mask = np.ones(len(kept_lines), dtype=bool)
        mask[positions] = False
        kept_lines = kept_lines[mask]
    if table.num_rows != len(kept_lines):
        raise InputError(
            f"CSV parser returned {table.num_rows} rows for {len(kept_lines)} lines "
            "(a quoted value spanning lines?)"
        )
    bad.sort(key=lambda b: b.line)
    return Block(table=table, lines=kept_lines, bad=bad, nbytes=len(buf), encoding=encoding)


def _read(fh: BinaryIO, size: int, path: Path) -> bytes:
    try:
        return fh.read(size)
    except (OSError, EOFError) as exc:
        raise InputError(f"{path}: truncated or corrupt ({exc})") from None


@dataclass(frozen=True)
class Chunk:
    """Raw bytes of whole lines of a file, and the number of its first line."""

    data: bytes
    first_line: int
    n_lines: int  # newline characters in data (every line ends with one)
    longest: int = -1  # bytes of the longest line (newline excluded); -1: not measured


def iter_chunks(path: Path, fmt: TextFormat, *, block_bytes: int = BLOCK_BYTES) -> Iterator[Chunk]:
    """Whole-line chunks of ``path`` after its header line, in file order (not yet parsed)."""
    with open_binary(path) as fh:
        head = _read(fh, block_bytes, path)
        if fmt.bom and head.startswith(codecs.BOM_UTF8):
            head = head[len(codecs.BOM_UTF8) :]
        nl = head.find(b"\n")
        carry = b"" if nl < 0 else head[nl + 1 :]
        line = 2
        eof = nl < 0
        while True:
            # one copy per chunk: the short tail carried over from the last read, then the
            # new read up to its last newline (the rest is carried to the next chunk)
            more = b"" if eof else _read(fh, block_bytes, path)
            if not more:
                eof = True
                if carry and not carry.endswith(b"\n"):
                    carry += b"\n"
                chunk, carry = carry, b""
            else:
                cut = more.rfind(b"\n")
                if cut < 0:
                    carry += more
                    continue
                chunk = b"".join((carry, memoryview(more)[: cut + 1]))
                carry = more[cut + 1 :]
            if chunk:
                n_lines, longest = scan_lines(chunk)
                yield Chunk(chunk, line, n_lines, longest)
                line += n_lines
            if eof:
                return


def count_newlines(buf: bytes) -> int:
    """``buf.count(b"\\n")``, faster (numpy, which also releases the GIL)."""
    return int(np.count_nonzero(np.frombuffer(buf, dtype=np.uint8) == 10))


def parse_chunk(
    chunk: Chunk, fmt: TextFormat, path: Path, columns: tuple[str, ...] | None = None
) -> Block:
    """Parse one chunk (pyarrow releases the GIL, so chunks can be parsed on threads)."""
    try:
        block = _parse_block(
            chunk.data, chunk.first_line, fmt, fmt.encoding, chunk.n_lines, columns, chunk.longest
        )
    except pa.ArrowInvalid as exc:
        if fmt.encoding != "utf-8" or "utf8" not in str(exc).lower():
            raise InputError(f"{path}: cannot parse ({exc})") from None
        block = _parse_block(
            chunk.data, chunk.first_line, fmt, "cp1252", chunk.n_lines, columns, chunk.longest
        )
        block.encoding = "cp1252"
    block.nbytes = len(chunk.data)
    return block


def iter_blocks(path: Path, fmt: TextFormat, *, block_bytes: int = BLOCK_BYTES) -> Iterator[Block]:
    """Parsed blocks of ``path`` after its header line, in file order."""
    for chunk in iter_chunks(path, fmt, block_bytes=block_bytes):
        yield parse_chunk(chunk, fmt, path)


T = TypeVar("T")
R = TypeVar("R")


def ordered_map(
    fn: Callable[[T], R], items: Iterator[T], *, pool: Executor | None = None, depth: int = 3
) -> Generator[R, None, None]:
    """``map(fn, items)`` on the threads of ``pool``, results in input order.

    At most ``depth`` items are in flight (submitted but not yet handed to the caller), so
    memory stays bounded by a few blocks. Worth it where ``fn`` spends its time in code that
    releases the GIL (Arrow compute and CSV parsing, numpy). Errors are re-raised in the
    caller, in order; items not yet consumed are abandoned (cancelled, or awaited if running).
    Without a pool, a plain ``map`` on the calling thread.
    """
    if pool is None:
        yield from map(fn, items)
        return
    from collections import deque
    from concurrent.futures import wait

    pending: deque[Future[R]] = deque()
    try:
        for item in items:
            pending.append(pool.submit(fn, item))
            if len(pending) >= depth:
                yield pending.popleft().result()
        while pending:
            yield pending.popleft().result()
    finally:
        for future in pending:
            future.cancel()
        wait(pending)


def prefetch(blocks: Iterator[T], depth: int = 2) -> Iterator[T]:
    """Take the next items (e.g. chunks read from disk and measured) in a background thread
    while the caller works on this one.

    Reading, the compiled line scan and pyarrow's CSV parser release the GIL, so they overlap
    with the caller's work. At most ``depth`` items wait in memory. Errors are re-raised here.
    """
    import queue
    import threading

    slots: queue.Queue[T | BaseException | None] = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def work() -> None:
        try:
            for block in blocks:
                while not stop.is_set():
                    try:
                        slots.put(block, timeout=0.1)
                        break
                    except queue.Full:
                        continue
                if stop.is_set():
                    return
            slots.put(None)
        except BaseException as exc:  # handed to the consumer
            slots.put(exc)

    thread = threading.Thread(target=work, name="patrolcast-csv-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            item = slots.get()
            if item is None:
                return
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        while thread.is_alive():
            try:
                slots.get_nowait()
            except queue.Empty:
                thread.join(timeout=0.05)
