"""Shared NLU fixtures: the seed knowledge base, and a built-in backend over it (built once: loading
underthesea's dictionary and training the intent classifier take a few seconds)."""
from __future__ import annotations

from pathlib import Path

import pytest

from bot.nlu.builtin import BuiltinNlu
from bot.nlu.kb import KbEntry, read_entries
from bot.settings import REPO_ROOT

NLU_DIR = REPO_ROOT / "nlu_data"
SEED = NLU_DIR / "kb" / "seed.jsonl"


@pytest.fixture(scope="session")
def seed_entries() -> list[KbEntry]:
    return read_entries(SEED)


@pytest.fixture(scope="session")
def seed_nlu(seed_entries: list[KbEntry]) -> BuiltinNlu:
    return BuiltinNlu.from_entries(seed_entries, NLU_DIR)


@pytest.fixture(scope="session")
def nlu_dir() -> Path:
    return NLU_DIR
