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
    # platform channels: when to try again, and how many pieces of a split message already went out
    Column("next_attempt_at", DateTime(timezone=True)),
    Column("parts_sent", Integer, nullable=False, default=0, server_default="0"),
    Column("platform_message_id", String(100)),
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

# Platform webhook events, recorded before the platform gets its 200 and processed after; the
# payload (which holds the platform user id) is cleared once handled.
inbox = Table(
    "inbox", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("channel", String(20), nullable=False),
    Column("message_key", String(160), nullable=False),
    Column("payload", JSON),
    # pending | done | failed
    Column("status", String(12), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("done_at", DateTime(timezone=True)),
    # hash of (channel, platform user): the sender's pending events, in id order, are handled one
    # after another whichever process received them (bot/inbox.py); cleared with the payload
    Column("sender_key", String(32)),
    UniqueConstraint("channel", "message_key", name="uq_inbox_channel_key"),
    Index("ix_inbox_status", "status"),
    Index("ix_inbox_sender", "sender_key", "id"),
)

# Where to reach a platform respondent: the only place their platform id is kept, apart from answers.
contacts = Table(
    "contacts", metadata,
    Column("respondent_id", String(32), ForeignKey("respondents.id"), primary_key=True),
    Column("channel", String(20), nullable=False),
    Column("address", String(100), nullable=False),
    Column("last_inbound_at", DateTime(timezone=True)),
    # Zalo: the user's last message id, which a free reply must quote
    Column("reply_token", String(100)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Platform credentials that rotate (Zalo's single-use refresh token), replaced atomically.
channel_tokens = Table(
    "channel_tokens", metadata,
    Column("channel", String(20), primary_key=True),
    Column("access_token", Text, nullable=False),
    Column("refresh_token", Text, nullable=False),
    Column("expires_at", DateTime(timezone=True)),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# Questions the bot could not answer, forwarded to the competent officials (issue D answers them).
qa_tickets = Table(
    "qa_tickets", metadata,
    Column("id", String(32), primary_key=True),
    Column("respondent_id", String(32), ForeignKey("respondents.id"), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("message_key", String(160)),
    Column("text", Text, nullable=False),
    Column("unit_code", String(40)),
    Column("topic", String(80)),
    # the closest official answers when the question was asked, for the official's convenience
    Column("candidates", JSON),
    # open | assigned | answered | published | closed
    Column("status", String(12), nullable=False),
    Column("answer", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("answered_at", DateTime(timezone=True)),
    # the admin API's user who took the question, and who answered it
    Column("assigned_to", String(32)),
    Column("answered_by", String(32)),
    Index("ix_qa_tickets_status_unit", "status", "unit_code"),
)

# The official Q&A the bot answers from (issue C), imported with `hailong kb import` and kept as
# written: the matching happens in bot/nlu/, never by rewriting what officials wrote.
kb_entries = Table(
    "kb_entries", metadata,
    Column("id", String(100), primary_key=True),
    Column("question", Text, nullable=False),
    Column("answer", Text, nullable=False),
    Column("topic", String(80)),
    Column("unit_code", String(40)),
    Column("source", Text),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("ix_kb_entries_topic", "topic"),
)

# Officials, unit administrators and analysts (the admin API); passwords hashed with scrypt.
admin_users = Table(
    "admin_users", metadata,
    Column("id", String(32), primary_key=True),
    Column("username", String(80), nullable=False, unique=True),
    Column("password_hash", String(200), nullable=False),
    # system_admin | unit_admin | official | analyst
    Column("role", String(20), nullable=False),
    Column("unit_code", String(40)),
    Column("disabled", Boolean, nullable=False, default=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Login sessions and long-lived API tokens, stored as SHA-256 of the token.
admin_tokens = Table(
    "admin_tokens", metadata,
    Column("token_hash", String(64), primary_key=True),
    Column("user_id", String(32), ForeignKey("admin_users.id"), nullable=False),
    # session | api
    Column("kind", String(10), nullable=False),
    Column("name", String(120)),
    Column("expires_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

# Every change made through the admin API: who, what, on which object, in which unit.
audit_log = Table(
    "audit_log", metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("user_id", String(32)),
    Column("action", String(60), nullable=False),
    Column("object_type", String(40)),
    Column("object_id", String(80)),
    Column("unit_code", String(40)),
    Column("details", JSON),
    Index("ix_audit_log_at", "at"),
)
from . import tables_analytics  # noqa: E402,F401
from . import tables_content  # noqa: E402,F401
from . import tables_campaigns  # noqa: E402,F401
