"""``patrolcast forecast`` on a real store: file names that encode the run, no silent
overwrite, ``--bandwidth``/``--lookback`` reaching the method and the snapshot, software
versions, the offence-group filter, every output readable by GDAL."""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path

import pyogrio
import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.io import Store
from tests.cli.synthetic_store import DECOY_CELL, X0, Y0, synthetic_store, use_store
from tests.io.test_writers_metadata import NUMERIC, field_types, ogrinfo

runner = CliRunner()
BASE = ["forecast", "--dataset", "synth", "--start", "2022-06-01", "--horizon", "7d",
        "--study-area", "hull", "--json", "--quiet", "--no-pack"]


@pytest.fixture(scope="module")
def shared_store(tmp_path_factory: pytest.TempPathFactory) -> Store:
    return synthetic_store(tmp_path_factory.mktemp("home"))


@pytest.fixture()
def store(shared_store: Store, monkeypatch: pytest.MonkeyPatch) -> Store:
    return use_store(monkeypatch, shared_store)


def _run(out: Path, *args: str) -> tuple[int, str]:
    """Exit code and stdout, or the error ``patrolcast`` prints as its one line."""
    result = runner.invoke(app, [*BASE, "--out", str(out), *args])
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        return 1, str(result.exception)
    return result.exit_code, result.stdout


def test_names_encode_dataset_method_level_cell_horizon_and_start(
    tmp_path: Path, store: Store
) -> None:
    code, out = _run(tmp_path, "--method", "kde", "--cell-size", "250")
    assert code == 0, out
    files = {k: Path(v).name for k, v in json.loads(out)["files"].items()}
    assert files["gpkg"] == "synth_kde_grid250m_7d_2022-06-01.gpkg"
    assert files["geojson"] == "synth_kde_grid250m_7d_2022-06-01.geojson"
    assert files["snapshot"] == "synth_kde_grid250m_7d_2022-06-01.snapshot.json"
    code, out = _run(tmp_path, "--method", "kde", "--cell-size", "100", "--horizon", "1d")
    assert code == 0, out
    assert Path(json.loads(out)["files"]["gpkg"]).name == "synth_kde_grid100m_1d_2022-06-01.gpkg"


def test_existing_outputs_are_refused_without_force(tmp_path: Path, store: Store) -> None:
    code, out = _run(tmp_path, "--method", "naive")
    assert code == 0, out
    gpkg = Path(json.loads(out)["files"]["gpkg"])
    before = gpkg.stat().st_mtime_ns
    code, out = _run(tmp_path, "--method", "naive")
    assert code != 0
    assert "\n" not in out and "exists: pass --force to overwrite it" in out
    assert "synth_naive_grid250m_7d_2022-06-01" in out
    assert gpkg.stat().st_mtime_ns == before
    code, out = _run(tmp_path, "--method", "naive", "--force")
    assert code == 0, out


def test_bandwidth_and_lookback_reach_the_method_and_the_snapshot(
    tmp_path: Path, store: Store
) -> None:
    code, out = _run(tmp_path / "default", "--method", "kde")
    assert code == 0, out
    default = json.loads(out)["snapshot"]
    assert default["params"]["bandwidth"] == 300.0 and default["set_by_user"] == {}
    code, out = _run(tmp_path / "set", "--method", "kde", "--bandwidth", "600",
                     "--lookback", "12w")
    assert code == 0, out
    payload = json.loads(out)
    snap = payload["snapshot"]
    assert snap["params"]["bandwidth"] == 600.0
    assert snap["params"]["lookback_days"] == 84.0
    assert snap["history_used_days"] == 84.0
    assert snap["set_by_user"] == {"bandwidth_m": 600.0, "lookback": "12w"}
    assert snap["digest"] != default["digest"]
    on_disk = json.loads(Path(payload["files"]["snapshot"]).read_text())
    assert on_disk["params"]["bandwidth"] == 600.0
    meta = pyogrio.read_info(payload["files"]["gpkg"], layer="forecast")["layer_metadata"]
    assert json.loads(meta["parameters"])["bandwidth"] == 600.0


def test_etas_lookback_is_its_history_and_naive_keeps_its_own(
    tmp_path: Path, store: Store
) -> None:
    code, out = _run(tmp_path, "--method", "naive", "--lookback", "28d")
    assert code == 0, out
    assert json.loads(out)["snapshot"]["history_used_days"] == 28.0
    code, out = _run(tmp_path / "n", "--method", "naive")
    assert code == 0, out
    assert json.loads(out)["snapshot"]["history_used_days"] == 7.0  # one horizon


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--method", "kde", "--bandwidth", "0"], "--bandwidth must be"),
        (["--method", "kde", "--bandwidth", "nan"], "--bandwidth must be"),
        (["--method", "kde", "--bandwidth", "1000000"], "--bandwidth must be"),
        (["--method", "naive", "--bandwidth", "300"], "naive has no bandwidth"),
        (["--method", "boosted", "--lookback", "8w"], "no look-back to set"),
        (["--method", "kde", "--lookback", "eight weeks"], "--lookback"),
        (["--method", "kde", "--lookback", "8h"], "shorter than a day"),
        (["--method", "kde", "--select", "--bandwidth", "300"], "drop --select"),
    ],
)
def test_bad_bandwidth_or_lookback(tmp_path: Path, store: Store, args: list[str],
                                   message: str) -> None:
    code, out = _run(tmp_path, *args)
    assert code != 0
    assert message in out
    assert not list(tmp_path.glob("*")), "nothing written for refused options"


def test_snapshot_records_software_versions(tmp_path: Path, store: Store) -> None:
    code, out = _run(tmp_path, "--method", "naive")
    assert code == 0, out
    software = json.loads(out)["snapshot"]["software"]
    assert set(software) == {"patrolcast", "numpy", "scipy", "pandas", "numba"}
    assert software["numpy"] == version("numpy") and software["pandas"] == version("pandas")


def test_a_lost_offence_filter_would_be_caught(tmp_path: Path, store: Store) -> None:
    """The default groups (violence) leave the burglary decoy cell out; ``--groups
    burglary`` ranks it first. A job that dropped ``groups`` on its way to the store would
    rank the decoy first in both runs (it holds more events than either hot cell)."""
    code, out = _run(tmp_path / "v", "--method", "naive", "--lookback", "365d")
    assert code == 0, out
    top = json.loads(out)["top_units"][0]
    assert (round(top["easting"] - X0), round(top["northing"] - Y0)) != DECOY_CELL
    code, out = _run(tmp_path / "b", "--method", "naive", "--lookback", "365d",
                     "--groups", "burglary")
    assert code == 0, out
    top = json.loads(out)["top_units"][0]
    assert (round(top["easting"] - X0), round(top["northing"] - Y0)) == DECOY_CELL


def test_every_output_opens_in_gdal_with_crs_and_numeric_fields(
    tmp_path: Path, store: Store
) -> None:
    code, out = _run(tmp_path, "--method", "kde")
    assert code == 0, out
    files = {k: Path(v) for k, v in json.loads(out)["files"].items()}
    gpkg = ogrinfo(files["gpkg"], layer="forecast")
    geojson = ogrinfo(files["geojson"])
    table = ogrinfo(files["csv"], "-oo", "X_POSSIBLE_NAMES=easting",
                    "-oo", "Y_POSSIBLE_NAMES=northing")
    for text, epsg in ((gpkg, 27700), (geojson, 4326), (table, 27700)):
        assert f'ID["EPSG",{epsg}]' in text
        types = field_types(text)
        assert types["expected_count"] in NUMERIC and types["rank"] in NUMERIC
        assert types["expected_harm"] in NUMERIC
    assert "window_start=2022-06-01T00:00:00+01:00" in gpkg
    assert "study_area_source=" in gpkg and "study_area_km2=" in gpkg


def test_the_map_is_a_briefing_map_and_the_pack_a_pdf(tmp_path: Path, store: Store) -> None:
    code, out = _run(tmp_path, "--method", "kde", "--pack")
    assert code == 0, out
    files = {k: Path(v) for k, v in json.loads(out)["files"].items()}
    assert files["pdf"].name == "synth_kde_grid250m_7d_2022-06-01.pdf"
    assert files["pdf"].read_bytes()[:5] == b"%PDF-"
    from PIL import Image

    with Image.open(files["png"]) as png:
        width, height = png.size  # the briefing map: A4 landscape at 150 dpi
    assert 1700 < width < 1800 and 1200 < height < 1280
    code, out = _run(tmp_path, "--method", "kde", "--pack")
    assert code != 0 and "exists: pass --force to overwrite it" in out


def test_forecast_options_follow_the_cli_conventions() -> None:
    import typer
    from typer.core import TyperOption

    command = typer.main.get_command(app).commands["forecast"]  # type: ignore[attr-defined]
    for param in command.params:
        assert param.help, param.name
    opts = {o for p in command.params if isinstance(p, TyperOption) for o in p.opts}
    assert {"-d", "--dataset", "--home", "--out", "--quiet", "--json", "--force",
            "--bandwidth", "--lookback"} <= opts
    start = next(p for p in command.params if p.name == "start")
    assert "a time without a zone is" in start.help and "stored in UTC" in start.help
