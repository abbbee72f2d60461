"""When a campaign may message people: a daily window in Vietnam's time, optionally weekdays only.

Civil servants and citizens get invitations at sensible hours whatever the server's time zone;
Vietnam keeps one offset all year, so a fixed window a day is all there is.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, time, timedelta, timezone
from zoneinfo import ZoneInfo

TZ = ZoneInfo("Asia/Ho_Chi_Minh")
HHMM = re.compile(r"^([01]\d|2[0-3]):[0-5]\d$")


def parse_hhmm(value: str) -> time:
    if not HHMM.fullmatch(value):
        raise ValueError(f"{value!r} is not a time of day HH:MM")
    return time(int(value[:2]), int(value[3:]))


@dataclass(frozen=True)
class SendingHours:
    start: time
    end: time
    weekdays_only: bool = False

    @classmethod
    def of(cls, send_from: str, send_until: str, weekdays_only: bool = False) -> "SendingHours":
        start, end = parse_hhmm(send_from), parse_hhmm(send_until)
        if end <= start:
            raise ValueError("the sending window must end after it starts on the same day")
        return cls(start, end, weekdays_only)

    def to_json(self) -> dict[str, object]:
        """Kept with each campaign message in the outbox, so that a retry is held to the same hours."""
        return {"from": self.start.strftime("%H:%M"), "until": self.end.strftime("%H:%M"),
                "weekdays_only": self.weekdays_only}

    @classmethod
    def from_json(cls, data: object) -> "SendingHours | None":
        """None for anything but what ``to_json`` wrote (a message that is not a campaign's)."""
        if not isinstance(data, dict):
            return None
        try:
            return cls.of(str(data["from"]), str(data["until"]), bool(data.get("weekdays_only")))
        except (KeyError, ValueError):
            return None

    def window_end(self, now: datetime) -> datetime | None:
        """The end of the window ``now`` is in (UTC), or None when sending is not allowed now."""
        local = now.astimezone(TZ)
        if self.weekdays_only and local.weekday() >= 5:
            return None
        if not self.start <= local.time() < self.end:
            return None
        end = datetime.combine(local.date(), self.end, tzinfo=TZ)
        return end.astimezone(timezone.utc)

    def next_start(self, now: datetime) -> datetime:
        """The next moment sending is allowed (``now`` itself inside the window)."""
        if self.window_end(now) is not None:
            return now
        local = now.astimezone(TZ)
        day = local.date() if local.time() < self.start else local.date() + timedelta(days=1)
        while self.weekdays_only and day.weekday() >= 5:
            day += timedelta(days=1)
        return datetime.combine(day, self.start, tzinfo=TZ).astimezone(timezone.utc)
