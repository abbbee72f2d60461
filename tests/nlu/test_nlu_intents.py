"""Intents: nlu_data/nlu.yml (Rasa 3 format) is the single source, and the classifier recognises
examples it was not trained on (nlu_data/eval/intents.tsv)."""
from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from bot.nlu import INTENTS
from bot.nlu.builtin import BuiltinNlu
from bot.nlu.evaluate import read_eval
from bot.nlu.intents import IntentClassifier, NluDataError, load_nlu_yaml
from bot.nlu.normalize import TextNormalizer, load_synonyms


def test_nlu_yml_is_rasa_3_with_every_intent(nlu_dir: Path) -> None:
    raw = yaml.safe_load((nlu_dir / "nlu.yml").read_text(encoding="utf-8"))
    assert raw["version"] == "3.1"
    assert all(set(item) == {"intent", "examples"} and isinstance(item["examples"], str) for item in raw["nlu"])
    examples = load_nlu_yaml(nlu_dir / "nlu.yml")
    assert set(examples) == set(INTENTS) - {"none"}
    for name, texts in examples.items():
        assert len(texts) >= 15, name
        assert len(set(texts)) == len(texts), name


def test_held_out_examples_are_not_training_examples(nlu_dir: Path) -> None:
    training = {t.lower() for texts in load_nlu_yaml(nlu_dir / "nlu.yml").values() for t in texts}
    held_out = read_eval(nlu_dir / "eval" / "intents.tsv")
    assert len(held_out) >= 60
    assert not [it.text for it in held_out if it.text.lower() in training]


def test_rasa_annotations_and_other_items(tmp_path: Path) -> None:
    f = tmp_path / "nlu.yml"
    f.write_text('version: "3.1"\nnlu:\n- intent: ask_question\n  examples: |\n'
                 '    - làm [căn cước](document) ở đâu\n    - lệ phí [khai sinh]{"entity": "procedure"}\n'
                 '- synonym: can_cuoc\n  examples: |\n    - cccd\n- regex: dossier\n  examples: |\n    - HS-\\d+\n',
                 encoding="utf-8")
    assert load_nlu_yaml(f) == {"ask_question": ["làm căn cước ở đâu", "lệ phí khai sinh"]}
    f.write_text("nlu:\n- intent: order_pizza\n  examples: |\n    - pizza\n", encoding="utf-8")
    with pytest.raises(NluDataError, match="unknown intent 'order_pizza'"):
        load_nlu_yaml(f)
    f.write_text("nlu:\n- intent: greeting\n  examples: |\n    xin chào\n", encoding="utf-8")
    with pytest.raises(NluDataError, match="must start with '- '"):
        load_nlu_yaml(f)


def test_classifier_on_examples_not_in_training(nlu_dir: Path) -> None:
    norm = TextNormalizer(load_synonyms(nlu_dir / "synonyms.yml"), syllables=frozenset())
    clf = IntentClassifier(load_nlu_yaml(nlu_dir / "nlu.yml"), norm.expand)
    held_out = read_eval(nlu_dir / "eval" / "intents.tsv")
    right = sum(clf.predict(it.text).intent == it.expected[7:] for it in held_out)
    assert right / len(held_out) >= 0.85, right


@pytest.mark.parametrize("text,intent", [
    ("xin chào ạ", "greeting"), ("chao ad", "greeting"), ("menu", "help"), ("tro giup", "help"),
    ("toi muon lam khao sat", "start_survey"), ("đánh giá bộ phận một cửa", "start_survey"),
    ("toi muon gop y du thao", "give_opinion"), ("cán bộ gây khó dễ", "complaint"),
    ("cho gap can bo", "talk_to_official"), ("STOP", "stop"), ("thoi k lam nua", "stop"),
    ("cam on nhieu nha", "thanks"), ("tạm biệt", "thanks"),
])
def test_the_backend_routes_what_is_not_a_question(seed_nlu: BuiltinNlu, text: str, intent: str) -> None:
    u = seed_nlu.understand_sync(text)
    assert (u.intent, u.answer, u.escalate) == (intent, None, False), u.to_json()


def test_questions_are_questions_even_near_survey_words(seed_nlu: BuiltinNlu) -> None:
    u = seed_nlu.understand_sync("SIPAS là gì vậy")
    assert u.intent == "ask_question" and u.answer_id == "sipas.gioi_thieu"
    u = seed_nlu.understand_sync("câu trả lời khảo sát có được giữ bí mật không")
    assert u.intent == "ask_question" and u.answer_id == "baomat.an_danh"


def test_a_question_about_surveys_is_not_the_command_to_start_one(seed_nlu: BuiltinNlu) -> None:
    """Asking how long or how a survey works gets the official answer (or the choice of it), while
    asking to take one still opens the survey menu."""
    for text, expected in (("phiếu đánh giá một cửa có dài không", "khaosat.thoi_gian"),
                           ("lam khao sat tren zalo kieu gi", "khaosat.cach_tham_gia")):
        u = seed_nlu.understand_sync(text)
        first = u.answer_id or (u.candidates[0].answer_id if u.candidates else None)
        assert u.intent == "ask_question" and first == expected, u.to_json()
    for text in ("cho minh lam phieu khao sat", "tham gia khảo sát ngay"):
        assert seed_nlu.understand_sync(text).intent == "start_survey"


def test_gibberish_is_none(seed_nlu: BuiltinNlu) -> None:
    for text in ("", "...", "😀", "\x00\x01"):
        u = seed_nlu.understand_sync(text)
        assert u.intent == "none" and u.answer is None and not u.escalate
