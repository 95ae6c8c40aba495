"""The transparency report fit to publish: the organisation from the settings (or a visible
warning), the licence in every file, integer counts with separate flags that GDAL reads as
integers, month dates spreadsheets leave alone, a readable terminal summary."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
import shapely

from patrolcast.config import Organisation
from patrolcast.geo.support import AreaSupport
from patrolcast.oversight.atrs import algorithm_record
from patrolcast.oversight.scenario import SCENARIO_BOROUGHS, seeded_month
from patrolcast.oversight.transparency import (
    BOUNDARY_ATTRIBUTION,
    OGL_ATTRIBUTION,
    DeploymentRecord,
    TransparencyReport,
    build_report,
    month_start,
    period_text,
    summary_lines,
    write_csv,
    write_geojson,
    write_html,
    write_json,
)
from tests.io.test_writers_metadata import field_types, ogrinfo

MONTH = "2025-06"
FORCE = Organisation(
    name="Example Constabulary", team="Violence Reduction Unit",
    contact="transparency@example.police.uk", senior_responsible_owner="ACC Operations",
    website="https://www.example.police.uk", public_marking="OFFICIAL",
)


@pytest.fixture(scope="module")
def scenario() -> tuple[list[DeploymentRecord], datetime]:
    return seeded_month(MONTH)


def _report(scenario: tuple[list[DeploymentRecord], datetime],
            org: Organisation | None) -> TransparencyReport:
    records, when = scenario
    return build_report(records, MONTH, generated_at=when, borough_names=SCENARIO_BOROUGHS,
                        organisation=org, atrs=algorithm_record(organisation=org))


def _boroughs() -> AreaSupport:
    """One 1 km square per scenario borough, side by side (British National Grid)."""
    codes = list(SCENARIO_BOROUGHS)
    squares = tuple(shapely.box(530_000 + 1000 * k, 180_000, 531_000 + 1000 * k, 181_000)
                    for k in range(len(codes)))
    return AreaSupport(tuple(codes), tuple(SCENARIO_BOROUGHS[c] for c in codes), squares,
                       "EPSG:27700")


def _files(report: TransparencyReport, folder: Path) -> dict[str, Path]:
    return {
        "html": write_html(report, folder / "t.html"),
        "csv": write_csv(report, folder / "t.csv"),
        "geojson": write_geojson(report, folder / "t.geojson", _boroughs()),
        "json": write_json(report, folder / "t.json"),
    }


def test_the_settings_organisation_fills_the_atrs_fields(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    settings = tmp_path / "patrolcast.toml"
    settings.write_text(
        "[organisation]\n"
        'name = "Example Constabulary"\nteam = "Violence Reduction Unit"\n'
        'contact = "transparency@example.police.uk"\n'
        'senior_responsible_owner = "ACC Operations"\npublic_marking = "OFFICIAL"\n',
        encoding="utf-8",
    )
    monkeypatch.setenv("PATROLCAST_CONFIG", str(settings))
    atrs = algorithm_record()  # as the CLI calls it: the settings in force
    assert atrs["Tier 1: Summary"]["Organisation"] == "Example Constabulary"
    assert atrs["Tier 1: Summary"]["Contact"] == "transparency@example.police.uk"
    owner = atrs["Tier 2.1: Owner and responsibility"]
    assert owner["Organisation and team"] == "Example Constabulary, Violence Reduction Unit"
    assert owner["Senior responsible owner"] == "ACC Operations"
    records, when = scenario
    report = build_report(records, MONTH, generated_at=when, atrs=atrs)
    assert report.warnings == [] and report.organisation == "Example Constabulary"
    page = write_html(report, tmp_path / "t.html").read_text(encoding="utf-8")
    assert "set in configuration" not in page and "set [organisation]" not in page
    assert 'role="alert"' not in page
    assert "Example Constabulary" in page


def test_an_unset_organisation_is_a_visible_warning(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
) -> None:
    report = _report(scenario, Organisation())
    (warning,) = report.warnings
    assert "not configured" in warning and "[organisation]" in warning
    page = write_html(report, tmp_path / "t.html").read_text(encoding="utf-8")
    alert = re.search(r'<p class="warning" role="alert">(.*?)</p>', page)
    assert alert is not None and "not configured" in alert.group(1)
    assert page.index('role="alert"') < page.index("<h2>Headline")  # at the top
    assert summary_lines(report)[0].startswith("WARNING: The deploying organisation")
    assert json.loads(write_json(report, tmp_path / "t.json").read_text())["warnings"] == [
        warning]


def test_every_public_file_carries_the_licence(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
) -> None:
    files = _files(_report(scenario, FORCE), tmp_path)
    assert "Open Government Licence v3.0" in files["html"].read_text(encoding="utf-8")
    for kind in ("csv", "geojson", "json"):
        assert OGL_ATTRIBUTION in files[kind].read_text(encoding="utf-8"), kind
    doc = json.loads(files["geojson"].read_text(encoding="utf-8"))
    assert doc["licence"] == OGL_ATTRIBUTION
    assert doc["attribution"] == BOUNDARY_ATTRIBUTION  # the boundaries are OS/ONS data
    assert doc["metadata"]["organisation"] == "Example Constabulary"


def test_counts_are_integers_with_separate_flags_in_gdal(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
) -> None:
    report = _report(scenario, FORCE)
    files = _files(report, tmp_path)
    types = field_types(ogrinfo(files["geojson"]))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in types), types
    for key in ("pending", "refused", "active", "cancelled", "expired", "total"):
        assert types[key] == "Integer", (key, types[key])
        assert types[f"{key}_flag"] == "String"
    assert types["month_start"] in ("Date", "String")
    table = field_types(ogrinfo(files["csv"], "-oo", "AUTODETECT_TYPE=YES"))
    assert all(re.fullmatch(r"[a-z][a-z0-9_]*", name) for name in table), table
    assert table["count"] == "Integer" and table["month_start"] == "Date"
    # measures (hours, km2) are withheld this month: a month that publishes them has them Real
    records, when = scenario
    ran = [replace(r, outcome="expired", authorised_hours=r.authorised_hours or 4.0)
           for r in records]
    busy = build_report(ran, MONTH, generated_at=when, organisation=FORCE)
    assert isinstance(busy.headline["authorised_hours_median"], float)
    busy_types = field_types(ogrinfo(write_csv(busy, tmp_path / "busy.csv"),
                                     "-oo", "AUTODETECT_TYPE=YES"))
    assert busy_types["value"] == "Real" and busy_types["count"] == "Integer"
    # the flags say what the old mixed column said, and the counts are the shown ones
    rows = list(csv.DictReader(files["csv"].open(encoding="utf-8", newline="")))
    flags = {r["count_flag"] for r in rows}
    assert {"suppressed (<3)", "[c]"} <= flags
    for r in rows:
        if r["count_flag"]:
            assert r["count"] == ""
    shown = report.tables["by_borough"].display
    features = json.loads(files["geojson"].read_text(encoding="utf-8"))["features"]
    for f in features:
        p = f["properties"]
        value = shown.loc[p["name"], "refused"] if p["name"] in shown.index else 0
        if isinstance(value, str):
            assert p["refused"] is None and p["refused_flag"] in ("suppressed (<3)", "[c]")
        else:
            assert (p["refused"], p["refused_flag"]) == (value, "")


def test_months_are_iso_dates_and_plain_text() -> None:
    assert month_start("2025-06") == "2025-06-01"
    assert month_start("2024-12") == "2024-12-01"
    assert period_text("2025-06") == "June 2025 (Europe/London)"


def test_months_in_every_file(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
) -> None:
    files = _files(_report(scenario, FORCE), tmp_path)
    rows = list(csv.DictReader(files["csv"].open(encoding="utf-8", newline="")))
    assert {r["month_start"] for r in rows} == {"2025-06-01"}
    assert {r["period"] for r in rows} == {"June 2025 (Europe/London)"}
    doc = json.loads(files["json"].read_text(encoding="utf-8"))
    assert (doc["month_start"], doc["period"]) == ("2025-06-01", "June 2025 (Europe/London)")
    assert not re.search(r"(?<![\d-])2025-06(?![-\d])", files["csv"].read_text())


def test_terminal_summary_is_readable_lines(
    scenario: tuple[list[DeploymentRecord], datetime],
) -> None:
    report = _report(scenario, FORCE)
    lines = summary_lines(report)
    text = "\n".join(lines)
    assert lines[0] == "Transparency report for June 2025 (Europe/London), Example Constabulary " \
                       "(OFFICIAL)"
    records, _ = scenario
    assert f"proposals {len(records)}:" in text
    assert "{" not in text and "'" not in text  # not a Python dict
    for title in report.titles.values():
        assert any(line.startswith(title) for line in lines), title
    assert lines[-1] == OGL_ATTRIBUTION


def test_html_and_pdf_from_the_document_templates(
    scenario: tuple[list[DeploymentRecord], datetime], tmp_path: Path,
) -> None:
    from patrolcast.oversight.transparency import write_pdf

    report = _report(scenario, replace(FORCE, public_marking="OFFICIAL <public>"))
    page = write_html(report, tmp_path / "t.html").read_text(encoding="utf-8")
    assert page.count("OFFICIAL &lt;public&gt;") == 2  # marking top and bottom, escaped
    assert "<style>" in page and "@page" in page  # the shared briefing stylesheet, inlined
    pdf = write_pdf(report, tmp_path / "t.pdf")
    assert pdf.read_bytes()[:5] == b"%PDF-"
    from pypdf import PdfReader

    text = " ".join(p.extract_text() for p in PdfReader(pdf).pages)
    assert "June 2025" in text and "Open Government Licence v3.0" in text
    assert "OFFICIAL <public>" in text
