"""``ingest``: files of any supported layout into the analytical store, with full accounting."""

from __future__ import annotations

import csv
import itertools
import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pyarrow as pa

from patrolcast.errors import InputError
from patrolcast.io import _accounting as acc
from patrolcast.io._accounting import FileSummary, IngestSummary
from patrolcast.io._areas import area_points
from patrolcast.io._fast import KeySet, OccurrenceCounter
from patrolcast.io._mapping import IncidentMapping, detect_mapping, load_mapping
from patrolcast.io._readers import (
    INCIDENTS,
    KINDS,
    LONDON_DATASTORE,
    POLICE_UK_STREET,
    STOP_SEARCH,
    STOP_SEARCH_COLUMNS,
    STREET_COLUMNS,
    IncidentReader,
    LondonDatastoreReader,
    PoliceUkStreetReader,
    Reader,
    StopSearchReader,
    lds_level,
)
from patrolcast.io._rows import Processed, redact_text, redacted_line
from patrolcast.io._schema import FILE_SCHEMA, QUARANTINE_SCHEMA
from patrolcast.io._text import (
    BLOCK_BYTES,
    Block,
    Chunk,
    TextFormat,
    file_digest,
    iter_chunks,
    ordered_map,
    parse_chunk,
    prefetch,
    sniff,
)
from patrolcast.io._values import (
    Box,
    SortedIds,
    describe_transformation,
    mix,
    numeric_hash,
)
from patrolcast.io._writer import PartWriter, clear_stage, remove_parts
from patrolcast.io.store import Store, check_dataset_name
from patrolcast.taxonomy import Taxonomy, load_taxonomy

# Blocks parsed and validated at once (threads: Arrow compute and CSV parsing and numpy release the
# GIL). Ids, duplicate checks and writing stay in file order on the calling thread.
INGEST_THREADS = 2
_POOLS: dict[int, ThreadPoolExecutor] = {}
_POOLS_LOCK = threading.Lock()
# Blocks parsed and validated ahead while the file's SHA-256 is still being computed.
_AHEAD_BLOCKS = 8


def _workers() -> ThreadPoolExecutor | None:
    """The threads that parse and validate blocks, kept for the life of the process: a new
    thread pays for its own PROJ context (tens of milliseconds), too much per small file."""
    if INGEST_THREADS <= 1:
        return None
    with _POOLS_LOCK:
        pool = _POOLS.get(INGEST_THREADS)
        if pool is None:
            pool = _POOLS[INGEST_THREADS] = ThreadPoolExecutor(
                max_workers=INGEST_THREADS, thread_name_prefix="patrolcast-ingest"
            )
    return pool


_SUFFIXES = (".csv", ".csv.gz", ".tsv", ".tsv.gz", ".txt", ".txt.gz")
_MONTH = re.compile(r"^\d{6}$")
Progress = Callable[[str, int, int], None]  # (file name, bytes done, rows so far)


@dataclass(frozen=True)
class Detected:
    """The layout of one file."""

    kind: str
    mapping: IncidentMapping | None = None
    level: str | None = None


def detect_kind(header: tuple[str, ...]) -> Detected | None:
    """Recognise a layout from a header: data.police.uk street or stop-and-search, a London
    Datastore wide table, or an incident file one of the shipped mappings describes."""
    have = set(header)
    if set(STREET_COLUMNS) <= have:
        return Detected(POLICE_UK_STREET)
    if set(STOP_SEARCH_COLUMNS) <= have:
        return Detected(STOP_SEARCH)
    level = lds_level(header)
    if level:
        return Detected(LONDON_DATASTORE, level=level)
    mapping = detect_mapping(header)
    if mapping:
        return Detected(INCIDENTS, mapping=mapping)
    return None


def discover(path: Path) -> list[Path]:
    """One file, or every delimited-text file under a folder (data.police.uk archive layout
    ``YYYY-MM/YYYY-MM-<force>-street.csv`` included), in sorted order."""
    if not path.exists():
        raise InputError(f"{path} does not exist")
    if path.is_file():
        return [path]
    files = sorted(p for p in path.rglob("*") if p.is_file() and p.name.lower().endswith(_SUFFIXES))
    if not files:
        raise InputError(f"{path} holds no .csv/.tsv files (optionally .gz)")
    return files


def default_dataset_name(path: Path) -> str:
    name = path.name
    for suffix in (".gz", ".csv", ".tsv", ".txt"):
        if name.lower().endswith(suffix):
            name = name[: -len(suffix)]
    name = re.sub(r"[^A-Za-z0-9_.-]+", "_", name).strip("._-") or "dataset"
    return name[:100]


def _file_id(digest: str) -> int:
    return int(np.array([int(digest[:16], 16)], dtype=np.uint64).view(np.int64)[0])


@dataclass
class _Plan:
    kind: str
    mapping: IncidentMapping | None
    level: str | None
    files: list[tuple[Path, TextFormat | None, str | None]]  # (path, format, skip reason)


def _plan(paths: list[Path], kind: str, mapping: IncidentMapping | None) -> _Plan:
    single = len(paths) == 1
    entries: list[tuple[Path, TextFormat | None, Detected | None]] = []
    for p in paths:
        fmt = sniff(p)
        if fmt is None:
            entries.append((p, None, None))
            continue
        det = detect_kind(fmt.header)
        if mapping is not None:
            det = (
                Detected(INCIDENTS, mapping=mapping)
                if set(mapping.required_columns) <= set(fmt.header)
                else None
            )
        entries.append((p, fmt, det))
    if single and entries[0][1] is None:
        raise InputError(f"{paths[0]} is empty: nothing to ingest")
    wanted = INCIDENTS if mapping is not None else kind
    if wanted == "auto":
        found = {
            (d.kind, d.mapping.name if d.mapping else None, d.level) for _, _, d in entries if d
        }
        if not found:
            p, fmt, _ = next((e for e in entries if e[1] is not None), entries[0])
            cols = ", ".join(fmt.header[:8]) if fmt else ""
            raise InputError(
                f"cannot tell the layout of {p} from its header ({cols}...): "
                "pass --kind, or --mapping for an incident file"
            )
        if len(found) > 1:
            listed = "; ".join(
                f"{k}{'/' + m if m else ''}{'/' + lv if lv else ''}"
                for k, m, lv in sorted(found, key=str)
            )
            raise InputError(
                f"files of several layouts ({listed}): ingest them separately or pass --kind"
            )
        wanted = next(iter(found))[0]
    if wanted not in KINDS:
        raise InputError(f"unknown kind {wanted!r} (known: auto, {', '.join(KINDS)})")
    if wanted == INCIDENTS and mapping is None:
        names = {d.mapping.name for _, _, d in entries if d and d.mapping}
        if len(names) != 1:
            raise InputError(
                "incident files need a column mapping: pass --mapping NAME or a .toml path"
            )
        mapping = next(d.mapping for _, _, d in entries if d and d.mapping)
    levels = {d.level for _, _, d in entries if d and d.kind == wanted and d.level}
    if len(levels) > 1:
        raise InputError(
            f"London Datastore tables of several levels ({', '.join(sorted(levels))}): "
            "ingest them separately"
        )
    planned: list[tuple[Path, TextFormat | None, str | None]] = []
    for p, fmt, det in entries:
        if fmt is None:
            planned.append((p, None, "empty"))
        elif det is None or det.kind != wanted:
            if single:
                raise InputError(_wrong_columns(p, fmt, wanted, mapping))
            planned.append((p, fmt, f"skipped: not a {wanted} layout"))
        else:
            planned.append((p, fmt, None))
    if not any(reason is None for _, _, reason in planned):
        raise InputError(f"no file under {paths[0].parent} has the {wanted} layout")
    return _Plan(wanted, mapping, next(iter(levels)) if levels else None, planned)


def _wrong_columns(path: Path, fmt: TextFormat, kind: str, mapping: IncidentMapping | None) -> str:
    need: tuple[str, ...]
    if kind == POLICE_UK_STREET:
        need = STREET_COLUMNS
    elif kind == STOP_SEARCH:
        need = STOP_SEARCH_COLUMNS
    elif kind == INCIDENTS and mapping is not None:
        need = mapping.required_columns
    else:
        return (
            f"{path}: wrong columns for {kind} (no YYYYMM month columns or area/category columns)"
        )
    missing = [c for c in need if c not in fmt.header]
    return f"{path}: wrong columns for {kind}: missing {', '.join(missing)}"


def _make_reader(
    plan: _Plan, *, crs: str, bbox: tuple[float, float, float, float] | Box | None,
    taxonomy: Taxonomy, store: Store, shared_data: Path | None,
) -> Reader:  # fmt: skip
    if plan.kind == POLICE_UK_STREET:
        return PoliceUkStreetReader(taxonomy=taxonomy, target_crs=crs, bbox=bbox)
    if plan.kind == STOP_SEARCH:
        return StopSearchReader(taxonomy=taxonomy, target_crs=crs, bbox=bbox)
    if plan.kind == LONDON_DATASTORE:
        level = plan.level or "lsoa"
        points = area_points(level, store.root, shared_data, crs)
        return LondonDatastoreReader(
            taxonomy=taxonomy, target_crs=crs, bbox=bbox, level=level, area_points=points
        )
    assert plan.mapping is not None
    return IncidentReader(
        taxonomy=taxonomy, target_crs=plan.mapping.target_crs, bbox=bbox, mapping=plan.mapping
    )


def _prepare_dataset(store: Store, dataset: str, reader: Reader, transformation: str) -> None:
    folder = store.dataset_dir(dataset)
    meta_path = folder / "dataset.json"
    meta = {
        "name": dataset,
        "kind": reader.kind,
        "crs": reader.target_crs,
        "time_precision": reader.precision,
        "transformation": transformation,
        "mapping": reader.mapping_name,
    }
    if meta_path.is_file():
        old = json.loads(meta_path.read_text(encoding="utf-8"))
        for field in ("kind", "crs", "mapping"):
            if old.get(field) != meta[field]:
                raise InputError(
                    f"dataset {dataset!r} holds {field} {old.get(field)!r}, not {meta[field]!r}: "
                    "choose another --dataset"
                )
        return
    folder.mkdir(parents=True, exist_ok=True)
    meta["created_at"] = datetime.now(UTC).isoformat()
    tmp = meta_path.with_suffix(".tmp")
    tmp.write_text(json.dumps(meta, indent=2), encoding="utf-8")
    tmp.replace(meta_path)


class _Ids(SortedIds):
    """Ids already stored in the dataset, or keys seen in the file (grows as blocks and files
    are committed; sorted runs merged in tiers, so a national file is not re-sorted per block)."""


def _ingest_file(
    path: Path, fmt: TextFormat, digest_of: Future[str], known: set[str], reader: Reader,
    store: Store, dataset: str, existing: _Ids, summary: FileSummary, block_bytes: int,
    progress: Progress | None, label: str | None = None,
) -> npt.NDArray[np.int64] | None:  # fmt: skip
    """Ingest one file; None (and nothing written) when its digest is already recorded.

    The SHA-256 digest is computed on another thread while the first blocks are parsed and
    validated (hashing releases the GIL); it is awaited before anything is written or counted.
    """

    wanted = reader.columns(fmt.header)
    personal = reader.personal(fmt.header)

    def parse_and_process(chunk: Chunk) -> tuple[Block, Processed, list[str]]:
        """On a worker thread: parse, validate, and the raw text of the rows refused."""
        block = parse_chunk(chunk, fmt, path, wanted)
        processed = reader.process(block.table, block.lines)
        refused = processed.rejected.positions
        raw = _raw_rows(block, refused, fmt, personal) if len(refused) else []
        return block, processed, raw

    chunks = iter_chunks(path, fmt, block_bytes=block_bytes)
    big = path.stat().st_size > block_bytes // 8  # one block or less: no thread hand-offs
    if path.stat().st_size > 4 * block_bytes:
        chunks = prefetch(chunks)  # read and measured on a thread of their own
    results = ordered_map(parse_and_process, chunks, pool=_workers() if big else None)
    ahead: list[tuple[Block, Processed, list[str]]] = []
    try:
        # keep the workers busy while the digest is computed (a bounded number of blocks)
        while len(ahead) < _AHEAD_BLOCKS and (not ahead or not digest_of.done()):
            item = next(results, None)
            if item is None:
                break
            ahead.append(item)
        digest = digest_of.result()
    except BaseException:
        results.close()
        raise
    summary.sha256 = digest
    if digest in known:
        results.close()
        summary.status = "skipped: already ingested (same SHA-256)"
        return None
    stream = itertools.chain(ahead, results)
    folder = store.dataset_dir(dataset)
    file_id = _file_id(digest)
    prefix = digest[:16]
    for table in ("events", "quarantine"):
        remove_parts(folder / table, prefix)
    stage = folder / "_staging" / uuid.uuid4().hex
    events = PartWriter(stage / "events", folder / "events", reader.schema, prefix)
    quarantine = PartWriter(stage / "quarantine", folder / "quarantine", QUARANTINE_SCHEMA, prefix)
    occurrences = OccurrenceCounter()  # content hashes seen in the file, with their counts
    seen_keys = KeySet()  # incident keys (Crime IDs) seen in the file
    collapsed: list[pd.DataFrame] = []
    new_ids: list[npt.NDArray[np.int64]] = []
    encodings: set[str] = set()
    file_name = label or str(path)
    q_tables: list[pa.Table] = []
    q_count = 0

    def quarantine_rows(lines: npt.NDArray[np.int64], reasons: list[str], raw: list[str]) -> None:
        nonlocal q_count
        n = len(reasons)
        if n == 0:
            return
        q_tables.append(
            pa.table(
                {
                    "file_id": pa.array(np.full(n, file_id, dtype=np.int64)),
                    "file": pa.DictionaryArray.from_arrays(
                        pa.array(np.zeros(n, dtype=np.int32)), pa.array([file_name])
                    ),
                    "line": pa.array(np.asarray(lines, dtype=np.int64)),
                    "reason": pa.array(reasons, type=pa.string()).dictionary_encode(),
                    "raw": pa.array(raw, type=pa.string()),
                }
            )
        )
        summary.reasons.update(reasons)
        summary.quarantined += n
        q_count += n

    try:
        for block, processed, rej_raw in stream:
            encodings.add(block.encoding)
            summary.rows_in += block.n_lines
            if block.bad:
                quarantine_rows(
                    np.array([bad.line for bad in block.bad], dtype=np.int64),
                    [bad.reason for bad in block.bad],
                    [
                        redact_text(bad.text, fmt.header, personal, fmt.delimiter)
                        for bad in block.bad
                    ],
                )
            summary.notes.update(processed.notes)
            rec = processed.records
            rej_pos = processed.rejected.positions
            rej_reason = processed.rejected.reasons
            if rec.num_rows:
                hashes = _col(rec, "_hash").astype(np.uint64, copy=False)
                keyed = _col(rec, "_keyed").astype(bool, copy=False)
                ids = hashes.copy()
                content = ~keyed
                if content.any():
                    occ = occurrences.next(hashes[content])
                    ids[content] = mix(hashes[content], numeric_hash(occ))
                ids64 = ids.view(np.int64)
                rec = rec.append_column("event_id", pa.array(ids64)).append_column(
                    "file_id", pa.array(np.full(rec.num_rows, file_id, dtype=np.int64))
                )
                pos = _col(rec, "_pos")
                # duplicates within the file (keyed rows; one key per input row)
                row_key = (
                    _col(rec, "_row_hash" if "_row_hash" in rec.column_names else "_hash")
                    .astype(np.uint64, copy=False)
                    .view(np.int64)
                )
                first = np.ones(len(pos), dtype=bool)  # records of one row are consecutive
                first[1:] = pos[1:] != pos[:-1]
                kpos, kkey, kflag = pos[first], row_key[first], keyed[first]
                dup_pos = np.zeros(0, dtype=np.int64)
                if not reader.collapse and kflag.any():
                    # keyed rows in file order: a key seen before (in this block or an
                    # earlier one) is a duplicate; a first copy is kept and remembered
                    dup = seen_keys.first_seen(kkey, kflag)
                    dup_pos = kpos[dup]
                stored_before = existing.contains(ids64)
                old_pos = np.setdiff1d(pos[stored_before], dup_pos)  # sorted, distinct
                if len(dup_pos) or len(old_pos):
                    drop_pos = np.concatenate([dup_pos, old_pos])
                    rec = rec.filter(pa.array(~np.isin(pos, drop_pos)))
                    order = np.argsort(drop_pos, kind="stable")
                    drop_pos = drop_pos[order]
                    drop_reason = np.concatenate(
                        [
                            np.full(len(dup_pos), acc.DUPLICATE_IN_FILE, dtype=object),
                            np.full(len(old_pos), acc.ALREADY_STORED, dtype=object),
                        ]
                    )[order]
                    drop_raw = _raw_rows(block, drop_pos, fmt, personal)
                    # merged with the rows refused on the worker, in row order
                    rej_pos = np.concatenate([rej_pos, drop_pos])
                    rej_reason = np.concatenate([rej_reason, drop_reason])
                    merged_raw = rej_raw + drop_raw
                    order = np.argsort(rej_pos, kind="stable")
                    rej_pos, rej_reason = rej_pos[order], rej_reason[order]
                    rej_raw = [merged_raw[i] for i in order.tolist()]
            if len(rej_pos):
                quarantine_rows(block.lines[rej_pos], rej_reason.tolist(), rej_raw)
            if rec.num_rows:
                kept_pos = _col(rec, "_pos")
                summary.stored += int(1 + np.count_nonzero(kept_pos[1:] != kept_pos[:-1]))
                if reader.collapse:
                    collapsed.append(rec)
                else:
                    summary.events += rec.num_rows
                    events.add_records(rec)
                    new_ids.append(_col(rec, "event_id"))
            if q_count >= 100_000:
                quarantine.add_records(pa.concat_tables(q_tables))
                q_tables, q_count = [], 0
            if progress:
                progress(path.name, block.nbytes, summary.rows_in)
        if collapsed:
            merged = _collapse(pa.concat_tables(collapsed).to_pandas())
            summary.events += len(merged)
            events.add_frame(merged)
            new_ids.append(merged["event_id"].to_numpy(np.int64))
        if q_tables:
            quarantine.add_records(pa.concat_tables(q_tables))
        summary.encoding = "+".join(sorted(e for e in encodings if e)) or fmt.encoding
        summary.check()
        events.commit()
        quarantine.commit()
        _write_file_record(folder, file_id, prefix, summary)
    finally:
        results.close()
        events.abandon()
        quarantine.abandon()
        clear_stage(stage)
    return np.concatenate(new_ids) if new_ids else np.zeros(0, dtype=np.int64)


def _raw_rows(
    block: Block, positions: npt.NDArray[np.int64], fmt: TextFormat, personal: set[str]
) -> list[str]:
    """Quarantined rows as delimited text, personal fields blanked.

    From the parsed values when every column was converted; otherwise the lines are taken
    from the block's text and split again (the same CSV rules as the parser).
    """
    if set(fmt.header) <= set(block.table.column_names):
        rows = block.table.take(pa.array(positions)).to_pylist()
        return [
            redacted_line(
                [row[c] if row[c] is not None else "" for c in fmt.header],
                fmt.header,
                personal,
                fmt.delimiter,
            )  # fmt: skip
            for row in rows
        ]
    out = []
    as_is = not personal and len(fmt.header) > 1  # nothing to blank: split + join is identity
    for text in block.raw_lines(block.lines[positions]):
        if as_is and '"' not in text and "\r" not in text:
            out.append(text)
            continue
        values = next(csv.reader([text], delimiter=fmt.delimiter), [])
        out.append(redacted_line(values, fmt.header, personal, fmt.delimiter))
    return out


def _col(table: pa.Table, name: str) -> npt.NDArray[Any]:
    """A column of a record table as numpy (zero-copy for numbers)."""
    return np.asarray(table.column(name).to_numpy())


def _collapse(frame: pd.DataFrame) -> pd.DataFrame:
    """Victim rows of one incident -> one event: the most harmful row's offence, the earliest
    line, the number of rows, and the mark set if any row is marked (e.g. a fatal victim)."""
    frame = frame.sort_values(
        ["event_id", "harm", "line"], ascending=[True, False, True], kind="stable"
    )
    grouped = frame.groupby("event_id", sort=False)
    first = grouped.head(1).set_index("event_id")
    first["rows"] = grouped.size().astype(np.int32)
    first["mark"] = grouped["mark"].max().astype(np.int8)
    first["line"] = grouped["line"].min()
    return first.reset_index()


def _write_file_record(folder: Path, file_id: int, prefix: str, summary: FileSummary) -> None:
    record = {
        "file_id": [file_id],
        "path": [summary.path],
        "sha256": [summary.sha256],
        "kind": [summary.kind],
        "mapping": [summary.mapping],
        "encoding": [summary.encoding],
        "delimiter": [summary.delimiter],
        "rows_in": [summary.rows_in],
        "stored": [summary.stored],
        "events": [summary.events],
        "quarantined": [summary.quarantined],
        "reasons": [json.dumps(dict(summary.reasons), sort_keys=True)],
        "notes": [json.dumps(dict(summary.notes), sort_keys=True)],
        "ingested_at": [datetime.now(UTC)],
    }
    writer = PartWriter(
        folder / "_staging" / f"file-{prefix}", folder / "files", FILE_SCHEMA, prefix
    )
    writer.add(pa.table(record, schema=FILE_SCHEMA))
    writer.commit()
    clear_stage(folder / "_staging" / f"file-{prefix}")


@contextmanager
def _no_progress() -> Iterator[Progress | None]:
    yield None


def ingest(
    path: Path | str,
    *,
    store: Store | Path | str,
    kind: str = "auto",
    mapping: str | Path | None = None,
    dataset: str | None = None,
    crs: str = "EPSG:27700",
    bbox: tuple[float, float, float, float] | Box | None = None,
    taxonomy: Taxonomy | Path | str | None = None,
    shared_data: Path | None = None,
    block_bytes: int = BLOCK_BYTES,
    progress: Progress | None = None,
    label: Callable[[Path], str] | None = None,
) -> IngestSummary:
    """Ingest a file or a folder of files into ``dataset`` of the analytical store.

    Every input line after the header is stored or quarantined with a reason; the returned
    summary asserts ``rows_in == stored + quarantined`` per file and in total. A file whose
    SHA-256 digest is already recorded in the dataset is skipped, and event ids are stable
    (from the source and the row content, or the publisher's incident key), so re-ingesting
    stores nothing twice.

    Parameters
    ----------
    path : a file, or a folder searched recursively for .csv/.tsv files (optionally .gz).
    store : the store (or its root folder, ``<home>/store``).
    kind : ``auto`` (from the header) or one of ``police-uk-street``, ``stop-search``,
        ``london-datastore``, ``incidents``.
    mapping : a shipped mapping name (``chicago``, ``nypd``, ...) or a TOML path (incidents).
    dataset : dataset name (default: the file or folder name).
    crs : metric CRS for England and Wales layouts (incident mappings name their own).
    bbox : study-area box ``(min_lon, min_lat, max_lon, max_lat)``, or a :class:`Box` in a
        stated CRS (``--bbox`` with ``--bbox-crs``); rows outside are quarantined.
    taxonomy : the offence taxonomy (default: the shipped ``offences.csv``).
    shared_data : the shared data folder, for London boundary files (area points).
    label : the name recorded for a file (default: its path), e.g. ``archive.zip!member.csv``
        for a member unpacked from an archive (:mod:`patrolcast.io.archives`).
    """
    started = time.perf_counter()
    st = store if isinstance(store, Store) else Store(store)
    source = Path(path)
    tax = taxonomy if isinstance(taxonomy, Taxonomy) else load_taxonomy(taxonomy)
    chosen = load_mapping(mapping) if mapping is not None else None
    if chosen is not None and kind not in ("auto", INCIDENTS):
        raise InputError("--mapping applies to incident files only (use --kind incidents or auto)")
    corners = (bbox.xmin, bbox.ymin, bbox.xmax, bbox.ymax) if isinstance(bbox, Box) else bbox
    if corners is not None and (corners[0] >= corners[2] or corners[1] >= corners[3]):
        raise InputError("bbox must be xmin,ymin,xmax,ymax with min < max")
    plan = _plan(discover(source), kind, chosen)
    reader = _make_reader(plan, crs=crs, bbox=bbox, taxonomy=tax, store=st, shared_data=shared_data)
    name = check_dataset_name(dataset or default_dataset_name(source))
    transformation = describe_transformation(reader.source_crs, reader.target_crs)
    if plan.kind == LONDON_DATASTORE:
        transformation = f"area representative points from boundary files in {reader.target_crs}"
    _prepare_dataset(st, name, reader, transformation)
    summary = IngestSummary(
        dataset=name, kind=plan.kind, crs=reader.target_crs, transformation=transformation
    )
    existing = _Ids(st.event_ids(name))
    digests = st.digests(name)
    hasher = ThreadPoolExecutor(max_workers=1, thread_name_prefix="patrolcast-sha256")
    try:
        for p, fmt, skip in plan.files:
            name_of = label(p) if label else str(p)
            fs = FileSummary(path=name_of, sha256="", kind=plan.kind, mapping=reader.mapping_name)
            summary.files.append(fs)
            if fmt is not None:
                fs.encoding, fs.delimiter = fmt.encoding, fmt.delimiter_name
            if skip is not None:
                fs.sha256 = file_digest(p)
                fs.status = skip
                continue
            assert fmt is not None
            if isinstance(reader, LondonDatastoreReader):
                reader.months = tuple(c for c in fmt.header if _MONTH.match(c))
            digest_of = hasher.submit(file_digest, p)
            new = _ingest_file(
                p, fmt, digest_of, digests, reader, st, name, existing, fs, block_bytes, progress,
                name_of,
            )  # fmt: skip
            if new is not None:
                existing.add(new)
                digests.add(fs.sha256)
    finally:
        hasher.shutdown(wait=True)
    summary.seconds = time.perf_counter() - started
    summary.check()
    return summary
