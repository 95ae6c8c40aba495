"""ORM rows of the oversight domain, in the governance database (same metadata and Alembic
history; the migration lives in ``oversight/migrations/versions``).

``intelligence_items``
    Graded place-and-time claims. No column can hold a person: the place is a circle, cells or a
    polygon in a metric CRS; the owner is a desk or role; the summary is checked for personal
    data before it is stored. ``retain_until`` is mandatory: expired rows are purged
    automatically (:mod:`patrolcast.oversight.intel_store`), each purge audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from patrolcast.governance.db import JSONText, UTCDateTime
from patrolcast.governance.models import Base

__all__ = ["IntelligenceItemRow"]


class IntelligenceItemRow(Base):
    __tablename__ = "intelligence_items"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    place: Mapped[Any] = mapped_column(JSONText)
    place_crs: Mapped[str] = mapped_column(String(32))
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    source_evaluation: Mapped[str] = mapped_column(String(1))
    assessment: Mapped[str] = mapped_column(String(1))
    handling: Mapped[str] = mapped_column(String(1))
    owner: Mapped[str] = mapped_column(String(120))
    summary: Mapped[str] = mapped_column(Text)
    retain_until: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    recorded_at: Mapped[datetime] = mapped_column(UTCDateTime)
    recorded_by: Mapped[str] = mapped_column(String(64))
