"""Answers as people type them: buttons, numbers, labels with or without diacritics, number words."""
from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from hypothesis import given, settings, strategies as st

from bot.flows.loader import YES_NO_CHOICES
from bot.flows.model import ChoiceDef, Question
from bot.flows.parsers import Accepted, Rejected, parse_answer
from bot.settings import REPO_ROOT
from bot.units import UnitCatalogue

SAT = (ChoiceDef("1", "Rất không hài lòng"), ChoiceDef("2", "Không hài lòng"), ChoiceDef("3", "Bình thường"),
       ChoiceDef("4", "Hài lòng"), ChoiceDef("5", "Rất hài lòng"),
       ChoiceDef("0", "Không biết / Không trả lời", no_answer=True))


def q(type_: str = "scale", **kw) -> Question:  # type: ignore[no-untyped-def]
    base = dict(key="q", type=type_, text="?", section="s", number=1)
    if type_ in ("scale", "single"):
        base["choices"] = SAT
    base.update(kw)
    return Question(**base)  # type: ignore[arg-type]


def value(result):  # type: ignore[no-untyped-def]
    assert isinstance(result, Accepted), result
    return result.value


@pytest.mark.parametrize("typed,expected", [
    ("4", "4"), ("hài lòng", "4"), ("hai long", "4"), ("HAI LONG", "4"), ("Hài lòng.", "4"), ("bốn", "4"),
    ("bon", "4"), ("chọn 4", "4"), ("số 5", "5"), ("rat hai long", "5"), ("không hài lòng", "2"),
    ("k hai long", "2"), ("ko hai long", "2"), ("binh thuong", "3"), ("bt", "3"), ("hai lòng", "4"),
    ("rat khong hai long", "1"), ("một", "1"), ("khong biet", "0"), ("Không trả lời", "0"), ("hai lonq", "4"),
])
def test_scale_answers_typed_the_way_people_type(typed: str, expected: str) -> None:
    assert value(parse_answer(q(), text=typed)) == expected


def test_button_choice_id_wins() -> None:
    assert value(parse_answer(q(), choice="5")) == "5"


@pytest.mark.parametrize("typed", ["", "   ", "7", "xyz", "😀", "hai long lam nhung cham", "\x00\x07"])
def test_unrecognised_choice_is_rejected_not_guessed(typed: str) -> None:
    assert isinstance(parse_answer(q(), text=typed), Rejected)


def test_yes_no_forms() -> None:
    yn = q("yes_no", choices=YES_NO_CHOICES)
    for typed in ("có", "co", "Có", "ok", "1"):
        assert value(parse_answer(yn, text=typed)) == "yes"
    for typed in ("không", "khong", "ko", "k", "2"):
        assert value(parse_answer(yn, text=typed)) == "no"


def test_nam_means_male_on_gender_question_but_five_on_a_scale() -> None:
    gender = q("single", choices=(ChoiceDef("male", "Nam"), ChoiceDef("female", "Nữ"), ChoiceDef("other", "Khác")))
    assert value(parse_answer(gender, text="nam")) == "male"
    assert value(parse_answer(gender, text="Nam")) == "male"
    assert value(parse_answer(q(), text="năm")) == "5"


def test_multi_by_numbers_labels_and_buttons() -> None:
    multi = q("multi", choices=(ChoiceDef("info", "Thêm kênh thông tin"), ChoiceDef("simple", "Thủ tục đơn giản hơn"),
                                ChoiceDef("fast", "Thời gian nhanh hơn"), ChoiceDef("none", "Không có", exclusive=True)),
              max_choices=2)
    assert value(parse_answer(multi, text="1, 3")) == ["info", "fast"]
    assert value(parse_answer(multi, text="3 1")) == ["info", "fast"]
    assert value(parse_answer(multi, text="1 và 2")) == ["info", "simple"]
    assert value(parse_answer(multi, choice=["fast", "info"])) == ["info", "fast"]
    assert value(parse_answer(multi, text="thu tuc don gian hon")) == ["simple"]
    assert parse_answer(multi, text="1,2,3") == Rejected("too_many_choices", {"max": 2})
    assert isinstance(parse_answer(multi, text="1, 4"), Rejected)  # "Không có" is exclusive
    assert isinstance(parse_answer(multi, text="1, 9"), Rejected)


@pytest.mark.parametrize("typed,expected", [("3", 3), (" 12 ", 12), ("ba", 3), ("hai", 2), ("mười", 10)])
def test_numbers(typed: str, expected: int) -> None:
    assert value(parse_answer(q("number", min=1, max=20, integer=True), text=typed)) == expected


@pytest.mark.parametrize("typed,reason", [("0", "number_out_of_range"), ("21", "number_out_of_range"),
                                          ("2.5", "not_integer"), ("nhieu", "invalid_number"), ("", "invalid_number")])
def test_numbers_rejected_with_reason(typed: str, reason: str) -> None:
    result = parse_answer(q("number", min=1, max=20, integer=True), text=typed)
    assert isinstance(result, Rejected) and result.reason == reason


@pytest.mark.parametrize("typed,expected", [("20/11/2026", "2026-11-20"), ("5-1-2026", "2026-01-05"),
                                            ("2026-11-20", "2026-11-20"), ("ngày 3 tháng 2 năm 2026", "2026-02-03"),
                                            ("hôm nay", "2026-11-23"), ("hom qua", "2026-11-22"), ("1/2/26", "2026-02-01")])
def test_dates(typed: str, expected: str) -> None:
    assert value(parse_answer(q("date", max="today"), text=typed, today=date(2026, 11, 23))) == expected


def test_dates_rejected() -> None:
    today = date(2026, 11, 23)
    assert parse_answer(q("date"), text="31/02/2026", today=today) == Rejected("invalid_date")
    assert isinstance(parse_answer(q("date", max="today"), text="1/1/2027", today=today), Rejected)


@pytest.mark.parametrize("typed,expected", [("0912345678", "0912345678"), ("+84 912 345 678", "0912345678"),
                                            ("84912345678", "0912345678"), ("091.234.5678", "0912345678")])
def test_phone(typed: str, expected: str) -> None:
    assert value(parse_answer(q("phone"), text=typed)) == expected


@pytest.mark.parametrize("typed", ["12345", "0123456789", "abc", "09123456789"])
def test_phone_rejected(typed: str) -> None:
    assert parse_answer(q("phone"), text=typed) == Rejected("invalid_phone")


def test_text_cap_and_cleaning() -> None:
    t = q("text", max_length=10)
    assert value(parse_answer(t, text="  góp ý\x00 ")) == "góp ý"
    assert parse_answer(t, text="x" * 11) == Rejected("text_too_long", {"max": 10})
    assert parse_answer(t, text="   ") == Rejected("empty_text")


def test_optional_question_can_be_skipped_and_required_cannot() -> None:
    assert value(parse_answer(q("text", required=False), text="bỏ qua")) is None
    assert value(parse_answer(q("single", required=False), choice="_skip")) is None
    assert isinstance(parse_answer(q("single"), choice="_skip"), Rejected)


@pytest.fixture(scope="module")
def units() -> UnitCatalogue:
    return UnitCatalogue.load(REPO_ROOT / "data" / "units")


@pytest.mark.parametrize("typed,code", [("Hà Nội", "p.ha_noi"), ("ha noi", "p.ha_noi"), ("tp hcm", "p.ho_chi_minh"),
                                        ("sai gon", "p.ho_chi_minh"), ("Hue", "p.hue"), ("ha noii", "p.ha_noi"),
                                        ("Yên Bái", "p.lao_cai"), ("thanh hoa", "p.thanh_hoa")])
def test_unit_by_name_without_diacritics_fuzzy_and_old_names(units: UnitCatalogue, typed: str, code: str) -> None:
    result = parse_answer(q("unit", unit_kinds=("province",)), text=typed, units=units, today=date(2026, 11, 23))
    assert value(result) == code


def test_unit_ministry(units: UnitCatalogue) -> None:
    result = parse_answer(q("unit", unit_kinds=("ministry",)), text="bo noi vu", units=units, today=date(2026, 11, 23))
    assert units.name(value(result)) == "Bộ Nội vụ"


def test_unit_unknown(units: UnitCatalogue) -> None:
    assert isinstance(parse_answer(q("unit"), text="xyz", units=units, today=date(2026, 11, 23)), Rejected)


# ---- properties ----------------------------------------------------------------------------

@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_any_text_gives_an_answer_or_a_reason_never_an_error(text: str) -> None:
    for question in (q(), q("multi", choices=SAT[:5]), q("number", min=0, max=100), q("date"), q("phone"),
                     q("text", max_length=50)):
        result = parse_answer(question, text=text, today=date(2026, 11, 23))
        assert isinstance(result, (Accepted, Rejected))
        if isinstance(result, Accepted) and question.type == "scale":
            assert result.value in {c.id for c in SAT}


@settings(max_examples=200, deadline=None)
@given(st.sampled_from(SAT), st.sampled_from(["plain", "upper", "folded", "number", "id"]))
def test_every_label_in_every_form_maps_back_to_its_choice(choice: ChoiceDef, form: str) -> None:
    from bot.text import fold

    idx = SAT.index(choice) + 1
    typed = {"plain": choice.label, "upper": choice.label.upper(), "folded": fold(choice.label),
             "number": str(idx), "id": choice.id}[form]
    assert value(parse_answer(q(), text=typed)) == choice.id


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=-10_000, max_value=10_000))
def test_numbers_inside_range_accepted_outside_rejected(n: int) -> None:
    result = parse_answer(q("number", min=1, max=120, integer=True), text=str(n))
    assert isinstance(result, Accepted) == (1 <= n <= 120)


def test_seed_flow_choice_labels_all_parse_back(tmp_path: Path) -> None:
    from bot.flows import load_flow_file

    for path in (REPO_ROOT / "survey_flows").glob("*.yaml"):
        flow = load_flow_file(path)
        for question in flow.questions:
            for c in question.choices:
                assert value(parse_answer(question, text=c.label)) in (c.id, [c.id]), (path.name, question.key, c.label)
