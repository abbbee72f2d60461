"""Custom action of the comparison bot: the 1-5 scale check of the questionnaire form.

Rasa validates form slots only through an action server (rasa_sdk), so the bot needs one, as any
Rasa form with validation does; its CPU and memory are counted with Rasa's in the benchmark.
"""
from __future__ import annotations

from typing import Any

from rasa_sdk import Tracker
from rasa_sdk.executor import CollectingDispatcher
from rasa_sdk.forms import FormValidationAction
from rasa_sdk.types import DomainDict

QUESTIONS = 10
SCALE = {"1", "2", "3", "4", "5"}


class ValidateSipasForm(FormValidationAction):
    """Accepts an answer of 1-5 (what Hailong's scale questions accept, less "don't know");
    anything else is refused and the form asks the same question again."""

    def name(self) -> str:
        return "validate_sipas_form"


def _validate_scale(self: ValidateSipasForm, value: Any, dispatcher: CollectingDispatcher, tracker: Tracker,
                    domain: DomainDict) -> dict[str, Any]:
    slot = tracker.get_slot("requested_slot")
    answer = str(value or "").strip().rstrip(".")
    if answer in SCALE:
        return {slot: answer}
    dispatcher.utter_message(response="utter_invalid_scale")
    return {slot: None}


# FormValidationAction finds validators by name (validate_<slot>): one per question slot
for _i in range(1, QUESTIONS + 1):
    setattr(ValidateSipasForm, f"validate_q{_i:02d}", _validate_scale)
