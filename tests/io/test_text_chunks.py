"""Whole-line chunks of a file against a plain split of its text."""

from __future__ import annotations

import random
from pathlib import Path

from patrolcast.io._text import iter_chunks, sniff


def test_chunks_hold_every_line_once_with_their_numbers(tmp_path: Path) -> None:
    rng = random.Random(1)
    path = tmp_path / "t.csv"
    for _ in range(150):
        rows = [
            ",".join(str(rng.randint(0, 10 ** rng.randint(0, 8))) for _ in range(3))
            for _ in range(rng.randint(0, 60))
        ]
        text = "\n".join(["a,b,c", *rows]) + rng.choice(["", "\n", "\r\n", "\n\n"])
        path.write_text(text)
        fmt = sniff(path)
        assert fmt is not None
        body = text.split("\n", 1)[1] if "\n" in text else ""
        if body and not body.endswith("\n"):
            body += "\n"
        for block_bytes in (8, 9, 17, 64, 1 << 20):
            chunks = list(iter_chunks(path, fmt, block_bytes=block_bytes))
            assert b"".join(c.data for c in chunks).decode() == body
            line = 2  # the header is line 1
            for c in chunks:
                assert c.first_line == line and c.data.endswith(b"\n")
                assert c.n_lines == c.data.count(b"\n")
                line += c.n_lines


def test_a_line_longer_than_a_parser_block_with_fields_under_the_limit(tmp_path: Path) -> None:
    """pyarrow parses the fast path in 1 MiB blocks; a line of 1.4 MB whose fields are each
    under the length limit is kept by the careful path and parsed in one block."""
    from patrolcast.io import Store, ingest

    head = (
        "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,"
        "LSOA name,Crime type,Last outcome category,Context,"
        + ",".join(f"e{i}" for i in range(150))
    )
    row = ",2024-01,a,b,-0.1,51.5,loc,E01000001,N,Burglary,,,"
    path = tmp_path / "wide.csv"
    path.write_text(
        f"{head}\n{row}{','.join('y' * 9000 for _ in range(150))}\n{row}{','.join('z' * 150)}\n"
    )
    summary = ingest(path, store=Store(tmp_path / "store"), dataset="wide")
    assert (summary.rows_in, summary.stored, summary.quarantined) == (2, 2, 0)
