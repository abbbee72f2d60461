"""The flow engine as a pure function: what a respondent sees and what gets stored, step by step."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.dialogues import load_dialogues
from bot.flows import AnswerCleared, AnswerSet, Env, FlowState, load_flow_file, load_flow_text, start, step
from bot.flows.engine import EDIT_ID, SUBMIT_ID, path
from bot.settings import REPO_ROOT
from bot.units import UnitCatalogue

FLOW = """
id: every_type
version: 1
title: Mọi loại câu hỏi
intro: Giới thiệu.
consent: {text: "Ông/Bà đồng ý tham gia chứ?"}
closing: Cảm ơn Ông/Bà!
settings: {expires_after_days: 7}
scales:
  sat:
    choices:
      - {id: "1", label: "Rất không hài lòng"}
      - {id: "2", label: "Không hài lòng"}
      - {id: "3", label: "Bình thường"}
      - {id: "4", label: "Hài lòng"}
      - {id: "5", label: "Rất hài lòng"}
      - {id: "0", label: "Không biết / Không trả lời", no_answer: true}
sections:
  - id: main
    title: Phần chính
    questions:
      - {key: province, type: unit, text: "Tỉnh nào?", unit_kinds: [province]}
      - {key: sat, type: scale, scale: sat, text: "Hài lòng không?"}
      - {key: complained, type: yes_no, text: "Đã từng phản ánh?"}
      - {key: complaint_text, type: text, text: "Nội dung phản ánh?", max_length: 100, when: {key: complained, equals: "yes"}}
      - {key: visits, type: number, text: "Mấy lần?", min: 1, max: 20, integer: true}
      - {key: visit_date, type: date, text: "Ngày nào?", max: today}
      - key: channel_used
        type: single
        text: "Nộp hồ sơ qua đâu?"
        choices: [{id: counter, label: "Tại bộ phận một cửa"}, {id: online, label: "Trực tuyến"}, {id: other, label: "Khác", other: true}]
      - key: wishes
        type: multi
        text: "Mong muốn?"
        min_choices: 1
        max_choices: 2
        choices: [{id: info, label: "Thông tin"}, {id: fast, label: "Nhanh hơn"}, {id: cheap, label: "Rẻ hơn"}]
  - id: extra
    title: Thêm
    when: {key: sat, in: ["1", "2"]}
    questions:
      - {key: why_unhappy, type: text, text: "Vì sao chưa hài lòng?"}
  - id: contact
    questions:
      - {key: phone, type: phone, text: "Số điện thoại?", required: false}
      - {key: gender, type: single, text: "Giới tính?", required: false, choices: [{id: m, label: Nam}, {id: f, label: Nữ}]}
"""

NOW = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)


@pytest.fixture(scope="module")
def flow():  # type: ignore[no-untyped-def]
    return load_flow_text(FLOW, "every_type.yaml")


@pytest.fixture(scope="module")
def env() -> Env:
    return Env(load_dialogues(REPO_ROOT / "dialogues"), UnitCatalogue.load(REPO_ROOT / "data" / "units"), NOW)


class Chat:
    """A respondent talking to the engine, keeping what the tests look at."""

    def __init__(self, flow, env: Env) -> None:  # type: ignore[no-untyped-def]
        self.flow, self.env = flow, env
        r = start(flow, env)
        self.state, self.out, self.effects = r.state, r.outbounds, list(r.effects)

    def say(self, text: str | None = None, choice=None) -> "Chat":  # type: ignore[no-untyped-def]
        r = step(self.flow, self.state, self.env, text=text, choice=choice)
        self.state, self.out = r.state, r.outbounds
        self.effects += r.effects
        return self

    @property
    def last(self) -> str:
        return self.out[-1].text

    @property
    def at(self) -> str | None:
        return self.state.current


def answered_up_to_wishes(flow, env, *, sat: str = "4") -> Chat:  # type: ignore[no-untyped-def]
    c = Chat(flow, env)
    for text in ("đồng ý", "ha noi", sat, "co", "Tôi phản ánh chậm trễ", "2", "20/11/2026", "truc tuyen"):
        c.say(text)
    return c


def test_start_shows_intro_then_consent(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env)
    assert [o.text for o in c.out] == ["Giới thiệu.", "Ông/Bà đồng ý tham gia chứ?"]
    assert c.out[-1].input.type == "choice"
    assert c.state.stage == "consent"


def test_declining_consent_refuses_and_nothing_more_is_asked(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("không")
    assert c.state.status == "refused"
    c.say("ha noi")
    assert c.state.status == "refused" and c.effects == []


def test_each_question_type_renders_its_input(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có")
    assert c.out[0].text == "Phần chính"
    assert c.at == "province" and c.out[-1].input.type == "unit"
    c.say("Hà Nội")
    assert c.out[-1].input.type == "choice" and [ch.id for ch in c.out[-1].input.choices] == ["1", "2", "3", "4", "5", "0"]
    c.say("4").say("có")
    assert c.out[-1].input.type == "text" and c.out[-1].input.max_length == 100
    c.say("chậm").say("3")
    assert c.out[-1].input.type == "date" and c.out[-1].input.max == "2026-11-23"
    c.say("hôm nay").say("1")
    spec = c.out[-1].input
    assert spec.type == "multi" and spec.min_choices == 1 and spec.max_choices == 2
    c.say("1, 2")
    assert c.out[-1].input.type == "phone"
    assert "bỏ qua" in c.last  # optional, and says how to skip
    c.say("bỏ qua")
    assert [ch.id for ch in c.out[-1].input.choices] == ["m", "f", "_skip"]


def test_answers_are_stored_with_their_keys(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = answered_up_to_wishes(flow, env)
    assert c.state.answers == {"province": "p.ha_noi", "sat": "4", "complained": "yes",
                               "complaint_text": "Tôi phản ánh chậm trễ", "visits": 2, "visit_date": "2026-11-20",
                               "channel_used": "online"}
    assert AnswerSet("visits", 2) in c.effects


def test_invalid_answer_is_reasked_with_a_short_vietnamese_reason(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi").say("tuyệt vời lắm")
    assert c.at == "sat"
    assert c.last.startswith("Xin chọn một trong các phương án")
    assert c.out[-1].input.type == "choice"  # the buttons come back with the re-ask


def test_after_repeated_failures_help_is_offered_instead_of_looping(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi")
    c.say("???").say("!!!")
    assert all("Có vẻ câu hỏi này chưa rõ" not in o.text for o in c.out)
    c.say("abc")
    assert any("Có vẻ câu hỏi này chưa rõ" in o.text for o in c.out)
    assert c.at == "sat"


def test_branch_shown_only_when_its_condition_holds(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi").say("4").say("không")
    assert c.at == "visits"  # complaint_text skipped
    keys = [q.key for q in path(flow, c.state.answers)]
    assert "complaint_text" not in keys and "why_unhappy" not in keys


def test_section_condition_on_earlier_answer(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = answered_up_to_wishes(flow, env, sat="2")
    c.say("1")
    assert c.at == "why_unhappy"


def test_back_goes_to_the_previous_visible_question(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi").say("4").say("không")
    assert c.at == "visits"
    c.say("quay lại")
    assert c.at == "complained"
    c.say("quay lai")
    assert c.at == "sat"
    c.say("5")
    assert c.at == "visits"  # answered questions are not asked again
    assert c.state.answers["sat"] == "5"


def test_back_at_first_question_says_so(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("quay lại")
    assert c.at == "province" and "câu hỏi đầu tiên" in c.out[0].text


def test_other_please_specify_asks_for_text_and_stores_it_apart(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có")
    for text in ("ha noi", "4", "không", "2", "20/11/2026"):
        c.say(text)
    c.say("Khác")
    assert c.state.stage == "other" and "Khác" in c.last
    c.say("Qua bưu điện")
    assert c.state.answers["channel_used"] == "other"
    assert c.state.answers["channel_used_other"] == "Qua bưu điện"
    assert c.at == "wishes"


def full(flow, env, *, sat: str = "4") -> Chat:  # type: ignore[no-untyped-def]
    c = answered_up_to_wishes(flow, env, sat=sat)
    c.say("1, 3")
    if sat in ("1", "2"):
        c.say("Chờ lâu")
    return c.say("0912345678").say("nữ")


def test_review_lists_answers_then_submit_completes(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = full(flow, env)
    assert c.state.stage == "review" and c.state.status == "in_progress"
    summary = c.out[0].text
    assert "Thành phố Hà Nội" in summary and "Hài lòng" in summary and "20/11/2026" in summary
    assert [ch.id for ch in c.out[-1].input.choices] == [SUBMIT_ID, EDIT_ID]
    c.say(choice=SUBMIT_ID)
    assert c.state.status == "completed" and c.last == "Cảm ơn Ông/Bà!"


def test_submit_by_typing(flow, env) -> None:  # type: ignore[no-untyped-def]
    assert full(flow, env).say("gui").state.status == "completed"


def test_edit_from_review_re_evaluates_branches(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = full(flow, env)
    assert "complaint_text" in c.state.answers
    c.say("sửa 3")  # "Đã từng phản ánh?" is question 3
    assert c.at == "complained"
    c.say("không")
    assert "complaint_text" not in c.state.answers
    assert AnswerCleared("complaint_text") in c.effects
    assert c.state.stage == "review"  # nothing new to ask


def test_edit_that_opens_a_branch_asks_the_new_question_then_reviews(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = full(flow, env)
    c.say(choice=EDIT_ID)
    assert c.state.stage == "edit_pick"
    c.say("2")
    assert c.at == "sat"
    c.say("không hài lòng")
    assert c.at == "why_unhappy"
    c.say("Phải đi lại nhiều lần")
    assert c.state.stage == "review"


def test_edit_of_unanswered_question_is_refused_politely(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = full(flow, env).say("sửa 9")  # why_unhappy is not on this respondent's path
    assert c.state.stage == "review" and "Không có câu số 9" in c.out[0].text


def test_stop_mid_survey_is_refused_with_one_message(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi").say("hủy")
    assert c.state.status == "refused" and len(c.out) == 1
    assert c.state.answers == {"province": "p.ha_noi"}  # kept as a partial answer set
    assert Chat(flow, env).say("có").say("STOP").state.status == "refused"


def test_pause_and_resume(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = Chat(flow, env).say("có").say("ha noi").say("tạm dừng")
    assert c.state.stage == "paused" and c.state.status == "in_progress"
    c.say("tiếp tục")
    assert c.at == "sat" and c.out[-1].input.type == "choice"
    assert c.state.stage == "question"


def test_state_survives_serialisation(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = answered_up_to_wishes(flow, env)
    c.state = FlowState.from_json(c.state.to_json())
    c.say("1")
    assert c.at == "phone"


def test_expiry(flow) -> None:  # type: ignore[no-untyped-def]
    early = Env(load_dialogues(REPO_ROOT / "dialogues"), None, NOW)
    later = Env(early.dialogues, None, NOW + timedelta(days=8))
    r = start(flow, early)
    r = step(flow, r.state, later, text="có")
    assert r.state.status == "expired" and "hết hạn" in r.outbounds[0].text


def test_skip_optional_with_button(flow, env) -> None:  # type: ignore[no-untyped-def]
    c = answered_up_to_wishes(flow, env).say("1").say("bỏ qua").say(choice="_skip")
    assert c.state.answers["phone"] is None and c.state.answers["gender"] is None
    assert c.state.stage == "review"
    assert "(không trả lời)" in c.out[0].text


@pytest.mark.parametrize("name", ["sipas", "one_stop_rating", "par_index", "consultation"])
def test_seed_flows_run_to_completion_answering_the_first_choice(name: str, env: Env) -> None:
    flow = load_flow_file(REPO_ROOT / "survey_flows" / f"{name}.yaml")
    r = start(flow, env, context={"dossier": "HS-1", "draft": "d1"})
    state = r.state
    for _ in range(200):
        if state.status != "in_progress":
            break
        spec = r.outbounds[-1].input
        if spec.type in ("choice", "multi"):
            first = next(c.id for c in spec.choices)
            r = step(flow, state, env, choice=first if spec.type == "choice" else [first])
        elif spec.type == "unit":
            r = step(flow, state, env, text="ha noi" if "province" in flow.question(state.current).unit_kinds else "bo noi vu")
        else:
            r = step(flow, state, env, text={"number": "2", "date": "hôm nay", "phone": "0912345678"}.get(spec.type, "Ý kiến"))
        state = r.state
    assert state.status in ("completed", "refused")


def test_sipas_has_the_22_criteria_and_the_index_rules() -> None:
    flow = load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")
    criteria = [q for q in flow.questions if q.type == "scale" and "satisfaction" not in q.key]
    assert len(criteria) == 22
    names = {i["name"] for i in flow.scoring}
    assert {"e1", "e2", "e3", "e4", "e5", "sipas"} <= names
