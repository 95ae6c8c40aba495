"""The national replica, the partitioned store and the national backtest, on a real
LocalCluster (two small forces at a reduced national volume)."""

from __future__ import annotations

import gzip
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import shapely
from pyproj import Transformer

from patrolcast.evaluate.backtest import run_backtest
from patrolcast.evaluate.distributed import DaskExecutor, national_backtest
from patrolcast.evaluate.executors import SerialExecutor
from patrolcast.evaluate.splitters import RollingOrigin, parse_period
from patrolcast.forecast.registry import make_forecaster
from patrolcast.geo.support import Grid
from patrolcast.io.national_replica import force_areas, force_shares, generate_replica
from patrolcast.io.partitioned import PartitionedStore, ingest_partitioned

SHARED = Path(__file__).resolve().parents[3] / "shared" / "data"
if not SHARED.is_dir():
    SHARED = Path("/work/shared/data")
pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not (SHARED / "boundaries").is_dir(), reason="needs ../shared/data"),
]
FORCES = ["London, City of", "Cleveland"]
NATIONAL = 40_000  # records a month nationally (1/12.5 of the real volume)


@pytest.fixture(scope="module")
def replica(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, Any]]]:
    out = tmp_path_factory.mktemp("replica")
    made = generate_replica(
        out, shared_data=SHARED, start="2023-01", n_months=8, records_per_month=NATIONAL,
        forces=FORCES, seed=7,
    )  # fmt: skip
    return out, made


@pytest.fixture(scope="module")
def store(replica: tuple[Path, list[dict[str, Any]]], client: Any, tmp_path_factory: Any) -> Any:
    out, _ = replica
    root = tmp_path_factory.mktemp("pstore")
    files = sorted(out.glob("*/*.csv"))
    summary = ingest_partitioned(files, root=root, dataset="street",
                                 executor=DaskExecutor(client=client))  # fmt: skip
    return root, files, summary


def test_shares_cover_the_43_forces_and_the_national_total() -> None:
    shares = force_shares(SHARED, 500_000)
    assert len(shares) == 43 and sum(shares.values()) == 500_000
    assert set(shares) == set(force_areas(SHARED))
    assert shares["Metropolitan Police"] == max(shares.values())
    assert 600 < shares["London, City of"] < 800  # its real monthly mean, not its residents


def test_replica_files_look_like_the_real_ones(replica: Any) -> None:
    out, made = replica
    real = SHARED / "police_uk" / "city_of_london_street" / "2019-01-city-of-london-street.csv.gz"
    with gzip.open(real, "rt", encoding="utf-8") as fh:
        real_header = fh.readline().strip()
    path = out / "2023-03" / "2023-03-cleveland-street.csv"
    assert path.read_text(encoding="utf-8").splitlines()[0] == real_header
    frame = pd.read_csv(path)
    assert set(frame["Month"]) == {"2023-03"}
    assert (frame["Crime ID"].isna() == (frame["Crime type"] == "Anti-social behaviour")).all()
    shares = force_shares(SHARED, NATIONAL)
    by_force = {m["force"]: sum(m["rows"].values()) / 8 for m in made}
    for force in FORCES:  # the monthly mean is near the force's share (cluster noise aside)
        assert by_force[force] == pytest.approx(shares[force], rel=0.25)


def test_replica_points_are_inside_the_force_and_cluster(replica: Any) -> None:
    out, _ = replica
    frame = pd.concat(pd.read_csv(p) for p in sorted(out.glob("*/*-cleveland-street.csv")))
    x, y = Transformer.from_crs(4326, 27700, always_xy=True).transform(
        frame["Longitude"].to_numpy(), frame["Latitude"].to_numpy()
    )
    area = force_areas(SHARED)["Cleveland"]
    inside = shapely.contains_xy(shapely.buffer(area, 1.0), x, y)
    assert inside.all()
    # Self-excitation (a Knox comparison): pairs close in space are close in time far more
    # often than pairs at large.
    pick = np.random.default_rng(0).choice(len(frame), size=min(3000, len(frame)), replace=False)
    pts = np.column_stack([x, y])[pick]
    month = pd.to_datetime(frame["Month"].to_numpy()[pick]).month.to_numpy()
    upper = np.triu_indices(len(pts), 1)
    d = np.hypot(*(pts[:, None, :] - pts[None, :, :]).transpose(2, 0, 1))[upper]
    near_in_time = (np.abs(month[:, None] - month[None, :]) <= 1)[upper]
    assert near_in_time[d < 200].mean() > 1.3 * near_in_time.mean()


def test_parallel_ingest_accounts_for_every_row(store: Any, replica: Any) -> None:
    root, files, summary = store
    _, made = replica
    generated = sum(sum(m["rows"].values()) for m in made)
    assert len(summary.files) == len(files) == 16
    for f in summary.files:
        assert f.status == "ingested" and f.rows_in == f.stored + f.quarantined
    assert summary.rows_in == generated == summary.stored + summary.quarantined
    counts = PartitionedStore(root).counts("street")  # DuckDB over the hive partitions
    assert set(counts["force"]) == {"city-of-london", "cleveland"}
    assert set(counts["month"]) == {f"2023-0{m}" for m in range(1, 9)}
    assert int(counts["n"].sum()) == summary.stored
    for m in made:
        slug = "city-of-london" if m["force"] == "London, City of" else "cleveland"
        mine = counts[counts["force"] == slug].set_index("month")["n"]
        assert int(mine.sum()) <= sum(m["rows"].values())


def test_ingest_again_is_idempotent_and_reads_each_file_once(store: Any, client: Any) -> None:
    root, files, _ = store
    before = PartitionedStore(root).counts("street")
    again = ingest_partitioned([*files, files[0]], root=root, dataset="street",
                               executor=DaskExecutor(client=client))  # fmt: skip
    assert len(again.files) == len(files)  # the repeated path became one task
    assert all(f.status == "skipped" and f.rows_in == 0 for f in again.files)
    pd.testing.assert_frame_equal(before, PartitionedStore(root).counts("street"))
    ids = PartitionedStore(root).query("SELECT count(*) n, count(DISTINCT event_id) d FROM events")
    assert int(ids["n"][0]) == int(ids["d"][0])


def _methods() -> dict[str, Any]:
    return {
        name: make_forecaster(name, horizon_days=30.4)
        for name in ("naive", "kde", "prospective", "naive-365", "naive-all")
    }


def test_national_backtest_on_dask_reading_by_path_is_identical_to_serial(
    store: Any, client: Any
) -> None:
    root, _, _ = store
    splitter = RollingOrigin(horizon=parse_period("1M"), n_origins=3)
    areas = force_areas(SHARED)
    slug_areas = {"cleveland": areas["Cleveland"], "city-of-london": areas["London, City of"]}
    ex = DaskExecutor(client=client)
    runs = national_backtest(
        root, "street", forces=["cleveland", "city-of-london"], methods=_methods,
        splitter=splitter, executor=ex, areas=slug_areas, concurrent_forces=2,
    )  # fmt: skip
    assert ex.total().tasks == 6 and ex.total().errors == []
    for run in runs:
        events = PartitionedStore(root).events("street", force=run.force)
        support = Grid.clipped_to(slug_areas[run.force], cell_size=500.0, crs=events.crs)
        serial = run_backtest(
            events, support, _methods(), splitter, executor=SerialExecutor(), protocol="mask",
            meta={"dataset": "street", "force": run.force},
        )  # fmt: skip
        assert run.records == len(events)
        pd.testing.assert_frame_equal(serial.rows, run.result.rows)
        pd.testing.assert_frame_equal(serial.reliability, run.result.reliability)
        assert serial.meta == run.result.meta
