"""Campaigns (issue D): a flow sent to a list of people of some units, with reminders.

Contact details of invitees are personal data: kept here only as long as the campaign needs
them (the unit sends links to people without a chat account), sealed at rest, never logged,
read through the admin API by the roles that send invitations. What each invitee did is not copied here: it is
derived from ``invitations``, ``responses`` and ``outbox`` (bot/campaigns/status.py), so it
cannot drift from what happened.
"""
from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, ForeignKey, Index, Integer, String, Table, UniqueConstraint

from .tables import metadata

campaigns = Table(
    "campaigns", metadata,
    Column("id", String(32), primary_key=True),
    Column("name", String(200), nullable=False),
    Column("flow_id", String(40), nullable=False),
    # draft | sending | paused
    Column("status", String(12), nullable=False),
    # local time of day (Asia/Ho_Chi_Minh) between which messages may go out, "HH:MM"
    Column("send_from", String(5), nullable=False),
    Column("send_until", String(5), nullable=False),
    Column("weekdays_only", Boolean, nullable=False, default=False),
    # a reminder after this many days without completion, at most this many times
    Column("reminder_after_days", Integer, nullable=False),
    Column("max_reminders", Integer, nullable=False),
    # invitation codes stop working this many days after the list is imported (None: never)
    Column("valid_days", Integer),
    Column("created_by", String(32)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("started_at", DateTime(timezone=True)),
)

# The units a campaign covers: who may see it (scoping), and the rows of its participation table,
# including units that registered nobody (the 2021 pilot's blind spot).
campaign_units = Table(
    "campaign_units", metadata,
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), primary_key=True),
    Column("unit_code", String(40), primary_key=True),
)

campaign_invitees = Table(
    "campaign_invitees", metadata,
    Column("id", String(32), primary_key=True),
    Column("campaign_id", String(32), ForeignKey("campaigns.id"), nullable=False),
    Column("unit_code", String(40), nullable=False),
    # the line of the uploaded list, so an official can find the person in their own file
    Column("line", Integer, nullable=False),
    # name, address, phone and email are sealed with the row's id (bot/campaigns/privacy.py):
    # "v1:" + base64 of nonce, ciphertext and tag, so about 4/3 of 28 bytes more than the value
    # (a 200-character Vietnamese name is up to 600 bytes of UTF-8)
    Column("name", String(900), nullable=False),
    # zalo | telegram | messenger with a platform id in ``address``; None: the unit sends the links
    Column("channel", String(20)),
    Column("address", String(200)),
    # kept only for invitees without a chat address (the unit reaches them by phone or e-mail)
    Column("phone", String(80)),
    Column("email", String(320)),
    # keyed HMACs of "channel:address", "phone:…", "email:…": finding the same person again in a
    # list without decrypting anyone (None on rows written before sealing: hashed when read)
    Column("address_digest", String(64)),
    Column("phone_digest", String(64)),
    Column("email_digest", String(64)),
    Column("code", String(32), nullable=False, unique=True),
    # the pseudonymous respondent the invitation is sent to (set at the first send)
    Column("respondent_id", String(32)),
    Column("opted_out_at", DateTime(timezone=True)),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_campaign_invitees_campaign_unit", "campaign_id", "unit_code"),
)

# One row per message a campaign put in the outbox: round 0 the invitation, 1..K the reminders.
# The primary key is what makes sending idempotent: a restart or a second process cannot queue
# the same round for the same invitee twice, because the row and the outbox message are written
# in one transaction.
campaign_sends = Table(
    "campaign_sends", metadata,
    Column("invitee_id", String(32), ForeignKey("campaign_invitees.id"), primary_key=True),
    Column("round", Integer, primary_key=True),
    Column("campaign_id", String(32), nullable=False),
    Column("channel", String(20), nullable=False),
    Column("respondent_id", String(32), nullable=False),
    Column("seq", Integer, nullable=False),
    # the slot the pacer gave the message: it is not sent before
    Column("scheduled_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("respondent_id", "seq", name="uq_campaign_sends_respondent_seq"),
    Index("ix_campaign_sends_campaign", "campaign_id"),
)

# The next free sending slot per channel, shared by every campaign and every process, so the
# campaigns together stay under the channel's cap.
campaign_pace = Table(
    "campaign_pace", metadata,
    Column("channel", String(20), primary_key=True),
    Column("next_slot", DateTime(timezone=True), nullable=False),
)
