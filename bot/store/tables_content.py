"""Content officials publish (issue D): who owns a survey and when it is open, the flow files as
uploaded, consultations on draft policies with the opinions sent through the public form, and
the reform documents database. Files themselves live on disk, content-addressed (bot/content/files.py)."""
from __future__ import annotations

from sqlalchemy import (Boolean, Column, DateTime, ForeignKey, Index, Integer, PrimaryKeyConstraint, String, Table,
                        Text)

from .tables import metadata

# One row per flow id (not per version): ownership and the open/close dates are properties of the
# survey, and survive new versions. No row: a national flow, open as its YAML settings say.
flow_meta = Table(
    "flow_meta", metadata,
    Column("flow_id", String(40), primary_key=True),
    # None: national (managed by the ministry's system administrators)
    Column("owner_unit", String(40)),
    Column("opens_at", DateTime(timezone=True)),
    Column("closes_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_flow_meta_owner_unit", "owner_unit"),
)

# The YAML exactly as uploaded (comments and layout), so an official edits what they wrote; the
# flows table keeps the parsed source the engine runs.
flow_files = Table(
    "flow_files", metadata,
    Column("flow_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("uploaded_by", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("flow_id", "version"),
)

consultations = Table(
    "consultations", metadata,
    Column("id", String(32), primary_key=True),
    Column("unit_code", String(40)),
    Column("title", String(300), nullable=False),
    Column("summary", Text, nullable=False),
    # a link to the draft on the unit's own site, and/or an uploaded file (sha256 of its content)
    Column("document_url", String(500)),
    Column("document_sha256", String(64)),
    Column("document_type", String(8)),
    Column("document_name", String(200)),
    Column("opens_at", DateTime(timezone=True), nullable=False),
    Column("closes_at", DateTime(timezone=True), nullable=False),
    Column("published", Boolean, nullable=False, default=False),
    Column("created_by", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_consultations_unit_code", "unit_code"),
)

# Opinions sent through the public web form; opinions given in chat are the consultation flow's
# responses (context draft = the consultation's id) and are counted from there.
consultation_opinions = Table(
    "consultation_opinions", metadata,
    Column("id", String(32), primary_key=True),
    Column("consultation_id", String(32), ForeignKey("consultations.id"), nullable=False),
    # a choice id of the consultation flow's "position" question
    Column("position", String(20), nullable=False),
    Column("comments", Text),
    Column("publish_consent", Boolean),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_consultation_opinions_consultation_id", "consultation_id"),
)

# The reform documents database: each unit's documents, reports and results.
documents = Table(
    "documents", metadata,
    Column("id", String(32), primary_key=True),
    Column("unit_code", String(40), nullable=False),
    Column("year", Integer, nullable=False),
    # document | report | result | plan
    Column("kind", String(20), nullable=False),
    Column("title", String(300), nullable=False),
    # folded title, unit name, kind and year: the text a diacritics-insensitive search matches
    Column("search_text", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("size", Integer, nullable=False),
    # pdf | docx | xlsx, recognised from the file's first bytes
    Column("file_type", String(8), nullable=False),
    Column("download_name", String(200), nullable=False),
    Column("uploaded_by", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_documents_unit_code_year", "unit_code", "year"),
)
