"""The id set and occurrence counter behind duplicate checks, against plain Python sets and
counters, over many blocks of varied size (the runs are merged in tiers as blocks arrive)."""

from __future__ import annotations

from collections import Counter

import numpy as np

from patrolcast.io._values import Occurrences, SortedIds


def test_sorted_ids_answer_like_a_set_over_many_blocks() -> None:
    rng = np.random.default_rng(7)
    ids = SortedIds(np.array(sorted({3, -7, 11}), dtype=np.int64))
    seen = {3, -7, 11}
    for size in [1, 5, 64, 3, 200, 1, 1, 900, 17, 2, 4000, 1]:
        block = rng.integers(-3000, 3000, size).astype(np.int64)
        got = ids.contains(block)
        assert got.tolist() == [int(v) in seen for v in block]
        new = np.unique(block[~got])
        ids.add(new)
        seen |= {int(v) for v in new}
        assert len(ids) == len(seen)
    extremes = np.array([np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0], dtype=np.int64)
    assert ids.contains(extremes).tolist() == [False, False, 0 in seen]
    assert SortedIds().contains(np.array([1, 2], dtype=np.int64)).tolist() == [False, False]


def test_occurrences_count_copies_across_blocks() -> None:
    rng = np.random.default_rng(11)
    occ = Occurrences()
    counts: Counter[int] = Counter()
    for size in [3, 1, 50, 7, 400, 2, 2, 1000, 9, 3000]:
        block = rng.integers(0, 500, size).astype(np.uint64)
        got = occ.next(block)
        expected = []
        for v in block.tolist():
            expected.append(counts[v])
            counts[v] += 1
        assert got.tolist() == expected
