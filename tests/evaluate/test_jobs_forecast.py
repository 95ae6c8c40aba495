"""The forecast job on month records (data.police.uk): the look-back warning counts the
months the method really uses, and the outputs say what they are (real City of London files)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pyogrio
import pytest

from patrolcast.evaluate.jobs import ForecastSpec, forecast_job
from patrolcast.io import Store, ingest
from tests.conftest import require

MONTHS = ("2018-01", "2018-02", "2018-03")


@pytest.fixture(scope="module")
def city_store(shared_data: Path, tmp_path_factory: pytest.TempPathFactory) -> Store:
    """Three months of City of London street crimes (PROVENANCE.md 1a), ingested for real."""
    folder = tmp_path_factory.mktemp("street")
    for month in MONTHS:
        name = f"{month}-city-of-london-street.csv.gz"
        shutil.copy(require(shared_data / "police_uk" / "city_of_london_street" / name),
                    folder / name)
    store = Store(tmp_path_factory.mktemp("home") / "store")
    ingest(folder, store=store, dataset="city")
    return store


@pytest.mark.realdata
def test_month_records_fill_the_look_back_and_outputs_name_the_month(
    city_store: Store, tmp_path: Path
) -> None:
    spec = ForecastSpec.from_options(dataset="city", method="naive", start="2018-04-01",
                                     horizon="1M", study_area="hull")
    outcome = forecast_job(spec, out_dir=tmp_path, store=city_store)
    march = city_store.events("city", groups=["serious_violence", "violence"],
                              start="2018-03-01T00:00:00+00:00", end="2018-04-01T00:00:00+00:00")
    assert len(march) > 0
    # The naive month forecast is March's count: the look-back holds March, no warning.
    assert outcome.snapshot["events_in_history_used"] == pytest.approx(float(march.count.sum()))
    assert not [w for w in outcome.warnings if "no event in" in w]
    # ... scaled from March's 31 days to April's 30 (inside the hull: every event counts)
    assert outcome.expected_total == pytest.approx(float(march.count.sum()) * 30 / 31)
    assert outcome.paths["gpkg"].name == "city_naive_grid250m_1M_2018-04-01.gpkg"
    meta = pyogrio.read_info(outcome.paths["gpkg"], layer="forecast")["layer_metadata"]
    assert meta["window_start"] == "2018-04-01T00:00:00+00:00"
    assert meta["window_end"] == "2018-05-01T00:00:00+00:00"
    assert meta["horizon"] == "1M" and meta["level"] == "grid" and meta["cell_size_m"] == "250"
    doc = json.loads(outcome.paths["geojson"].read_text(encoding="utf-8"))
    assert doc["metadata"]["study_area"]["km2"] == outcome.study_area["km2"] > 0


def test_output_names_have_no_dot_before_the_extension() -> None:
    """The web map finds a forecast's files by the name before the first dot."""
    from patrolcast.evaluate.jobs import output_stem

    spec = ForecastSpec.from_options(dataset="city of london", method="naive",
                                     start="2022-06-01T18:00", horizon="8h", cell_size=62.5)
    stem = output_stem(spec, "2022-06-01T18:00:00+01:00")
    assert stem == "city_of_london_naive_grid62p5m_8h_2022-06-01T1800"
    lsoa = ForecastSpec.from_options(dataset="london-lsoa", method="naive", start=None,
                                     horizon="1M", level="lsoa")
    assert output_stem(lsoa, "2025-09-01T00:00:00+01:00") == "london-lsoa_naive_lsoa_1M_2025-09-01"


def test_the_job_reports_its_stages_in_order(tmp_path: Path) -> None:
    from tests.cli.synthetic_store import synthetic_store

    stages: list[str] = []
    spec = ForecastSpec.from_options(dataset="synth", method="kde", start="2022-06-01",
                                     horizon="7d", study_area="hull", pack=False)
    forecast_job(spec, out_dir=tmp_path / "out", store=synthetic_store(tmp_path / "home"),
                 on_stage=stages.append)
    assert stages == ["reading", "fitting", "predicting", "writing"]
