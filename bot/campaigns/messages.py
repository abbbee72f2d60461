"""What an invitation and a reminder say. The code is the key for every channel: typed as the
first message it starts the survey (Zalo's links carry no parameter), and the web link works
from any phone or computer. The text names the survey and the unit so the person knows who asks.
"""
from __future__ import annotations

from ..messages import Outbound

INVITE = ("{unit} trân trọng mời Ông/Bà tham gia \"{title}\".\n"
          "Để bắt đầu, Ông/Bà gửi mã {code} vào cuộc trò chuyện này, hoặc mở {web}\n"
          "Mã chỉ dùng cho một người. Không muốn nhận nhắc lại: gửi mã, rồi gửi \"dừng khảo sát\".")
REMIND = ("Nhắc lại: {unit} mời Ông/Bà tham gia \"{title}\" (chỉ mất vài phút).\n"
          "Ông/Bà gửi mã {code} vào cuộc trò chuyện này để bắt đầu hoặc tiếp tục, hoặc mở {web}")


def invitation(*, round_: int, unit: str, title: str, code: str, web: str) -> Outbound:
    template = INVITE if round_ == 0 else REMIND
    return Outbound(template.format(unit=unit, title=title, code=code, web=web))
