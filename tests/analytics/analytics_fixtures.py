"""A small SIPAS + PAR INDEX round whose indices are computed by hand in the tests.

Rows are inserted with SQLAlchemy Core: the tests are about reading and scoring, not about how
the conversation writes. The same data runs on SQLite and on PostgreSQL (JSON-as-text differs).
"""
from __future__ import annotations

import secrets
from datetime import datetime, timedelta, timezone
from typing import Any

from sqlalchemy import Connection, select

from bot.flows import Flow, load_flow_file
from bot.settings import REPO_ROOT
from bot.store.db import create_engine_sync
from bot.store.flows_repo import checksum
from bot.store.tables import answers, flows, respondents, responses

VN = timezone(timedelta(hours=7))


def vn(y: int, m: int, d: int, h: int = 9, mi: int = 0) -> datetime:
    """A Vietnam wall-clock time as the UTC instant the bot stores."""
    return datetime(y, m, d, h, mi, tzinfo=VN).astimezone(timezone.utc)


def sipas() -> Flow:
    return load_flow_file(REPO_ROOT / "survey_flows" / "sipas.yaml")


def par_index() -> Flow:
    return load_flow_file(REPO_ROOT / "survey_flows" / "par_index.yaml")


def add_flow(conn: Connection, flow: Flow, source: dict[str, Any] | None = None, published: bool = True) -> None:
    src = source or flow.source
    conn.execute(flows.insert().values(flow_id=src["id"], version=src["version"], title=src["title"], source=src,
                                       checksum=checksum(src), published=published, created_at=vn(2024, 1, 1)))


def add_response(conn: Connection, rid: str, flow_id: str, *, unit: str | None, disposition: str = "completed",
                 at: datetime, answers_: dict[str, Any], version: int = 1, preview: bool = False,
                 channel: str = "zalo", invitation: str | None = None, respondent: str | None = None,
                 minutes: float = 10, context: dict[str, Any] | None = None) -> None:
    """One response ``minutes`` long ending at ``at``; ``respondent`` reuses a pseudonym."""
    pid = respondent or "p-" + rid
    if conn.execute(select(respondents.c.id).where(respondents.c.id == pid)).first() is None:
        conn.execute(respondents.insert().values(id=pid, channel=channel, key_hash=secrets.token_hex(16),
                                                 created_at=at))
    started = at - timedelta(minutes=minutes)
    conn.execute(responses.insert().values(
        id=rid, flow_id=flow_id, flow_version=version, respondent_id=pid, channel=channel, unit_code=unit,
        invitation_code=invitation, disposition=disposition, state={}, context=context, preview=preview,
        started_at=started, updated_at=at, completed_at=at if disposition == "completed" else None))
    if answers_:
        conn.execute(answers.insert(), [{"response_id": rid, "key": k, "value": v, "answered_at": at}
                                        for k, v in answers_.items()])


def _s(e1: Any, e2: Any, e3: Any, e4: Any, e5: Any, overall: Any, expectations: Any, **more: Any) -> dict[str, Any]:
    """SIPAS answers; e5 None means the feedback block was not asked (gave no feedback)."""
    out: dict[str, Any] = {"e1_satisfaction": e1, "e2_satisfaction": e2, "e3_satisfaction": e3, "e4_satisfaction": e4,
                           "e5_gave_feedback": "no" if e5 is None else "yes", "overall_satisfaction": overall}
    if e5 is not None:
        out["e5_satisfaction"] = e5
    if expectations is not None:
        out["expectations"] = expectations
    out.update(more)
    return out


def populate(url: str) -> None:
    engine = create_engine_sync(url)
    with engine.begin() as conn:
        add_flow(conn, sipas())
        add_flow(conn, par_index())
        # Six completed SIPAS responses: units 01 (Hà Nội) and 79 (TP HCM).
        add_response(conn, "s1", "sipas", unit="01", at=vn(2024, 2, 10), invitation="INV1", answers_=_s(
            "5", "4", "3", "4", "5", "4", ["info", "simpler"], province="01", service_used="other",
            service_used_other='=HYPERLINK("http://evil.example","bấm vào")', trips=2, gender="female"))
        add_response(conn, "s2", "sipas", unit="01", at=vn(2024, 2, 20), answers_=_s(
            "4", "2", "0", "5", None, "5", ["simpler"], province="01", service_used="land", trips=1))
        add_response(conn, "s3", "sipas", unit="01", at=vn(2024, 5, 5), channel="messenger", answers_=_s(
            "2", "0", "4", "4", "2", "3", ["faster", "fees", "attitude"], province="01", service_used="other",
            service_used_other="Cấp đổi giấy phép lái xe", trips=3))
        add_response(conn, "s4", "sipas", unit="79", at=vn(2024, 5, 15, 10), answers_=_s(
            "1", "5", "5", None, None, "0", ["info"], province="79", trips=4))  # e4 skipped: stored null
        add_response(conn, "s5", "sipas", unit="79", at=vn(2024, 8, 1), channel="telegram", answers_=_s(
            "0", "4", "4", "2", "4", "4", ["facilities", "simpler"], province="79", service_used="other",
            service_used_other="- thủ tục khác", trips=2))
        # 01:30 on 1 October in Vietnam is still 30 September in UTC: belongs to 2024-Q4.
        add_response(conn, "s6", "sipas", unit="79", at=vn(2024, 10, 1, 1, 30), answers_=_s(
            "5", "3", "4", "5", None, "5", None, province="79"))
        # Must never count in scores: a partial response and a preview; the refused one is export-only.
        add_response(conn, "s7", "sipas", unit="01", disposition="partial", at=vn(2024, 3, 1), answers_={
            "province": "01", "e1_satisfaction": "5", "e2_satisfaction": "5"})
        add_response(conn, "s8", "sipas", unit="01", preview=True, channel="preview", at=vn(2024, 3, 2), answers_=_s(
            "1", "1", "1", "1", "1", "1", ["competence"], province="01"))
        add_response(conn, "s9", "sipas", unit=None, disposition="refused", at=vn(2024, 3, 3), answers_={})
        # PAR INDEX: "0" is "Không biết" and must leave the mean.
        add_response(conn, "q1", "par_index", unit="BTP", at=vn(2024, 6, 1), answers_={
            "unit": "BTP", "respondent_role": "staff", "direction_plan": "5", "direction_leadership": "4",
            "direction_communication": "0", "finance_autonomy": "0", "finance_transparency": "0"})
        add_response(conn, "q2", "par_index", unit="BTP", at=vn(2024, 6, 2), answers_={
            "unit": "BTP", "direction_plan": "3", "direction_leadership": "0", "direction_communication": "4"})
        add_response(conn, "q3", "par_index", unit="48", at=vn(2024, 6, 3), answers_={
            "unit": "48", "direction_plan": "2", "direction_leadership": "5", "direction_communication": "1"})
        # No unit yet and only "không biết": counts as a response, moves no index, has no by_unit row.
        add_response(conn, "q4", "par_index", unit=None, at=vn(2024, 6, 4), answers_={"direction_plan": "0"})
    engine.dispose()
