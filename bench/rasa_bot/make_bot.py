#!/usr/bin/env python3
"""Write the generated half of the comparison Rasa bot into a build folder.

The bot must ask what Hailong asks and answer what Hailong answers, so its domain is generated
from the same sources instead of being copied by hand (a copy would drift):

* ``domain.yml``: the intents of ``nlu_data/domain.yml`` plus ``faq``; a form ``sipas_form`` over
  the first ``--questions`` scale questions of ``survey_flows/sipas.yaml`` (slot per question,
  filled from the text while the form asks for it, validated 1-5 by the action server); their
  wording and the scale labels as buttons; one ``utter_faq/<entry>`` response per knowledge-base
  entry of ``nlu_data/kb/seed.jsonl``, with its answer.
* ``faq.yml``: the retrieval intent ``faq/<entry>`` with each entry's question as its example.

The hand-written half (config.yml, data/rules.yml, actions/) stays in ``bench/rasa_bot/``.
Runs under either venv (needs only PyYAML). Called by ``bench/rasa_bot/run``.
"""
from __future__ import annotations

import argparse
import json
import re
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parents[2]
FORM = "sipas_form"


def _entry_name(entry_id: str) -> str:
    """Retrieval sub-intent name: Rasa splits on ``/``; keep it to letters, digits and ``_``."""
    return re.sub(r"[^A-Za-z0-9_]", "_", entry_id)


def scale_questions(flow: dict[str, Any], count: int) -> list[dict[str, Any]]:
    """The first ``count`` questions of type scale, in the order the survey asks them."""
    out = [q for s in flow["sections"] for q in s["questions"] if q.get("type") == "scale"]
    if len(out) < count:
        raise SystemExit(f"the flow has only {len(out)} scale questions")
    return out[:count]


def build_domain(flow: dict[str, Any], kb: list[dict[str, Any]], intents: list[str], count: int) -> dict[str, Any]:
    questions = scale_questions(flow, count)
    slots = [f"q{i:02d}" for i in range(1, count + 1)]
    responses: dict[str, Any] = {
        "utter_greet": [{"text": "Xin chào! Tôi là trợ lý Hài lòng. Ông/Bà muốn tham gia khảo sát hay hỏi về thủ tục?"}],
        "utter_help": [{"text": "Ông/Bà có thể gõ \"khảo sát\" để trả lời phiếu SIPAS, hoặc gõ câu hỏi về thủ tục."}],
        "utter_thanks": [{"text": "Cảm ơn Ông/Bà."}],
        "utter_stop": [{"text": "Vâng. Tôi sẽ không gửi thêm tin nhắn nào cho đến khi Ông/Bà nhắn lại."}],
        "utter_forwarded": [{"text": "Tôi đã chuyển ý kiến của Ông/Bà tới cán bộ phụ trách."}],
        "utter_default": [{"text": "Xin lỗi, tôi chưa hiểu. Ông/Bà gõ \"khảo sát\" hoặc gõ câu hỏi về thủ tục."}],
        "utter_invalid_scale": [{"text": "Xin Ông/Bà chọn một mức từ 1 đến 5."}],
        "utter_survey_done": [{"text": " ".join(str(flow.get("closing") or "Cảm ơn Ông/Bà.").split())}],
    }
    choices = [c for c in flow["scales"]["satisfaction"]["choices"] if not c.get("no_answer")]
    buttons = [{"title": f"{c['id']}. {c['label']}", "payload": str(c["id"])} for c in choices]
    for i, (slot, q) in enumerate(zip(slots, questions), 1):
        text = " ".join(q["text"].split())
        responses[f"utter_ask_{slot}"] = [{"text": f"Câu {i}/{count}\n{text}", "buttons": buttons}]
    for e in kb:
        responses[f"utter_faq/{_entry_name(e['id'])}"] = [{"text": e["answer"]}]
    return {
        "version": "3.1",
        "intents": [*intents, "faq"],
        # each slot is filled from the text only while the form asks for it
        "slots": {s: {"type": "text", "influence_conversation": False, "mappings": [
            {"type": "from_text", "conditions": [{"active_loop": FORM, "requested_slot": s}]}]} for s in slots},
        "forms": {FORM: {"required_slots": slots}},
        "actions": ["validate_sipas_form"],
        "responses": responses,
        "session_config": {"session_expiration_time": 60, "carry_over_slots_to_new_session": False},
    }


def build_faq(kb: list[dict[str, Any]]) -> dict[str, Any]:
    return {"version": "3.1", "nlu": [
        {"intent": f"faq/{_entry_name(e['id'])}", "examples": f"- {' '.join(e['question'].split())}\n"} for e in kb]}


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("out", type=Path, help="build folder to write domain.yml and faq.yml into")
    p.add_argument("--questions", type=int, default=10, help="scale questions in the form (default 10)")
    args = p.parse_args(argv)
    flow = yaml.safe_load((ROOT / "survey_flows" / "sipas.yaml").read_text(encoding="utf-8"))
    kb = [json.loads(line) for line in (ROOT / "nlu_data" / "kb" / "seed.jsonl").read_text(encoding="utf-8").splitlines()
          if line.strip()]
    intents = yaml.safe_load((ROOT / "nlu_data" / "domain.yml").read_text(encoding="utf-8"))["intents"]
    args.out.mkdir(parents=True, exist_ok=True)
    dump = {"allow_unicode": True, "sort_keys": False, "width": 1000}
    (args.out / "domain.yml").write_text(yaml.safe_dump(build_domain(flow, kb, intents, args.questions), **dump),
                                         encoding="utf-8")
    (args.out / "faq.yml").write_text(yaml.safe_dump(build_faq(kb), **dump), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
