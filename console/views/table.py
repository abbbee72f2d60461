"""One route table for every console page module (paths relative to /console)."""
from __future__ import annotations

from aiohttp import web

ROUTES = web.RouteTableDef()
