"""Quality control as an analyst sees it: which ballots are set aside, why, and that an override
(include anyway / exclude anyway) is kept and moves the score the way a hand count says."""
from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from bot.analytics import check_quality, score_flow
from bot.analytics.overrides import set_override
from bot.analytics.quality import QualityRules
from bot.cli import main
from bot.flows import Flow, load_flow_file, load_flow_text
from bot.settings import REPO_ROOT
from bot.store.db import create_engine_sync
from bot.store.tables_analytics import qc_overrides

from analytics_fixtures import add_flow, add_response, vn

GRID = """\
id: grid
version: 1
title: Lưới đánh giá
closing: Cảm ơn
sections:
  - id: s
    questions:
      - {key: a, type: scale, text: "A?", choices: &sc [{id: "1", label: "1"}, {id: "2", label: "2"}, {id: "3", label: "3"}, {id: "4", label: "4"}, {id: "5", label: "5"}, {id: "0", label: "Không biết", no_answer: true}]}
      - {key: b, type: scale, text: "B?", choices: *sc}
      - {key: c, type: scale, text: "C?", choices: *sc}
scoring:
  quality: {speeder_fraction: 0.5, speeder_min_responses: 4, straightline_min_items: 3}
  indices:
    - {name: ok, method: share, keys: [a, b, c], positive: ["4", "5"]}
"""


def _abc(a: str, b: str, c: str) -> dict[str, str]:
    return {"a": a, "b": b, "c": c}


@pytest.fixture
def grid_url(own_url: str) -> str:
    """Completed durations 10 12 1 8 9 11 min -> median 9.5, speeder below 4.75 (r3 only)."""
    flow = load_flow_text(GRID)
    engine = create_engine_sync(own_url)
    with engine.begin() as conn:
        add_flow(conn, flow)
        add_response(conn, "r1", "grid", unit="u", at=vn(2024, 3, 1), minutes=10, answers_=_abc("4", "5", "4"))
        add_response(conn, "r2", "grid", unit="u", at=vn(2024, 3, 2), minutes=12, invitation="INV",
                     answers_=_abc("2", "3", "4"))
        add_response(conn, "r3", "grid", unit="u", at=vn(2024, 3, 3), minutes=1, answers_=_abc("5", "4", "5"))
        add_response(conn, "r4", "grid", unit="u", at=vn(2024, 3, 4), minutes=8, answers_=_abc("3", "3", "3"))
        add_response(conn, "r5", "grid", unit="u", at=vn(2024, 3, 5), minutes=9, respondent="p-r1",
                     answers_=_abc("5", "5", "4"))
        add_response(conn, "r6", "grid", unit="u", at=vn(2024, 3, 6), minutes=11, invitation="INV",
                     answers_=_abc("4", "4", "5"))
        add_response(conn, "r7", "grid", unit="u", disposition="partial", at=vn(2024, 3, 7), answers_={"a": "5"})
    engine.dispose()
    return own_url


def _reasons(url: str) -> dict[str, tuple[str, ...]]:
    engine = create_engine_sync(url)
    try:
        return {f.response_id: f.reasons for f in check_quality(engine, load_flow_text(GRID)).flags}
    finally:
        engine.dispose()


def test_each_rule_flags_the_ballot_it_describes(grid_url: str) -> None:
    assert _reasons(grid_url) == {"r3": ("speeder",), "r4": ("straightlining",), "r5": ("duplicate_respondent",),
                                  "r6": ("duplicate_invitation",), "r7": ("incomplete",)}


def test_flagged_ballots_leave_the_score(grid_url: str) -> None:
    r = score_flow(grid_url, "grid")
    # counted r1 (3 of 3 positive) and r2 (1 of 3): 4/6
    assert r["responses"] == 2 and r["excluded"] == 5 and r["indices"]["ok"] == 66.67
    assert r["by_unit"]["u"]["responses"] == 2
    everything = score_flow(grid_url, "grid", quality=False)  # the completed six, flags ignored
    assert (everything["responses"], everything["excluded"], everything["indices"]["ok"]) == (6, 0, 72.22)  # 13/18


def test_overrides_are_stored_and_move_the_score(grid_url: str) -> None:
    set_override(grid_url, "r4", "include", "cán bộ xác nhận phiếu thật")
    r = score_flow(grid_url, "grid")
    assert (r["responses"], r["excluded"], r["indices"]["ok"]) == (3, 4, 44.44)  # r1 r2 r4: 4/9
    set_override(grid_url, "r1", "exclude", "phiếu thử của cán bộ")
    set_override(grid_url, "r7", "include", "mất kết nối ở câu cuối")
    r = score_flow(grid_url, "grid")
    # r2 (1/3), r4 (0/3), r7 partial (a=5: 1/1) -> 2/7; excluded r1 r3 r5 r6
    assert (r["responses"], r["excluded"], r["indices"]["ok"]) == (3, 4, 28.57)
    by_frame = score_flow(grid_url, "grid", by=["channel"])  # the row path agrees with the count path
    assert by_frame["indices"] == r["indices"] and by_frame["breakdowns"]["channel"]["zalo"]["responses"] == 3
    engine = create_engine_sync(grid_url)
    with engine.connect() as conn:
        stored = {row.response_id: (row.decision, row.reason) for row in conn.execute(select(qc_overrides))}
    engine.dispose()
    assert stored["r1"] == ("exclude", "phiếu thử của cán bộ")
    set_override(grid_url, "r1", None, "")
    assert score_flow(grid_url, "grid")["responses"] == 4


def test_override_needs_a_known_response_and_a_reason(grid_url: str) -> None:
    with pytest.raises(ValueError, match="no response nope"):
        set_override(grid_url, "nope", "include", "x")
    with pytest.raises(ValueError, match="reason"):
        set_override(grid_url, "r4", "include", "  ")
    with pytest.raises(ValueError, match="include or exclude"):
        set_override(grid_url, "r4", "maybe", "x")


def test_qc_cli(grid_url: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HAILONG_DATABASE_URL", grid_url)
    assert main(["qc", "override", "r3", "--include", "--reason", "đọc nhanh nhưng hợp lệ"]) == 0
    capsys.readouterr()
    assert main(["qc", "grid", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    rows = {r["response_id"]: r for r in out["responses"]}
    assert rows["r3"]["reasons"] == ["speeder"] and rows["r3"]["counted"] and rows["r3"]["override"] == "include"
    assert out["flagged"] == 5 and out["excluded"] == 4
    assert main(["score", "grid", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["excluded"] == 4
    assert main(["qc", "override", "r3", "--include"]) == 2
    assert capsys.readouterr().err.startswith("error: an override needs a reason")
    assert main(["qc", "override", "r3", "--include", "--exclude", "--reason", "x"]) == 2
    assert main(["qc", "override", "zz", "--exclude", "--reason", "x"]) == 2
    assert "error: no response zz" in capsys.readouterr().err


def _one_stop() -> Flow:
    return load_flow_file(REPO_ROOT / "survey_flows" / "one_stop_rating.yaml")


def test_one_stop_duplicate_is_the_same_dossier_rated_twice(own_url: str) -> None:
    flow = _one_stop()
    assert QualityRules.of(flow).duplicate_by == ("unit", "context.dossier")
    engine = create_engine_sync(own_url)
    with engine.begin() as conn:
        add_flow(conn, flow)
        for rid, dossier, day in (("d1", "HS-1", 1), ("d2", "HS-2", 2), ("d3", "HS-1", 3)):
            add_response(conn, rid, "one_stop_rating", unit="u", at=vn(2024, 4, day), respondent="citizen",
                         context={"dossier": dossier}, answers_={"overall": "satisfied"})
    try:
        assert {f.response_id: f.reasons for f in check_quality(engine, flow).flags} == \
            {"d3": ("duplicate_respondent",)}
    finally:
        engine.dispose()


def test_rules_come_from_the_flow_with_defaults() -> None:
    rules = QualityRules.of(load_flow_text(GRID))
    assert (rules.speeder_fraction, rules.speeder_min_responses, rules.straightline_min_items) == (0.5, 4, 3)
    assert rules.duplicate_by == ("unit",)
    assert rules.grid_keys(load_flow_text(GRID)) == ["a", "b", "c"]
