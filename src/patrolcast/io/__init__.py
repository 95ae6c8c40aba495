"""Readers and the analytical store: every format patrolcast ingests, one public namespace.

>>> from patrolcast.io import ingest, Store  # doctest: +SKIP
>>> summary = ingest("chicago_aggravated_assaults.csv.gz", store="var/store")  # doctest: +SKIP
>>> Store("var/store").events("chicago_aggravated_assaults")  # doctest: +SKIP
"""

from __future__ import annotations

from patrolcast.io._accounting import FileSummary, IngestSummary
from patrolcast.io._ingest import default_dataset_name, detect_kind, discover, ingest
from patrolcast.io._mapping import IncidentMapping, load_mapping, shipped_mapping_names
from patrolcast.io._readers import KINDS
from patrolcast.io.store import DatasetInfo, Store

__all__ = [
    "KINDS",
    "DatasetInfo",
    "FileSummary",
    "IncidentMapping",
    "IngestSummary",
    "Store",
    "default_dataset_name",
    "detect_kind",
    "discover",
    "ingest",
    "load_mapping",
    "shipped_mapping_names",
]
