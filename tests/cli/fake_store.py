"""Kept only for tests/evaluate/test_forecast_job.py (not owned by the CLI tests): ``FakeStore``
is now a real :class:`patrolcast.io.store.Store` on a temporary folder, filled through the real
ingest path (see tests/cli/synthetic_store.py). New tests use ``synthetic_store(tmp_path)``."""

from __future__ import annotations

from tests.cli.synthetic_store import temporary_synthetic_store as FakeStore  # noqa: N812

__all__ = ["FakeStore"]
