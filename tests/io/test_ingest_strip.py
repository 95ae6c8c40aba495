"""The Crime ID strip's shortcut (edge bytes first) agrees with ``str.strip`` value by value,
including each of Python's space characters alone at either end and sliced Arrow arrays."""

from __future__ import annotations

import pyarrow as pa

from patrolcast.io._readers import _edge_bytes_plain, _py_stripped


def test_every_python_space_at_either_end_is_stripped() -> None:
    spaces = [chr(c) for c in range(0x3100) if chr(c).isspace()]
    for c in spaces:
        for value in (f"{c}abc", f"abc{c}", c):
            arr = pa.array(["plain", value, "x"])
            assert not _edge_bytes_plain(arr)
            assert _py_stripped(arr).to_pylist() == ["plain", value.strip(), "x"]


def test_plain_values_keep_the_array_and_slices_are_read_at_their_offset() -> None:
    arr = pa.array(["a1", "b2", "", "c3", None])
    assert _edge_bytes_plain(pa.array(["a1", "b2", "", "c3"]))
    assert _py_stripped(arr).to_pylist() == ["a1", "b2", "", "c3", ""]
    padded = pa.array([" a", "b", "c", "d "])
    assert _edge_bytes_plain(padded.slice(1, 2))  # "b", "c": the padded ends are outside
    assert not _edge_bytes_plain(padded.slice(2, 2))
    assert _py_stripped(padded.slice(2, 2)).to_pylist() == ["c", "d"]
    # non-ASCII that is not a space: the exact test decides, nothing is stripped
    assert _py_stripped(pa.array(["é", "x\u200b", "\ufeffx"])).to_pylist() == [
        "é", "x\u200b", "\ufeffx"
    ]
