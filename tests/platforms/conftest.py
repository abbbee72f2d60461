from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture
def platform_settings(settings: Any, services: Any) -> Any:  # services: loads the seed flows
    return settings
