"""The public transparency page shows who publishes, the unset-organisation warning and the
licence, from the report's JSON (escaped like every other value)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from patrolcast.config import Organisation
from patrolcast.oversight.transparency import OGL_ATTRIBUTION, build_report, write_json
from patrolcast.web.public import transparency_page


def test_organisation_warning_and_licence_on_the_public_page(tmp_path: Path) -> None:
    when = datetime(2025, 7, 1, 9, tzinfo=UTC)
    unset = build_report([], "2025-05", generated_at=when, organisation=Organisation())
    write_json(unset, tmp_path / "transparency-2025-05.json")
    page = transparency_page(tmp_path, "2025-05")
    assert "role='alert'" in page and "not configured" in page
    assert OGL_ATTRIBUTION.split(" (")[0] in page
    named = build_report([], "2025-06", generated_at=when,
                         organisation=Organisation(name="Example <Constabulary>"))
    write_json(named, tmp_path / "transparency-2025-06.json")
    page = transparency_page(tmp_path, "2025-06")
    assert "by Example &lt;Constabulary&gt;" in page
    assert "role='alert'" not in page
