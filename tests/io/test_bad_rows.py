"""One bad row costs that row, not the file: NUL bytes, over-long fields, binary files."""

from __future__ import annotations

import gzip
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.errors import InputError
from patrolcast.io import Store, ingest
from patrolcast.io._text import MAX_FIELD_CHARS, NUL_BYTE, long_field_reason

STREET_HEADER = (
    "Crime ID,Month,Reported by,Falls within,Longitude,Latitude,Location,LSOA code,LSOA name,"
    "Crime type,Last outcome category,Context"
)


def street_row(i: int, location: str = "On or near Charterhouse Street") -> str:
    return (
        f"id{i:04d},2018-01,City of London Police,City of London Police,-0.106453,51.518207,"
        f"{location},E01000916,Camden 027B,Other theft,Under investigation,"
    )


def _write(path: Path, rows: list[str]) -> Path:
    path.write_bytes(("\n".join([STREET_HEADER, *rows]) + "\n").encode("utf-8"))
    return path


def test_a_nul_byte_quarantines_its_row_only(tmp_path: Path) -> None:
    rows = [street_row(i) for i in range(12)]
    rows[6] = street_row(6, "On or near Bad\x00Street")
    store = Store(tmp_path / "store")
    s = ingest(_write(tmp_path / "nul.csv", rows), store=store)
    assert (s.rows_in, s.stored, s.quarantined) == (12, 11, 1)
    assert dict(s.reasons) == {NUL_BYTE: 1}
    q = store.quarantine("nul")
    assert q["line"].tolist() == [8]  # header is line 1, row 6 is line 8
    assert "Bad\\x00Street" in q["raw"].iloc[0] and "\x00" not in q["raw"].iloc[0]
    keys = set(store.events_frame("nul")["key"])
    assert "id0006" not in keys and len(keys) == 11


@pytest.mark.parametrize("block_bytes", [256, 1 << 20])
def test_nul_rows_anywhere_in_a_large_file(tmp_path: Path, block_bytes: int) -> None:
    rows = [street_row(i) for i in range(3000)]
    for i in (0, 1500, 2999):
        rows[i] = rows[i].replace("Camden", "Cam\x00den")
    s = ingest(
        _write(tmp_path / "big.csv", rows), store=Store(tmp_path / "store"), block_bytes=block_bytes
    )
    assert (s.rows_in, s.stored, s.quarantined) == (3000, 2997, 3)
    lines = sorted(Store(tmp_path / "store").quarantine("big")["line"].tolist())
    assert lines == [2, 1502, 3001]


def test_absurdly_long_field_is_quarantined_with_its_reason(tmp_path: Path) -> None:
    rows = [street_row(i) for i in range(10)]
    rows[3] = street_row(3, "L" * 200_000)  # Location: a column the reader does not even convert
    rows[7] = street_row(7, "x" * MAX_FIELD_CHARS)  # at the limit: kept
    store = Store(tmp_path / "store")
    s = ingest(_write(tmp_path / "long.csv", rows), store=store)
    assert (s.rows_in, s.stored, s.quarantined) == (10, 9, 1)
    assert dict(s.reasons) == {long_field_reason(200_000): 1}
    raw = store.quarantine("long")["raw"].iloc[0]
    assert raw.startswith("id0003,2018-01") and "[... 200,000 characters]" in raw
    assert len(raw) < 1_000


def test_long_field_in_quoted_block_and_small_blocks(tmp_path: Path) -> None:
    rows = [street_row(i, '"On or near ""Quoted"" Street"') for i in range(50)]
    rows[20] = street_row(20, '"' + "y" * 50_000 + '"')
    s = ingest(_write(tmp_path / "q.csv", rows), store=Store(tmp_path / "store"), block_bytes=4096)
    assert (s.rows_in, s.stored, s.quarantined) == (50, 49, 1)
    assert list(s.reasons) == [long_field_reason(50_000)]


def test_binary_file_is_one_short_error(tmp_path: Path) -> None:
    path = tmp_path / "image.csv"
    path.write_bytes(os.urandom(5000).replace(b"\n", b"") + b"\n" + os.urandom(5000))
    with pytest.raises(InputError) as err:
        ingest(path, store=Store(tmp_path / "store"))
    assert str(err.value) == "image.csv: binary data, not delimited text"
    png = tmp_path / "map.csv.gz"
    png.write_bytes(gzip.compress(b"\x89PNG\r\n\x1a\n" + os.urandom(2000)))
    with pytest.raises(InputError, match=r"^map\.csv\.gz: a PNG image, not delimited text$"):
        ingest(png, store=Store(tmp_path / "store"))


def test_binary_file_on_the_command_line(tmp_path: Path) -> None:
    path = tmp_path / "noise.csv"
    path.write_bytes(bytes(range(256)) * 40)
    result = CliRunner().invoke(app, ["ingest", str(path), "--home", str(tmp_path / "h")])
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    message = str(result.exception)
    assert "\n" not in message and len(message) < 80 and "\x00" not in message


def test_text_with_a_nul_in_the_header_is_binary(tmp_path: Path) -> None:
    path = tmp_path / "h.csv"
    path.write_bytes(b"Crime\x00ID,Month\n" + street_row(1).encode() + b"\n")
    with pytest.raises(InputError, match="binary data"):
        ingest(path, store=Store(tmp_path / "store"))


def test_a_few_stray_control_characters_do_not_make_a_file_binary(tmp_path: Path) -> None:
    rows = [street_row(i) for i in range(200)]
    rows[10] = street_row(10, "On or near \x07Bell Street")
    s = ingest(_write(tmp_path / "bell.csv", rows), store=Store(tmp_path / "store"))
    assert (s.rows_in, s.stored, s.quarantined) == (200, 200, 0)


def test_street_reader_equals_its_pandas_reference_on_awkward_rows() -> None:
    import numpy as np
    import pyarrow as pa

    from patrolcast.io._readers import PoliceUkStreetReader, _py_stripped
    from patrolcast.taxonomy import load_taxonomy

    spaces = [chr(c) for c in range(0x3100) if chr(c).isspace()]
    values = [f"{c}x{c}" for c in spaces] + ["plain", "", "\x1bx", "x\u200b", "\ufeffx"]
    assert _py_stripped(pa.array(values)).to_pylist() == [v.strip() for v in values]
    rows = {
        "Crime ID": [" abc ", "", "abc", "d\u3000", None, "e", "f", "g", "h", "", ""],
        "Month": ["2018-01", " 2018-01", "2018-13", "2018-02", "2018-02", "", "2018-02\u2028",
                  "2018-03", "2018-03", "2018-03", "2018-03"],
        "Longitude": ["-0.1", "-0.1", "-0.1", "", "0", "-0.2", "-0.1", "abc", "-0.1", "-0.1",
                      "-0.1"],
        "Latitude": ["51.5", "51.5", "51.5", "51.5", "0", "51.6", "51.5", "51.5", "51.5",
                     "51.5", "51.5"],
        "LSOA code": ["E01", " E01", "E01 ", "", "E02", "E02", "E01", "E03", "E04", "E01", ""],
        "LSOA name": ["A", "A ", "", "B", "B", "B", "A", "C", "D", "A", None],
        "Crime type": ["Other theft", "Other theft", "Burglary", "Robbery", "Nope",
                       " Other theft", "Drugs", "Drugs", "Nope", "Anti-social behaviour",
                       "Anti-social behaviour"],
    }  # fmt: skip
    table = pa.table({k: pa.array(v, pa.string()) for k, v in rows.items()})
    reader = PoliceUkStreetReader(taxonomy=load_taxonomy(), target_crs="EPSG:27700", bbox=None)
    lines = np.arange(2, 2 + table.num_rows)
    fast, ref = reader.process(table, lines), reader.process_reference(table, lines)
    assert fast.rejected.positions.tolist() == ref.rejected.positions.tolist()
    assert fast.rejected.reasons.tolist() == ref.rejected.reasons.tolist()
    assert "unknown offence" in ref.rejected.reasons.tolist()
    assert fast.records.num_rows == ref.records.num_rows >= 4
    assert fast.records.column_names == ref.records.column_names
    for name in ref.records.column_names:
        got, want = fast.records.column(name).to_pylist(), ref.records.column(name).to_pylist()
        assert got == want, name
