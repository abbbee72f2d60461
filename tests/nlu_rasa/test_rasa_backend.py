"""The Rasa backend for real: ``make rasa`` builds the Python 3.10 venv and trains the model from
nlu_data/ (both cached, so only the first run on a machine is slow), a real ``rasa run`` serves it
on a free 127.0.0.1 port (tests/nlu_rasa/conftest.py), and RasaNlu classifies messages that are in
no training file."""
from __future__ import annotations

import pytest

from bot.nlu.base import Candidate, Understanding
from bot.nlu.rasa import RasaNlu
from bot.settings import REPO_ROOT

pytestmark = pytest.mark.rasa

# Written for this test; none of them is in nlu_data/nlu.yml (checked below).
HELD_OUT = {
    "greeting": ["xin chào cả nhà", "chào buổi chiều ạ", "hello ad"],
    "stop": ["tôi không muốn trả lời tiếp", "dừng khảo sát giúp tôi", "huỷ đi"],
    "ask_question": ["cho tôi hỏi đăng ký kết hôn cần giấy tờ gì", "lam lai giay khai sinh o dau",
                     "thủ tục cấp đổi căn cước mất bao lâu"],
}


def training_texts() -> set[str]:
    texts = set()
    for line in (REPO_ROOT / "nlu_data" / "nlu.yml").read_text(encoding="utf-8").splitlines():
        line = line.strip()
        if line.startswith("- ") and not line.startswith("- intent:"):
            texts.add(line[2:].strip().lower())
    return texts


class OneAnswerKb:
    name = "kb"

    async def understand(self, text: str, *, unit: str | None = None) -> Understanding:
        return Understanding(text=text, intent="ask_question", confidence=0.8, answer="Tại UBND cấp xã.",
                             answer_id="kb-khai-sinh", candidates=(Candidate("kb-khai-sinh", "Làm khai sinh ở đâu?", 0.8),))

    async def entry(self, answer_id: str) -> Understanding | None:
        return None

    async def reload(self) -> None: ...

    async def close(self) -> None: ...


def test_examples_are_held_out() -> None:
    seen = training_texts()
    assert seen, "nlu_data/nlu.yml has no examples"
    for texts in HELD_OUT.values():
        for text in texts:
            assert text.lower() not in seen, text


async def test_rasa_classifies_held_out_messages(rasa_url: str) -> None:
    nlu = RasaNlu(rasa_url, timeout=10)
    try:
        got = {text: await nlu.understand(text) for texts in HELD_OUT.values() for text in texts}
    finally:
        await nlu.close()
    wrong = {text: (u.intent, round(u.confidence, 2)) for intent, texts in HELD_OUT.items()
             for text in texts if (u := got[text]).intent != intent}
    assert not wrong, wrong
    assert all(0.5 <= u.confidence <= 1.0 for u in got.values())
    assert not any(u.escalate for t, u in got.items() if t not in HELD_OUT["ask_question"])


async def test_question_intent_from_rasa_answer_from_the_knowledge_base(rasa_url: str) -> None:
    # answers_first=False: Rasa decides even though the knowledge base would answer everything
    nlu = RasaNlu(rasa_url, fallback=OneAnswerKb(), answers_first=False, timeout=10)
    try:
        q = await nlu.understand("lam lai giay khai sinh o dau", unit="p.hue")
        hello = await nlu.understand("xin chào cả nhà")
    finally:
        await nlu.close()
    assert (q.intent, q.answer_id, q.answer, q.escalate) == ("ask_question", "kb-khai-sinh", "Tại UBND cấp xã.", False)
    assert q.confidence > 0.5
    assert (hello.intent, hello.answer) == ("greeting", None)


async def test_held_out_intent_file_accuracy(rasa_url: str) -> None:
    """nlu_data/eval/intents.tsv (the held-out set every backend is measured on)."""
    path = REPO_ROOT / "nlu_data" / "eval" / "intents.tsv"
    if not path.exists():
        pytest.skip("nlu_data/eval/intents.tsv is not there")
    rows = [line.split("\t", 1) for line in path.read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]
    nlu = RasaNlu(rasa_url, timeout=10)
    misses = []
    try:
        for expected, text in rows:
            u = await nlu.understand(text.strip())
            if u.intent != expected.removeprefix("intent:"):
                misses.append((text, expected, u.intent))
    finally:
        await nlu.close()
    accuracy = 1 - len(misses) / len(rows)
    print(f"\nrasa intent accuracy on {path.name}: {accuracy:.1%} of {len(rows)}")
    assert accuracy >= 0.8, misses
