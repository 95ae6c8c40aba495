"""Backtest origins on a Dask distributed cluster (``pip install "dask[distributed]"``).

:class:`DaskExecutor` implements the :class:`~patrolcast.evaluate.executors.Executor` seam on
``dask.distributed``: one task per item, results yielded **in the order of the items**, each
task retried up to ``retries`` times after an error, and rerun by the scheduler elsewhere when
its worker dies (a result is kept once: the scheduler accepts one completion per task key).

Where it runs
-------------
- ``scheduler="tcp://host:8786"``: an existing cluster (``dask scheduler`` + ``dask worker``);
  the executor connects a client for the duration of one ``map`` call.
- ``workers=N``: a :class:`distributed.LocalCluster` of N single-threaded worker processes on
  127.0.0.1, started for one ``map`` call and always closed.
- ``client=``: a client the caller owns (tests, notebooks); never closed here.

What each task carries
----------------------
:class:`StoreOriginExecutor` wraps any executor for backtests whose events sit in the
partitioned store (:mod:`patrolcast.io.partitioned`): an origin task is replaced by a small
:class:`OriginRef` (store path, dataset, force, time windows, support, methods), and the worker
reads the force's events from the store by path (cached per worker process) instead of receiving
them through the scheduler. Results are the same as with the events shipped (tested).

After ``map`` the executor's :attr:`DaskExecutor.report` says how many tasks ran, how many
were retried after an error and how many were rerun after their worker was lost, and where the
dashboard was (also passed to ``log`` when the cluster comes up).
"""

from __future__ import annotations

import contextlib
import dataclasses
import functools
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar

from patrolcast.errors import InputError
from patrolcast.evaluate.backtest import OriginResult, OriginTask, score_origin
from patrolcast.evaluate.executors import Executor
from patrolcast.evaluate.splitters import Fold

T = TypeVar("T")
R = TypeVar("R")

__all__ = [
    "DaskExecutor",
    "DaskReport",
    "OriginRef",
    "StoreOriginExecutor",
    "dask_client",
    "ForceRun",
    "national_backtest",
    "score_origin_ref",
]

_INSTALL = 'the Dask backend needs dask.distributed: pip install "dask[distributed]"'


def _distributed() -> Any:
    try:
        import distributed
    except ImportError as exc:  # pragma: no cover - exercised only without the extra
        raise InputError(_INSTALL) from exc
    return distributed


@contextlib.contextmanager
def dask_client(
    *,
    scheduler: str | None = None,
    workers: int | None = None,
    log: Callable[[str], None] | None = None,
    memory_limit: str | int = "auto",
) -> Iterator[Any]:
    """A ``distributed.Client`` for one run: to ``scheduler``, or a LocalCluster of ``workers``.

    The local cluster binds 127.0.0.1 only, one thread per worker process, and is closed on exit
    (also after an error). The dashboard address is passed to ``log``.
    """
    dist = _distributed()
    if scheduler is not None and workers is not None:
        raise InputError("give --scheduler (a running cluster) or --workers N (local), not both")
    cluster = None
    if scheduler is None:
        n = int(workers or 2)
        if n < 1:
            raise InputError("--workers must be at least 1")
        cluster = dist.LocalCluster(
            n_workers=n,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address="127.0.0.1:0",
            memory_limit=memory_limit,
            silence_logs=40,
        )
        client = dist.Client(cluster)
    else:
        if not scheduler.startswith(("tcp://", "tls://", "inproc://", "ucx://")):
            raise InputError(f"scheduler address {scheduler!r}: use tcp://host:8786")
        client = dist.Client(scheduler, timeout="30s")
    try:
        if log is not None:
            where = scheduler or client.scheduler.address
            log(f"dask scheduler {where}; dashboard {_dashboard(client)}")
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _dashboard(client: Any) -> str:
    """The dashboard address (served only where bokeh is installed: say so otherwise)."""
    link = str(client.dashboard_link or "")
    try:
        import bokeh  # noqa: F401
    except ImportError:
        return f"{link} (not served here: pip install bokeh)"
    return link


@dataclass
class DaskReport:
    """What happened in the last ``map``: tasks, retries, worker losses, dashboard."""

    tasks: int = 0
    retried_after_error: int = 0
    rerun_after_worker_loss: int = 0
    errors: list[str] = field(default_factory=list)
    dashboard: str = ""

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _task_history(dask_scheduler: Any, keys: list[str], retries: int) -> dict[str, int]:
    """On the scheduler: retries used and reruns after a lost worker, over ``keys``."""
    retried = rerun = 0
    for key in keys:
        ts = dask_scheduler.tasks.get(key)
        if ts is None:
            continue
        retried += max(0, retries - int(ts.retries))
        rerun += int(ts.suspicious)
    return {"retried": retried, "rerun": rerun}


class DaskExecutor:
    """Runs items as tasks on a Dask distributed cluster; yields results in item order.

    Parameters
    ----------
    scheduler : address of a running scheduler (``tcp://host:8786``).
    workers : start a LocalCluster of this many worker processes (default 2) for each ``map``.
    client : use this client (owned by the caller) instead.
    retries : times a task that raised is tried again before its error propagates.
    log : receives the dashboard address and a line per failure or rerun.
    """

    def __init__(
        self,
        *,
        scheduler: str | None = None,
        workers: int | None = None,
        client: Any = None,
        retries: int = 1,
        log: Callable[[str], None] | None = None,
    ) -> None:
        self.scheduler = scheduler
        self.workers = workers
        self.client = client
        self.retries = retries
        self.log = log
        self.report = DaskReport()
        self.reports: list[DaskReport] = []  # one per map call (maps may run from threads)

    def total(self) -> DaskReport:
        """The reports of every ``map`` so far, added up."""
        out = DaskReport(dashboard=self.report.dashboard)
        for r in list(self.reports):
            out.tasks += r.tasks
            out.retried_after_error += r.retried_after_error
            out.rerun_after_worker_loss += r.rerun_after_worker_loss
            out.errors.extend(r.errors)
        return out

    @contextlib.contextmanager
    def _session(self) -> Iterator[Any]:
        if self.client is not None:
            if self.log is not None and not self.reports[:-1]:  # once per executor
                self.log(f"dask dashboard {_dashboard(self.client)}")
            yield self.client
            return
        with dask_client(scheduler=self.scheduler, workers=self.workers, log=self.log) as client:
            yield client

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        todo = list(items)
        report = self.report = DaskReport(tasks=len(todo))
        self.reports.append(report)
        if not todo:
            return
        with self._session() as client:
            report.dashboard = str(client.dashboard_link or "")
            futures = client.map(fn, todo, pure=False, retries=self.retries)
            keys = [f.key for f in futures]
            try:
                for future in futures:
                    try:
                        yield future.result()
                    except Exception as exc:
                        report.errors.append(f"{future.key}: {type(exc).__name__}: {exc}")
                        if self.log is not None:
                            self.log(f"task failed after {self.retries} retries: {exc}")
                        raise
            finally:
                with contextlib.suppress(Exception):
                    seen = client.run_on_scheduler(_task_history, keys=keys, retries=self.retries)
                    report.retried_after_error = int(seen["retried"])
                    report.rerun_after_worker_loss = int(seen["rerun"])
                    if self.log is not None and (seen["retried"] or seen["rerun"]):
                        self.log(
                            f"{seen['retried']} task retries after an error, "
                            f"{seen['rerun']} reruns after a lost worker"
                        )
                client.cancel(futures)


# -- origins that read their events from the partitioned store --------------------------------


@dataclass(frozen=True)
class OriginRef:
    """An origin task without its events: the worker reads them from the store by path."""

    root: str
    dataset: str
    force: str
    history: tuple[float, float]
    scoring: tuple[float, float]
    next_scoring: tuple[float, float] | None
    task: OriginTask  # with empty event sets; fold, support, methods, fractions, protocol


@functools.lru_cache(maxsize=4)
def _force_events(root: str, dataset: str, force: str, stamp: float) -> Any:
    from patrolcast.io.partitioned import PartitionedStore

    return PartitionedStore(root).events(dataset, force=force)


def _store_stamp(root: str, dataset: str, force: str) -> float:
    """Latest modification time under the force's partition (invalidates the worker cache)."""
    from patrolcast.io.partitioned import PartitionedStore

    folder = PartitionedStore(root).force_dir(dataset, force)
    return max((p.stat().st_mtime for p in folder.rglob("*.parquet")), default=0.0)


def score_origin_ref(ref: OriginRef) -> OriginResult:
    """Read the force's events from the store (once per worker process), then score."""
    events = _force_events(ref.root, ref.dataset, ref.force, _store_stamp(
        ref.root, ref.dataset, ref.force))  # fmt: skip
    task = dataclasses.replace(
        ref.task,
        history=events.between(*ref.history),
        scoring=events.between(*ref.scoring),
        next_scoring=events.between(*ref.next_scoring) if ref.next_scoring else None,
    )
    return score_origin(task)


def _window(fold: Fold, kind: str) -> tuple[float, float]:
    if kind == "history":
        return (fold.train_start, fold.origin)
    return (fold.origin, fold.score_end)


class StoreOriginExecutor:
    """Wraps an executor: origin tasks travel as :class:`OriginRef` and read the store.

    Use it as the ``executor`` of :func:`~patrolcast.evaluate.backtest.run_backtest` when the
    events came from ``PartitionedStore(root).events(dataset, force=force)``.
    """

    def __init__(self, inner: Executor, *, root: Path | str, dataset: str, force: str) -> None:
        self.inner = inner
        self.root = str(root)
        self.dataset = dataset
        self.force = force

    def _ref(self, task: OriginTask, nxt: OriginTask | None) -> OriginRef:
        empty = task.history.between(0.0, -1.0)
        slim = dataclasses.replace(task, history=empty, scoring=empty, next_scoring=None)
        next_window = (
            _window(nxt.fold, "scoring") if nxt is not None and task.next_scoring is not None
            else None
        )  # fmt: skip
        return OriginRef(
            root=self.root,
            dataset=self.dataset,
            force=self.force,
            history=_window(task.fold, "history"),
            scoring=_window(task.fold, "scoring"),
            next_scoring=next_window,
            task=slim,
        )

    def map(self, fn: Callable[[T], R], items: Iterable[T]) -> Iterator[R]:
        todo = list(items)
        if fn is not score_origin or not all(isinstance(t, OriginTask) for t in todo):
            yield from self.inner.map(fn, todo)
            return
        tasks: list[OriginTask] = todo  # type: ignore[assignment]
        refs = [
            self._ref(t, tasks[i + 1] if i + 1 < len(tasks) else None) for i, t in enumerate(tasks)
        ]
        yield from self.inner.map(score_origin_ref, refs)  # type: ignore[misc]


# -- the national backtest: every force's origins in flight at once ---------------------------


@dataclass
class ForceRun:
    """One force's backtest and what it cost (wall seconds seen by the client)."""

    force: str
    records: int
    seconds: float
    result: Any  # BacktestResult
    cpu_seconds: float = 0.0  # this process's CPU time (all of it with a serial executor)


def national_backtest(
    root: Path | str,
    dataset: str,
    *,
    forces: list[str],
    methods: Callable[[], dict[str, Any]],
    splitter: Any,
    executor: Executor,
    areas: dict[str, Any] | None = None,
    cell_size: float = 500.0,
    concurrent_forces: int = 1,
    protocol: str = "mask",
) -> list[ForceRun]:
    """Backtest every force of ``dataset`` in the partitioned store, one task per origin.

    ``methods`` builds fresh unfitted forecasters (name -> forecaster). Each force's support is
    a grid of ``cell_size`` metres clipped to its boundary (``areas[force]``, a shapely polygon
    in the store's CRS) or covering its records. Origin tasks carry no events: workers read the
    force's partition by path (:class:`StoreOriginExecutor`). With ``concurrent_forces > 1``
    the client submits several forces at once from threads, so a cluster stays busy across
    forces (use it with :class:`DaskExecutor` sharing one ``client``).
    """
    import time
    from concurrent.futures import ThreadPoolExecutor

    from patrolcast.evaluate.backtest import run_backtest
    from patrolcast.geo.support import Grid
    from patrolcast.io.partitioned import PartitionedStore

    store = PartitionedStore(root)

    def one(force: str) -> ForceRun:
        started, cpu = time.perf_counter(), time.process_time()
        events = store.events(dataset, force=force)
        area = (areas or {}).get(force)
        if area is not None:
            support = Grid.clipped_to(area, cell_size=cell_size, crs=events.crs)
        else:
            support = Grid.covering(
                float(events.x.min()), float(events.y.min()), float(events.x.max()),
                float(events.y.max()), cell_size=cell_size, crs=events.crs,
            )  # fmt: skip
        wrapped = StoreOriginExecutor(executor, root=root, dataset=dataset, force=force)
        result = run_backtest(
            events, support, methods(), splitter, executor=wrapped, protocol=protocol,
            meta={"dataset": dataset, "force": force},
        )  # fmt: skip
        return ForceRun(
            force, len(events), time.perf_counter() - started, result,
            cpu_seconds=time.process_time() - cpu,
        )  # fmt: skip

    if concurrent_forces <= 1:
        return [one(f) for f in forces]
    with ThreadPoolExecutor(max_workers=concurrent_forces) as pool:
        return list(pool.map(one, forces))
