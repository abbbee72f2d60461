"""The console's pages, one module per area; each declares its routes on the shared table."""
from __future__ import annotations

from . import accounts, audit, auth, campaigns, consultations, documents, inbox, results, surveys
from .table import ROUTES

__all__ = ["ROUTES", "accounts", "audit", "auth", "campaigns", "consultations", "documents", "inbox", "results",
           "surveys"]
