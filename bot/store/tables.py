"""The database schema (SQLAlchemy Core). Alembic migrations in ``migrations/`` create it."""
from __future__ import annotations

from sqlalchemy import (JSON, BigInteger, Boolean, Column, DateTime, ForeignKey, Index, Integer, MetaData,
                        PrimaryKeyConstraint, String, Table, Text, UniqueConstraint)

metadata = MetaData(naming_convention={
    "ix": "ix_%(column_0_label)s", "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s", "pk": "pk_%(table_name)s",
})

flows = Table(
    "flows", metadata,
    Column("flow_id", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("title", String(200), nullable=False),
    Column("source", JSON, nullable=False),
    Column("checksum", String(64), nullable=False),
    Column("published", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("flow_id", "version"),
)

# A respondent is a pseudonym. key_hash is an HMAC of channel + platform user id, so the
# platform id itself is not stored here.
respondents = Table(
    "respondents", metadata,
    Column("id", String(32), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("key_hash", String(64), nullable=False),
    Column("last_seq", Integer, nullable=False, default=0),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("channel", "key_hash", name="uq_respondents_channel_key"),
)

responses = Table(
    "responses", metadata,
    Column("id", String(32), primary_key=True),
    Column("flow_id", String(40), nullable=False),
    Column("flow_version", Integer, nullable=False),
    Column("respondent_id", String(32), ForeignKey("respondents.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("unit_code", String(40)),
    Column("invitation_code", String(32)),
    # started | partial | completed | refused | expired
    Column("disposition", String(12), nullable=False),
    Column("state", JSON, nullable=False),
    Column("context", JSON),
    Column("preview", Boolean, nullable=False, default=False),
    Column("started_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("completed_at", DateTime(timezone=True)),
    Index("ix_responses_respondent_disposition", "respondent_id", "disposition"),
    Index("ix_responses_flow_disposition", "flow_id", "disposition"),
)

answers = Table(
    "answers", metadata,
    Column("response_id", String(32), ForeignKey("responses.id"), nullable=False),
    Column("key", String(64), nullable=False),
    Column("value", JSON),
    Column("answered_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("response_id", "key"),
)

# What the bot says, written in the same transaction as what it learned (transactional outbox).
outbox = Table(
    "outbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("respondent_id", String(32), ForeignKey("respondents.id"), nullable=False),
    Column("seq", Integer, nullable=False),
    Column("channel", String(20), nullable=False),
    Column("payload", JSON, nullable=False),
    # pending | sent | failed | window_closed
    Column("status", String(16), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("sent_at", DateTime(timezone=True)),
    UniqueConstraint("respondent_id", "seq", name="uq_outbox_respondent_seq"),
    Index("ix_outbox_status", "status"),
)

# Inbound messages already handled, keyed by platform message id or web client id: a redelivery
# returns the reply stored here instead of being processed again.
processed = Table(
    "processed_messages", metadata,
    Column("respondent_id", String(32), nullable=False),
    Column("message_key", String(160), nullable=False),
    Column("first_seq", Integer, nullable=False),
    Column("last_seq", Integer, nullable=False),
    Column("flow_state", JSON),
    Column("created_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("respondent_id", "message_key"),
)

invitations = Table(
    "invitations", metadata,
    Column("code", String(32), primary_key=True),
    Column("flow_id", String(40), nullable=False),
    Column("unit_code", String(40)),
    Column("context", JSON),
    Column("response_id", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True)),
)
