"""The core stays free of transports and storage engines, so channels and backends can change."""
from __future__ import annotations

import ast
from pathlib import Path

from bot.settings import REPO_ROOT

FORBIDDEN_IN_PURE_CORE = ("aiohttp", "sqlalchemy", "redis", "channels", "admin_api", "telegram")
FORBIDDEN_IN_CORE = ("aiohttp", "channels", "admin_api", "telegram")


def imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module.split(".")[0])
    return names


def test_flow_engine_is_pure() -> None:
    for path in (REPO_ROOT / "bot" / "flows").rglob("*.py"):
        assert not imports(path) & set(FORBIDDEN_IN_PURE_CORE), path


# Outbound HTTP clients of the core's own services (not chat transports) may use aiohttp.
HTTP_CLIENTS = {REPO_ROOT / "bot" / "nlu" / "rasa.py"}


def test_core_imports_no_transport() -> None:
    for path in (REPO_ROOT / "bot").rglob("*.py"):
        if path.name in ("app.py", "cli.py"):
            continue  # the composition root wires channels in
        forbidden = set(FORBIDDEN_IN_CORE) - ({"aiohttp"} if path in HTTP_CLIENTS else set())
        assert not imports(path) & forbidden, path


def test_channels_do_not_reach_into_storage() -> None:
    for path in (REPO_ROOT / "channels").rglob("*.py"):
        assert not imports(path) & {"sqlalchemy", "redis"}, path
