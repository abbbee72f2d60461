"""`understand` never raises and always returns a well-formed Understanding, whatever is typed."""
from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from bot.nlu import INTENTS
from bot.nlu.builtin import BuiltinNlu

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
texts = st.one_of(
    st.text(),
    st.text(alphabet=st.sampled_from(list(VIETNAMESE + " ?!.,0123456789")), max_size=200),
    st.text(alphabet=st.characters(min_codepoint=0, max_codepoint=0x1F),
            max_size=50),                                         # control characters
    st.lists(st.sampled_from(["😀", "🇻🇳", "\u200b", "\ufeff", "\u0301", "ạ", " ", "cccd"]), max_size=50).map("".join),
    st.integers(min_value=1, max_value=10_000).map(lambda n: ("lam cccd o dau " * n)[:10_000]),
)


def _check(nlu: BuiltinNlu, text: str, unit: str | None) -> None:
    u = nlu.understand_sync(text, unit=unit)
    assert u.intent in INTENTS
    assert 0.0 <= u.confidence <= 1.0
    assert (u.answer is None) == (u.answer_id is None)
    assert not (u.answer and u.escalate)
    assert len(u.candidates) <= 3
    json.dumps(u.to_json(), ensure_ascii=False)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=texts, unit=st.sampled_from([None, "p.ha_noi", "bo_cong_an", ""]))
def test_understand_never_raises(seed_nlu: BuiltinNlu, text: str, unit: str | None) -> None:
    _check(seed_nlu, text, unit)


def test_ten_thousand_characters(seed_nlu: BuiltinNlu) -> None:
    for text in ("a" * 10_000, "đăng ký khai sinh " * 600, "😀" * 10_000, "\x00" * 10_000, "x" + " " * 9_999):
        _check(seed_nlu, text, None)


async def test_the_async_api_too(seed_nlu: BuiltinNlu) -> None:
    u = await seed_nlu.understand("\x00😀 lam cccd o dau???")
    assert u.answer_id == "cancuoc.noi_lam"
