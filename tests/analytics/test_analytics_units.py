"""Results follow today's unit catalogue: a ballot given in 2021 for a province merged in 2025
counts for its successor; asking for today's province brings in its predecessors."""
from __future__ import annotations

from datetime import date

import pytest

from bot.analytics import score_flow
from bot.settings import REPO_ROOT
from bot.store.db import create_engine_sync
from bot.units import load_catalogue

from analytics_fixtures import add_flow, add_response, sipas, vn

AFTER = date(2025, 9, 1)


@pytest.fixture
def merged_url(own_url: str) -> str:
    """Hà Giang and Tuyên Quang merged into the new Tuyên Quang on 2025-07-01."""
    engine = create_engine_sync(own_url)
    with engine.begin() as conn:
        add_flow(conn, sipas())
        add_response(conn, "h21", "sipas", unit="p63.ha_giang", at=vn(2021, 5, 1), answers_={"e1_satisfaction": "5"})
        add_response(conn, "t22", "sipas", unit="p63.tuyen_quang", at=vn(2022, 5, 1),
                     answers_={"e1_satisfaction": "2"})
        add_response(conn, "t25", "sipas", unit="p.tuyen_quang", at=vn(2025, 8, 1),
                     answers_={"e1_satisfaction": "4"})
        add_response(conn, "n24", "sipas", unit="p63.ha_noi", at=vn(2024, 5, 1), answers_={"e1_satisfaction": "0"})
    engine.dispose()
    return own_url


def _units() -> object:
    return load_catalogue(REPO_ROOT / "data" / "units")


def test_old_provinces_report_under_their_successor(merged_url: str) -> None:
    r = score_flow(merged_url, "sipas", units=_units(), today=AFTER)  # type: ignore[arg-type]
    assert set(r["by_unit"]) == {"p.tuyen_quang", "p.ha_noi"}
    tq = r["by_unit"]["p.tuyen_quang"]
    assert tq["responses"] == 3 and tq["indices"]["e1"] == 66.67  # 5, 2, 4 -> 2 of 3 satisfied
    hn = r["by_unit"]["p.ha_noi"]
    assert hn["responses"] == 1 and hn["indices"]["e1"] is None  # "không biết" only: no valid answer
    assert r["responses"] == 4 and r["indices"]["e1"] == 66.67


def test_before_the_reform_each_province_stands_alone(merged_url: str) -> None:
    r = score_flow(merged_url, "sipas", units=_units(), today=date(2025, 1, 1))  # type: ignore[arg-type]
    assert {u: b["responses"] for u, b in r["by_unit"].items()} == {
        "p63.ha_giang": 1, "p63.tuyen_quang": 1, "p.tuyen_quang": 1, "p63.ha_noi": 1}


def test_unit_filter_includes_predecessors(merged_url: str) -> None:
    r = score_flow(merged_url, "sipas", unit="p.tuyen_quang", units=_units(), today=AFTER)  # type: ignore[arg-type]
    assert r["responses"] == 3 and list(r["by_unit"]) == ["p.tuyen_quang"]
    old = score_flow(merged_url, "sipas", unit="p63.ha_giang", units=_units(), today=AFTER)  # type: ignore[arg-type]
    assert old["responses"] == 1 and list(old["by_unit"]) == ["p.tuyen_quang"]


def test_breakdown_by_period_and_channel_use_the_same_units(merged_url: str) -> None:
    r = score_flow(merged_url, "sipas", by=["year", "channel"], units=_units(), today=AFTER)  # type: ignore[arg-type]
    assert {y: b["responses"] for y, b in r["breakdowns"]["year"].items()} == {
        "2021": 1, "2022": 1, "2024": 1, "2025": 1}
    assert r["breakdowns"]["year"]["2022"]["indices"]["e1"] == 0.0
    assert r["breakdowns"]["channel"]["zalo"]["responses"] == 4
    assert r["by_unit"]["p.tuyen_quang"]["responses"] == 3
    with pytest.raises(ValueError, match="cannot break down by nope"):
        score_flow(merged_url, "sipas", by=["nope"], units=_units(), today=AFTER)  # type: ignore[arg-type]
