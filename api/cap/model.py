"""The inputs of the CAP builder: an incident as the app reads it from the database.

Times are aware datetimes (stored in UTC); the builder writes them in Beijing time (+08:00).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from shapely.geometry.base import BaseGeometry

DEFAULT_RESTRICTION = (
    "仅限生态环境部门跨界水污染应急通报使用，不得向社会公开发布 · "
    "For ecological-environment bureaus' cross-boundary pollution notification only; "
    "not for public release"
)


@dataclass(frozen=True, slots=True)
class CapText:
    """The same text in Chinese (zh-CN) and English (en-US)."""

    zh: str
    en: str


@dataclass(frozen=True, slots=True)
class CapArea:
    """One affected place: a jurisdiction (polygons, its administrative code) or the river path.

    ``geometry`` is in lon/lat (EPSG:4326). Polygons and multipolygons are written as CAP
    polygons; lines (the path of the pollution) are first widened into a band.
    """

    name: CapText
    geometry: BaseGeometry | None
    geocode: str | None = None  # administrative code (652323), written as geocode "ADCODE"


@dataclass(frozen=True, slots=True)
class CapUpdate:
    """A follow-up (续报): new facts, and the grade when it changed."""

    sent: datetime
    text: CapText
    grade: str | None = None


@dataclass(frozen=True, slots=True)
class CapEnd:
    """The end of the alert (终报 or cancellation), written as msgType Cancel."""

    sent: datetime
    reason: CapText


@dataclass(frozen=True, slots=True)
class CapAck:
    """A bureau's acknowledgement of the notice, written as msgType Ack from that bureau."""

    sent: datetime
    sender: str  # the bureau's CAP sender id, e.g. "652323@rivernotify.example"
    bureau: str  # 昌吉州生态环境局呼图壁县分局
    note: str = ""


@dataclass(frozen=True, slots=True)
class CapIncident:
    incident_id: str
    sender: str  # CAP sender id of the notifying bureau; no spaces, commas, < or &
    sender_name: CapText
    sent: datetime  # when the first notice went out
    grade: str | None  # "I".."IV" (特别重大 .. 一般), None while not yet graded
    drill: bool
    headline: CapText
    description: CapText
    instruction: CapText
    web: str  # the incident's page
    areas: tuple[CapArea, ...] = ()
    updates: tuple[CapUpdate, ...] = ()
    end: CapEnd | None = None
    acks: tuple[CapAck, ...] = ()
    onset: datetime | None = None  # when the pollution was first observed
    contact: str | None = None
    restriction: str = DEFAULT_RESTRICTION
