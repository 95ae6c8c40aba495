"""Column layout of the analytical store's tables."""

from __future__ import annotations

import pyarrow as pa

EVENT_FIELDS: list[pa.Field] = [
    pa.field("event_id", pa.int64()),
    pa.field("time", pa.timestamp("us", tz="UTC")),
    pa.field("x", pa.float64()),
    pa.field("y", pa.float64()),
    pa.field("count", pa.float64()),
    pa.field("harm", pa.float64()),
    pa.field("offence", pa.string()),
    pa.field("offence_group", pa.string()),
    pa.field("mark", pa.int8()),
    pa.field("rows", pa.int32()),
    pa.field("key", pa.string()),
    pa.field("area_code", pa.string()),
    pa.field("area_name", pa.string()),
    pa.field("borough", pa.string()),
    pa.field("file_id", pa.int64()),
    pa.field("line", pa.int64()),
]
EVENT_SCHEMA = pa.schema(EVENT_FIELDS)

# data.police.uk stop and search: place, time, what was searched for and the outcome, plus the
# two ethnicity fields (kept for aggregate disproportionality checks). Gender and age are dropped.
STOP_SEARCH_EXTRA: list[pa.Field] = [
    pa.field("search_type", pa.string()),
    pa.field("policing_operation", pa.string()),
    pa.field("legislation", pa.string()),
    pa.field("object_of_search", pa.string()),
    pa.field("outcome", pa.string()),
    pa.field("outcome_linked", pa.string()),
    pa.field("outer_clothing_removed", pa.string()),
    pa.field("self_defined_ethnicity", pa.string()),
    pa.field("officer_defined_ethnicity", pa.string()),
]
STOP_SEARCH_SCHEMA = pa.schema(EVENT_FIELDS + STOP_SEARCH_EXTRA)

QUARANTINE_SCHEMA = pa.schema(
    [
        pa.field("file_id", pa.int64()),
        pa.field("file", pa.string()),
        pa.field("line", pa.int64()),
        pa.field("reason", pa.string()),
        pa.field("raw", pa.string()),
    ]
)

FILE_SCHEMA = pa.schema(
    [
        pa.field("file_id", pa.int64()),
        pa.field("path", pa.string()),
        pa.field("sha256", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("mapping", pa.string()),
        pa.field("encoding", pa.string()),
        pa.field("delimiter", pa.string()),
        pa.field("rows_in", pa.int64()),
        pa.field("stored", pa.int64()),
        pa.field("events", pa.int64()),
        pa.field("quarantined", pa.int64()),
        pa.field("reasons", pa.string()),
        pa.field("notes", pa.string()),
        pa.field("ingested_at", pa.timestamp("us", tz="UTC")),
    ]
)
