"""Campaigns (issue D item 3): a flow sent to a list of people of some units, paced per channel,
inside allowed hours, with reminders, and a live participation table per unit.

Modules: ``hours`` (allowed sending times, Asia/Ho_Chi_Minh), ``lists`` (respondent lists from CSV
or XLSX, all rows or none), ``service`` (campaigns, scoped by units), ``status`` (what each
invitee did, derived from invitations, responses and the outbox), ``pacing`` (per-channel slots),
``sender`` (``send_due``), ``background`` (the server's loop), ``export`` (CSV), ``cli``.
"""
from .sender import send_due

__all__ = ["send_due"]
