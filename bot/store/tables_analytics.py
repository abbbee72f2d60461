"""Analysts' decisions that must outlive a run: quality-control overrides (issue E).

Quality flags themselves are recomputed from the responses on every run (rules can change); only
the analyst's "include anyway" / "exclude anyway" is stored, with the reason, who and when.
"""
from __future__ import annotations

from sqlalchemy import Column, DateTime, ForeignKey, String, Table, Text

from .tables import metadata

qc_overrides = Table(
    "qc_overrides", metadata,
    Column("response_id", String(32), ForeignKey("responses.id"), primary_key=True),
    # include | exclude
    Column("decision", String(8), nullable=False),
    Column("reason", Text, nullable=False),
    Column("decided_by", String(80)),
    Column("decided_at", DateTime(timezone=True), nullable=False),
)
