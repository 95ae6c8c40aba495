"""Where backtest origins run: one small interface, local implementations.

The interface
-------------
An :class:`Executor` has one method, ``map(fn, items)``, that returns an iterator over
``fn(item)`` for every item **in the order of the items**, yielding each result as soon as it
and all earlier ones are ready (so a caller can advance a progress bar). ``fn`` is a module-level
function and every item is a picklable value: the backtest sends one self-contained task per
origin (the events it needs, the support and the forecasters' hyperparameters), so a task can
run in another process or on another machine. Results must be picklable too. Exceptions raised
by ``fn`` propagate out of the iterator. An executor owns its workers only for the duration of
one ``map`` call.

Plugging in a distributed engine
--------------------------------
A Dask distributed executor would be about ten lines::

    class DaskExecutor:
        def __init__(self, client):          # a dask.distributed.Client
            self.client = client
        def map(self, fn, items):
            futures = self.client.map(fn, list(items), pure=False)
            for future in futures:            # in order of the items
                yield future.result()

(Ray, or ``concurrent.futures`` on an MPI pool, follow the same shape.) Nothing else in the
backtest changes; :func:`make_executor` is the one place that maps a name to an executor.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ProcessPoolExecutor
from typing import Protocol, TypeVar

from patrolcast.errors import InputError

T = TypeVar("T")
R = TypeVar("R")

__all__ = ["Executor", "SerialExecutor", "LocalProcessExecutor", "make_executor", "EXECUTORS"]


class Executor(Protocol):
    """Runs ``fn`` over ``items``; yields the results in the order of the items."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]: ...


class SerialExecutor:
    """Runs every item in the calling process, one after the other (the reference)."""

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        for item in items:
            yield fn(item)


class LocalProcessExecutor:
    """Runs items in a pool of local worker processes (``concurrent.futures``).

    Parameters
    ----------
    max_workers : number of processes; default: the CPUs this process may use.
    start_method : ``"spawn"`` (default: safe with threads, numba and DuckDB in the parent),
        ``"forkserver"`` or ``"fork"``.
    """

    def __init__(self, max_workers: int | None = None, start_method: str = "spawn") -> None:
        self.max_workers = max_workers
        self.start_method = start_method

    def _workers(self, n_items: int) -> int:
        try:
            available = len(os.sched_getaffinity(0))
        except AttributeError:  # pragma: no cover - not Linux
            available = os.cpu_count() or 1
        return max(1, min(self.max_workers or available, n_items))

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        todo = list(items)
        if not todo:
            return
        workers = self._workers(len(todo))
        if workers == 1:
            yield from SerialExecutor().map(fn, todo)
            return
        context = multiprocessing.get_context(self.start_method)
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            futures = [pool.submit(fn, item) for item in todo]
            try:
                for future in futures:
                    yield future.result()
            finally:
                for future in futures:
                    future.cancel()


EXECUTORS: dict[str, Callable[[int | None], Executor]] = {
    "serial": lambda workers: SerialExecutor(),
    "local": lambda workers: LocalProcessExecutor(max_workers=workers),
    "dask": lambda workers: _dask(workers),
}


def _dask(workers: int | None) -> Executor:
    """A LocalCluster of ``workers`` processes per ``map`` (imported lazily: optional engine)."""
    from patrolcast.evaluate.distributed import DaskExecutor

    return DaskExecutor(workers=workers)


def make_executor(name: str, workers: int | None = None) -> Executor:
    """The executor called ``name`` (``local``, ``serial`` or ``dask``)."""
    try:
        return EXECUTORS[name](workers)
    except KeyError:
        raise InputError(
            f"unknown executor {name!r}: choose one of {', '.join(sorted(EXECUTORS))}"
        ) from None
