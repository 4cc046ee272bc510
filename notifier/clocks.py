"""Statutory clocks on an incident (pure).

- 《突发环境事件信息报告办法》(原环保部令2011年第17号): report to the higher level within 4 h
  (grades III-IV) or 2 h (grades I-II).
- The 5·24 rule (国办发〔2016〕80号, repeated in 晋环发〔2019〕48号 一 and 昌州环发〔2019〕59号
  一(三)): for grades I-II, authoritative public information within 5 h and a press conference
  within 24 h.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from notifier.enums import ClockKind, Grade
from notifier.routing.policy import Policy

BASIS = {
    ClockKind.REPORT_UPWARD: "《突发环境事件信息报告办法》(2011)",
    ClockKind.PUBLIC_INFORMATION: "“5·24”要求 国办发〔2016〕80号",
    ClockKind.PRESS_CONFERENCE: "“5·24”要求 国办发〔2016〕80号",
}


@dataclass(frozen=True, slots=True)
class ClockDue:
    kind: ClockKind
    due_at: datetime
    basis: str


def statutory_clocks(opened_at: datetime, *, grade: Grade, policy: Policy) -> list[ClockDue]:
    upward = policy.report_upward_hours_major if grade.major else policy.report_upward_hours
    clocks = [
        ClockDue(
            ClockKind.REPORT_UPWARD,
            opened_at + timedelta(hours=upward),
            BASIS[ClockKind.REPORT_UPWARD],
        )
    ]
    if grade.major:
        clocks += [
            ClockDue(
                ClockKind.PUBLIC_INFORMATION,
                opened_at + timedelta(hours=policy.public_information_hours),
                BASIS[ClockKind.PUBLIC_INFORMATION],
            ),
            ClockDue(
                ClockKind.PRESS_CONFERENCE,
                opened_at + timedelta(hours=policy.press_conference_hours),
                BASIS[ClockKind.PRESS_CONFERENCE],
            ),
        ]
    return clocks
