"""The officials' side: the admin REST API under /api/v1/admin (roles, unit scoping, audit log),
its OpenAPI document at /api/v1/openapi.json and docs page at /api/v1/docs, and ``hailong admin``."""
from .setup import setup_admin

__all__ = ["setup_admin"]
