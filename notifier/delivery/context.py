"""The render context: everything a message says, gathered before any template runs.

Building it from the database (``render.py``) is separate from turning it into an email or a
webhook payload, so that templates can be tested with plain values and the same context feeds
every channel.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

SHANGHAI = ZoneInfo("Asia/Shanghai")


class MessageKind(StrEnum):
    NOTICE = "notice"
    REMINDER = "reminder"
    ESCALATION = "escalation"
    FOLLOW_UP = "follow_up"
    END_OF_ALERT = "end_of_alert"
    DELIVERY_FAILURE = "delivery_failure"
    CLOCK_WARNING = "clock_warning"


#: Subject tag per kind (Chinese, as bureaus file their mail by these brackets).
SUBJECT_TAGS: dict[MessageKind, str] = {
    MessageKind.NOTICE: "【跨界水污染通报】",
    MessageKind.REMINDER: "【催办】【跨界水污染通报】",
    MessageKind.ESCALATION: "【升级】【跨界水污染通报】",
    MessageKind.FOLLOW_UP: "【续报】【跨界水污染通报】",
    MessageKind.END_OF_ALERT: "【解除】【跨界水污染通报】",
    MessageKind.DELIVERY_FAILURE: "【投递失败】",
    MessageKind.CLOCK_WARNING: "【时限提醒】",
}

#: (Chinese, English) label per notice role, as the engine names roles.
ROLE_LABELS: dict[str, tuple[str, str]] = {
    "downstream": ("下游相邻辖区", "downstream neighbour"),
    "upstream": ("上游相邻辖区", "upstream neighbour"),
    "boundary": ("界河对岸共管辖区", "boundary co-administrator"),
    "supervisor_copy": ("上级主管部门（抄送）", "supervising bureau (copy)"),
    "adjacent_prefecture": ("相邻地市（跨地市）", "adjacent prefecture"),
    "provincial_copy": ("省级主管部门（抄送）", "provincial department (copy)"),
}


@dataclass(frozen=True, slots=True)
class Measurement:
    """One measured value against its GB 3838-2002 limit for the reach's target class.

    ``limit_text`` is the limit as the standard states it ("≤ 20", "≥ 5", "6-9");
    ``exceedance`` is the factor over the limit (value / limit - 1 for a maximum), None when
    within the limit or not applicable.
    """

    code: str
    name_zh: str
    name_en: str
    value: float
    unit: str
    limit_text: str = ""
    target_class: int | None = None
    exceedance: float | None = None

    @property
    def exceeds(self) -> bool:
        return self.exceedance is not None and self.exceedance > 0


@dataclass(frozen=True, slots=True)
class Contact:
    name: str
    phone: str = ""
    email: str = ""
    role: str = ""


@dataclass(frozen=True, slots=True)
class MapGeometry:
    """Lon/lat geometries for the small map: origin point, the path, the recipient's area."""

    origin: BaseGeometry
    path: tuple[BaseGeometry, ...] = ()
    recipient_area: BaseGeometry | None = None


@dataclass(frozen=True, slots=True)
class NoticeContext:
    kind: MessageKind
    exercise: bool
    incident_id: int
    notice_id: int | None
    river: str
    origin_jurisdiction: str
    origin_bureau: str
    origin_reach: str
    origin_station: str | None
    lon: float | None
    lat: float | None
    observed_at: datetime
    recipient_bureau: str
    recipient_jurisdiction: str
    role: str
    message_id: str
    measurements: tuple[Measurement, ...] = ()
    distance_km: float | None = None
    eta: datetime | None = None
    eta_estimated: bool = True
    ack_deadline: datetime | None = None
    ack_url: str | None = None
    contacts: tuple[Contact, ...] = ()
    in_reply_to: str | None = None
    grade: str | None = None
    summary: str = ""  # reporter's free text, or the follow-up / end-of-alert text
    about_bureau: str | None = None  # escalation / delivery_failure: the bureau in question
    failed_reply: str | None = None  # delivery_failure: the server's last words
    clock_name: str | None = None  # clock_warning: which statutory clock
    clock_due: datetime | None = None
    map: MapGeometry | None = field(default=None, compare=False)

    def __post_init__(self) -> None:
        for name in ("observed_at", "eta", "ack_deadline", "clock_due"):
            value = getattr(self, name)
            if value is not None and value.tzinfo is None:
                raise ValueError(f"NoticeContext.{name} must be an aware datetime, got {value!r}")

    @property
    def role_zh(self) -> str:
        return ROLE_LABELS.get(self.role, (self.role, self.role))[0]

    @property
    def role_en(self) -> str:
        return ROLE_LABELS.get(self.role, (self.role, self.role))[1]

    @property
    def worst(self) -> Measurement | None:
        """The measurement furthest over its limit (it leads the subject line)."""
        over = [m for m in self.measurements if m.exceeds]
        return max(over, key=lambda m: m.exceedance or 0.0) if over else None


def shanghai_time(value: datetime | None) -> str:
    """A UTC instant as bureaus read it: Asia/Shanghai wall time with the zone spelled out."""
    if value is None:
        return "—"
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + " (北京时间 UTC+8)"


def shanghai_time_en(value: datetime | None) -> str:
    if value is None:
        return "-"
    return value.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M") + " (Beijing time, UTC+8)"
