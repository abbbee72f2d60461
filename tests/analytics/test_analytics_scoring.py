"""Indices must match what an official computes by hand from the same ballots (domain.md):
share = (Hài lòng + Rất hài lòng) / valid × 100, "không biết" and skips leave the denominator,
partial responses and previews never count."""
from __future__ import annotations

import json

import pandas as pd
import pytest

from bot.analytics import load_frame, score, score_flow
from bot.cli import main
from bot.flows import load_flow_text

from analytics_fixtures import par_index, sipas

# Hand computation from conftest.populate (completed s1–s6):
#   e1: 5 4 2 1 [0] 5      -> 3/5 = 60      e2: 4 2 [0] 5 4 3 -> 3/5 = 60
#   e3: 3 [0] 4 5 4 4      -> 4/5 = 80      e4: 4 5 4 [null] 2 5 -> 4/5 = 80
#   e5: 5 2 4 (asked 3×)   -> 2/3 = 66.67   sipas = (60+60+80+80+66.667)/5 = 69.33
#   overall: 4 5 3 [0] 4 5 -> 4/5 = 80
#   expectations (5 answered): info 2, simpler 3, faster/fees/attitude/facilities 1, others 0
SIPAS_ALL = {
    "e1": 60.0, "e2": 60.0, "e3": 80.0, "e4": 80.0, "e5": 66.67, "sipas": 69.33, "overall": 80.0,
    "expect_info": 40.0, "expect_simpler": 60.0, "expect_faster": 20.0, "expect_fees": 20.0,
    "expect_attitude": 20.0, "expect_competence": 0.0, "expect_complaints": 0.0, "expect_facilities": 20.0,
}
# Unit 01 = s1 s2 s3; unit 79 = s4 s5 s6.
UNIT_01 = {"e1": 66.67, "e2": 50.0, "e3": 50.0, "e4": 100.0, "e5": 50.0, "sipas": 63.33, "overall": 66.67,
           "expect_info": 33.33, "expect_simpler": 66.67}
UNIT_79 = {"e1": 50.0, "e2": 66.67, "e3": 100.0, "e4": 50.0, "e5": 100.0, "sipas": 73.33, "overall": 100.0,
           "expect_info": 50.0, "expect_simpler": 50.0}


def test_sipas_indices_match_hand_computation(round_url: str) -> None:
    result = score_flow(round_url, "sipas")
    assert result["flow"] == "sipas" and result["responses"] == 6
    assert result["excluded"] == 1  # s7 never completed: flagged "incomplete" by quality control
    assert result["indices"] == SIPAS_ALL
    assert list(result["indices"]) == [i["name"] for i in sipas().scoring]


def test_sipas_by_unit(round_url: str) -> None:
    by_unit = score_flow(round_url, "sipas")["by_unit"]
    assert set(by_unit) == {"01", "79"}
    assert by_unit["01"]["responses"] == 3 and by_unit["79"]["responses"] == 3
    for unit, expected in (("01", UNIT_01), ("79", UNIT_79)):
        got = by_unit[unit]["indices"]
        assert {k: got[k] for k in expected} == expected, unit


def test_unit_filter_is_exact(round_url: str) -> None:
    result = score_flow(round_url, "sipas", unit="01")
    assert result["responses"] == 3
    assert {k: result["indices"][k] for k in UNIT_01} == UNIT_01
    assert score_flow(round_url, "sipas", unit="0")["responses"] == 0


def test_period_filters_use_vietnam_calendar(round_url: str) -> None:
    q1 = score_flow(round_url, "sipas", period="2024-Q1")  # s1, s2 (the partial s7 is in Q1 too)
    assert q1["responses"] == 2 and q1["indices"]["e1"] == 100.0 and q1["indices"]["e2"] == 50.0
    assert score_flow(round_url, "sipas", period="2024-02")["responses"] == 2
    may = score_flow(round_url, "sipas", period="2024-05-01..2024-05-15")  # inclusive end day: s3, s4
    assert may["responses"] == 2 and may["indices"]["e1"] == 0.0
    q4 = score_flow(round_url, "sipas", period="2024-Q4")  # s6 completed 01:30 on 1 Oct, Vietnam time
    assert q4["responses"] == 1
    assert q4["indices"]["e5"] is None and q4["indices"]["sipas"] == 75.0  # mean of the 4 elements with a value
    assert q4["indices"]["expect_info"] is None
    assert score_flow(round_url, "sipas", period="2024-Q3")["responses"] == 1  # s5 only
    assert score_flow(round_url, "sipas", period="2024")["responses"] == 6
    empty = score_flow(round_url, "sipas", period="2023")
    assert empty["responses"] == 0 and set(empty["indices"].values()) == {None} and empty["by_unit"] == {}


def test_scaled_mean_leaves_khong_biet_out(round_url: str) -> None:
    # direction_*: q1 5 4 [0], q2 3 [0] 4, q3 2 5 1, q4 [0] -> 24/7 = 3.4286 / 5 × 3 points = 2.06
    # (counting "0" as an answer would give 24/9 / 5 × 3 = 1.60)
    result = score_flow(round_url, "par_index")
    assert result["responses"] == 4 and set(result["by_unit"]) == {"BTP", "48"}
    assert result["indices"]["area_direction"] == 2.06
    assert result["indices"]["area_public_finance"] is None  # only "không biết" answers
    assert result["by_unit"]["BTP"]["indices"]["area_direction"] == 2.4  # 16/4 / 5 × 3
    assert result["by_unit"]["48"]["indices"]["area_direction"] == 1.6  # 8/3 / 5 × 3


def test_unknown_flow_and_bad_period(round_url: str) -> None:
    with pytest.raises(ValueError, match="no flow named nope"):
        score_flow(round_url, "nope")
    for bad in ("2024-Q5", "24", "2024-13", "2024-03-01..2024-02-01", "last year"):
        with pytest.raises(ValueError, match="period"):
            score_flow(round_url, "sipas", period=bad)


DEMO = """\
id: demo
version: 1
title: Demo
closing: Cảm ơn
sections:
  - id: s
    questions:
      - key: q
        type: scale
        text: "Mức độ?"
        choices:
          - {id: "1", label: "Một"}
          - {id: "2", label: "Hai"}
          - {id: "4", label: "Bốn"}
          - {id: "9", label: "Không biết", no_answer: true}
      - key: m
        type: multi
        text: "Chọn"
        choices:
          - {id: "a", label: "A"}
          - {id: "b", label: "B"}
          - {id: "dk", label: "Không biết", no_answer: true, exclusive: true}
scoring:
  indices:
    - {name: sa, method: share, keys: [q], positive: ["4"]}
    - {name: sm, method: scaled_mean, keys: [q], points: 10}
    - {name: ca, method: choice_share, key: m, choice: "a"}
    - {name: cb, method: choice_share, key: m, choice: "b"}
    - {name: w, method: mean, of: [sa, ca], weights: [3, 1]}
"""


def test_choice_share_scale_max_default_and_weights_on_a_frame() -> None:
    flow = load_flow_text(DEMO)
    df = pd.DataFrame({
        "unit": ["u1", "u1", "u2", "u2", None, "u2"],
        "q": ["1", "4", "9", None, "_skip", "2"],
        "m": [["a", "b"], ["dk"], [], None, ["b"], ["a"]],
    })
    r = score(flow, df)
    # q valid: 1 4 2 (9 = no_answer, None, _skip out) -> share of "4" = 1/3; scaled: mean 7/3 / max 4 × 10
    # m valid: [a,b] [b] [a] ([dk] only no-answer, [] empty, None out) -> a 2/3, b 2/3
    # w = (33.333×3 + 66.667×1) / 4 = 41.67
    assert r["indices"] == {"sa": 33.33, "sm": 5.83, "ca": 66.67, "cb": 66.67, "w": 41.67}
    assert r["responses"] == 6
    assert set(r["by_unit"]) == {"u1", "u2"}  # no unit: counted overall only
    assert r["by_unit"]["u1"]["indices"] == {"sa": 50.0, "sm": 6.25, "ca": 100.0, "cb": 100.0, "w": 62.5}
    u2 = r["by_unit"]["u2"]
    assert u2["responses"] == 3 and u2["indices"] == {"sa": 0.0, "sm": 5.0, "ca": 100.0, "cb": 0.0, "w": 25.0}


@pytest.mark.parametrize("flow_id, unit, period", [
    ("sipas", None, None), ("sipas", "79", "2024"), ("sipas", None, "2023"), ("par_index", None, None)])
def test_counting_in_the_database_equals_scoring_the_frame(round_url: str, flow_id: str, unit: str | None,
                                                            period: str | None) -> None:
    """score_flow counts answers in SQL; it must agree with score() over the full frame."""
    flow = sipas() if flow_id == "sipas" else par_index()
    from_frame = score(flow, load_frame(round_url, flow_id, unit=unit, period=period))
    from_db = score_flow(round_url, flow_id, unit=unit, period=period)
    assert {k: v for k, v in from_db.items() if k not in ("unit", "period", "excluded")} == \
        {k: v for k, v in from_frame.items() if k != "excluded"}


def test_every_index_has_a_confidence_interval(round_url: str) -> None:
    r = score_flow(round_url, "sipas")
    assert r["ci"]["e1"] == [23.07, 88.24]  # Wilson, 3 of 5
    assert r["ci"]["e5"] == [20.77, 93.85]  # Wilson, 2 of 3
    # SIPAS: 69.33 ± 1.96 × √(Σ seᵢ²)/5 with seᵢ = √(p(1−p)/n) × 100 -> ± 18.96
    assert r["ci"]["sipas"] == [50.37, 88.3]
    assert r["ci"]["expect_competence"] == [0.0, 43.45]  # 0 of 5 still has an upper bound
    assert r["valid"]["e5"] == 3 and r["valid"]["sipas"] is None
    assert r["by_unit"]["79"]["ci"]["e3"] == [43.85, 100.0]  # 3 of 3 (s4 s5 s6)
    # PAR: mean 24/7 ± 1.96 × 0.5714, times 3/5 points
    assert score_flow(round_url, "par_index")["ci"]["area_direction"] == [1.39, 2.73]


def test_score_cli_prints_the_contract(round_url: str, monkeypatch: pytest.MonkeyPatch,
                                       capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("HAILONG_DATABASE_URL", round_url)
    assert main(["score", "sipas", "--json", "--unit", "01", "--period", "2024"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert {"flow", "responses", "excluded", "indices", "by_unit"} <= set(out)
    assert out["flow"] == "sipas" and out["responses"] == 3 and out["excluded"] == 1  # s7 is in unit 01
    assert {"e1", "e2", "e3", "e4", "e5", "sipas"} <= set(out["indices"])
    assert all(v is None or 0 <= v <= 100 for v in out["indices"].values())
    assert out["by_unit"]["01"]["responses"] == 3 and out["by_unit"]["01"]["indices"]["sipas"] == 63.33
    assert main(["score", "sipas", "--period", "soon"]) == 2
    assert capsys.readouterr().err.startswith("error: period 'soon'")
    assert main(["score", "nope"]) == 2
    assert capsys.readouterr().err.strip() == "error: no flow named nope"
    assert main(["score", "sipas", "--by", "gender"]) == 0
    assert "e1" in capsys.readouterr().out


def test_one_stop_national_rule_points_and_ballot_shares() -> None:
    """9 criteria × 0/1/2 points (18 at most) and the three ratings as shares of ballots,
    computed by hand from three ballots."""
    from bot.flows import load_flow_file
    from bot.settings import REPO_ROOT

    flow = load_flow_file(REPO_ROOT / "survey_flows" / "one_stop_national.yaml")
    crit = ["c1_total_time", "c2_agency_time", "c3_contacts", "c4_agencies", "c5_reception", "c6_publicity",
            "c7_attitude", "c8_feedback", "c9_online"]
    ballots = [
        ["2", "2", "2", "2", "2", "2", "2", "2", "2"],    # 18 points
        ["1", "1", "0", "2", "1", "1", "2", "na", "na"],  # 8 points over 7 criteria: 8/7 per criterion
        ["0", "0", "0", "1", "0", "1", "0", "0", "1"],    # 3 points
    ]
    df = pd.DataFrame({"unit": ["u1", "u1", "u2"], "overall": ["very_satisfied", "satisfied", "unsatisfied"],
                       **{c: [b[i] for b in ballots] for i, c in enumerate(crit)}})
    r = score(flow, df)["indices"]
    assert r["c1_total_time"] == 1.0 and r["c4_agencies"] == round(5 / 3, 2)
    assert r["c8_feedback"] == 1.0 and r["c9_online"] == 1.5  # "na" leaves the denominator
    # points: all answered items (9 + 7 + 9 = 25) total 18 + 8 + 3 = 29 -> mean 29/25 per criterion × 9 = 10.44
    assert r["points"] == 10.44
    assert (r["very_satisfied"], r["satisfied"], r["unsatisfied"], r["satisfied_or_better"]) == (33.33, 33.33, 33.33, 66.67)
