"""A NUL character in what a respondent typed, reaching the core on PostgreSQL.

The platform parsers drop NUL, and the web chat (and any future channel) hands text to the core
as it came. On PostgreSQL no text column can hold NUL: before ``Inbound`` dropped it, a question
with one was never forwarded to officials (the ``qa_tickets`` insert failed on every attempt until
the event was marked failed), and a following message of the same user stayed ``pending``.
"""
from __future__ import annotations

from admin.live import Server
from bot.app import SERVICES
from bot.messages import Inbound

from .test_webhooks import inbox_rows, server  # noqa: F401  (the module's PostgreSQL server fixture)


def test_a_question_with_nul_is_forwarded(server: Server) -> None:  # noqa: F811
    user = "2512736519000000888"
    question = Inbound("zalo", user, kind="text", text="tại sao\x00 phải nộp phí?", message_id="zalo:core-nul-1")
    then = Inbound("zalo", user, kind="text", text="a\x00b", message_id="zalo:core-nul-2")
    for ev in (question, then):
        assert server.run(server.app[SERVICES].inbox.accept([ev])) == 1
        [row] = inbox_rows(server, "zalo", [ev.message_id])
        assert row.status == "done", row  # handled: the question forwarded, the text answered
