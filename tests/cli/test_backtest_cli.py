"""``patrolcast backtest`` and ``report backtest``: --json output, files, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from patrolcast.cli.main import app
from patrolcast.io import Store
from tests.cli.synthetic_store import synthetic_store

runner = CliRunner()


@pytest.fixture()
def store(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Store:
    """A real store with the synthetic dataset ``synth`` (see tests/cli/synthetic_store.py)."""
    monkeypatch.setenv("PATROLCAST_HOME", str(tmp_path / "home"))  # the real --home path
    return synthetic_store(tmp_path / "home")


def _backtest(tmp_path: Path, *extra: str) -> tuple[int, str]:
    result = runner.invoke(
        app,
        ["backtest", "--dataset", "synth", "--horizon", "7d", "--origins", "4",
         "--executor", "serial", "--n-boot", "200", "--out", str(tmp_path),
         "--study-area", "hull", "--no-select", *extra],
    )
    return result.exit_code, result.stdout


def test_backtest_json(tmp_path: Path, store: Store) -> None:
    code, out = _backtest(tmp_path, "--json")
    assert code == 0, out
    payload = json.loads(out)
    # the baselines a reviewer asks for are always there
    assert set(payload["methods"]) == {"naive", "kde", "prospective", "naive-365", "naive-all"}
    assert payload["meta"]["protocol"] == "mask"
    assert payload["meta"]["warnings"]  # the hull was asked for: said in the output
    assert "recommended" in payload["recommendation"]["methods"]["kde"]
    for method in payload["methods"].values():
        for metric in ("hit_rate", "pai"):
            assert set(method[metric]) == {"0.01", "0.05", "0.1", "0.2"}
            for cell in method[metric].values():
                assert cell["ci_low"] <= cell["mean"] <= cell["ci_high"]
    assert payload["meta"]["n_origins"] == 4
    # Synthetic hotspots hold 80% of events in 2 of 64 cells: a real method finds them.
    assert payload["methods"]["kde"]["hit_rate"]["0.1"]["mean"] > 0.6
    files = payload["files"]
    assert Path(files["json"]).exists() and Path(files["png"]).exists()


def test_report_backtest_round_trip(tmp_path: Path, store: Store) -> None:
    code, out = _backtest(tmp_path, "--json")
    saved = json.loads(out)["files"]["json"]
    result = runner.invoke(app, ["report", "backtest", saved, "--json", "--n-boot", "200",
                                 "--out", str(tmp_path / "again")])
    assert result.exit_code == 0, result.stdout
    again = json.loads(result.stdout)
    assert again["methods"]["kde"]["pai"] == json.loads(out)["methods"]["kde"]["pai"]
    assert Path(again["files"]["png"]).exists()
    table = runner.invoke(app, ["report", "backtest", saved, "--n-boot", "200"])
    assert table.exit_code == 0 and "PEI*" in table.stdout


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--methods", "naive,oracle"], "unknown method"),
        (["--horizon", "7y"], "horizon"),
        (["--executor", "cluster"], "unknown executor"),
        (["--origins", "400"], "not enough history"),
        (["--level", "county"], "unknown level"),
    ],
)
def test_bad_input_is_one_clear_error(
    tmp_path: Path, store: Store, args: list[str], message: str
) -> None:
    from patrolcast.errors import InputError

    result = runner.invoke(
        app, ["backtest", "--dataset", "synth", "--executor", "serial", "--out", str(tmp_path),
              "--study-area", "hull", *args],
    )
    assert result.exit_code != 0
    assert isinstance(result.exception, InputError)
    assert message in str(result.exception)


def test_unknown_dataset(tmp_path: Path, store: Store) -> None:
    result = runner.invoke(app, ["backtest", "--dataset", "nope", "--out", str(tmp_path)])
    assert "no dataset 'nope'" in str(result.exception)


def test_a_missing_home_is_refused_not_created(tmp_path: Path) -> None:
    absent = tmp_path / "elsewhere"
    result = runner.invoke(app, ["backtest", "-d", "synth", "--home", str(absent),
                                 "--out", str(tmp_path / "out")])
    assert result.exit_code != 0
    assert f"no data home at {absent}" in str(result.exception)
    assert not absent.exists()
