"""Structured log events: one JSON object per line, ids only, never personal data."""
from __future__ import annotations

import json
import logging
import sys
from typing import Any

_logger = logging.getLogger("hailong")


def setup_logging(level: str = "INFO") -> None:
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(message)s"))
    _logger.handlers[:] = [handler]
    _logger.setLevel(level.upper())
    _logger.propagate = False


def log(event: str, level: int = logging.INFO, **fields: Any) -> None:
    if _logger.isEnabledFor(level):
        _logger.log(level, json.dumps({"event": event, **fields}, ensure_ascii=False, default=str))
