"""Items taken ahead on a background thread arrive in order, errors included, and a consumer
that stops early leaves no thread behind."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest

from patrolcast.io._text import prefetch


def test_prefetch_keeps_order_and_reraises() -> None:
    assert list(prefetch(iter(range(1000)), depth=3)) == list(range(1000))

    def failing() -> Iterator[int]:
        yield 1
        yield 2
        raise ValueError("boom")

    got = []
    with pytest.raises(ValueError, match="boom"):
        for item in prefetch(failing()):
            got.append(item)
    assert got == [1, 2]


def test_prefetch_consumer_stopping_early_ends_the_thread() -> None:
    before = threading.active_count()
    stream = prefetch(iter(range(10**6)), depth=2)
    assert next(stream) == 0
    stream.close()
    deadline = time.monotonic() + 5
    while threading.active_count() > before and time.monotonic() < deadline:
        time.sleep(0.02)
    assert threading.active_count() == before
