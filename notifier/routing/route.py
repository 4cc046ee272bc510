"""From the trace of a river to the ordered notices of one incident (pure).

Rules (昌州环发〔2019〕59号 一(四); 晋环发〔2019〕48号 二):
- ``source``: every jurisdiction the downstream walk enters within the horizon, by arrival;
  ``observed_downstream``: the upstream walk likewise; ``both``: both.
- The first foreign jurisdiction on every path is always notified; further ones within the
  horizon (hours or kilometres, either suffices). The other bank of a boundary reach is
  notified together with the bank that administers it (the origin reach's other bank at once,
  at distance 0).
- Copies: the origin's supervising bureau; the prefecture (XPCC division) bureau of every
  notified unit in another prefecture; across a province boundary the adjacent prefecture
  (``adjacent_prefecture``) and the origin's own province (``provincial_copy``); and the
  province wherever its policy says the report goes up at once (Shanxi).
- One notice per bureau: the strongest role wins.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from basins.model import Hierarchy, JurisdictionKind, TraceEntry
from notifier.enums import ROLE_STRENGTH, Grade, NoticeRole, ReportDirection
from notifier.notices.deadlines import ack_deadline
from notifier.routing.policy import Policy

ROLE_ZH = {
    NoticeRole.DOWNSTREAM: "下游相邻",
    NoticeRole.UPSTREAM: "上游相邻",
    NoticeRole.BOUNDARY: "界河对岸",
    NoticeRole.SUPERVISOR_COPY: "上级抄送",
    NoticeRole.ADJACENT_PREFECTURE: "下游省相邻地市",
    NoticeRole.PROVINCIAL_COPY: "报告省级生态环境部门",
}
_PRIMARY = frozenset({NoticeRole.DOWNSTREAM, NoticeRole.UPSTREAM, NoticeRole.BOUNDARY})
# Order of copies that share a trigger time: the origin's supervisor first.
_COPY_RANK = {
    NoticeRole.SUPERVISOR_COPY: 0,
    NoticeRole.PROVINCIAL_COPY: 1,
    NoticeRole.ADJACENT_PREFECTURE: 2,
}


@dataclass(frozen=True, slots=True)
class NoticeDecision:
    jurisdiction_id: str
    role: NoticeRole
    reason: str
    crossing_reach: str | None
    distance_km: float | None
    eta_hours: float | None
    eta_at: datetime | None
    ack_deadline: datetime


@dataclass(frozen=True, slots=True)
class _Candidate:
    jurisdiction_id: str
    role: NoticeRole
    entry: TraceEntry | None
    rank: int  # copy order among equals; 0 for primaries

    @property
    def eta(self) -> float:
        return self.entry.eta_hours if self.entry is not None else 0.0


def within_horizon(entry: TraceEntry, *, policy: Policy) -> bool:
    if entry.adjacent:
        return True
    return entry.eta_hours <= policy.max_hours or entry.distance_km <= policy.max_km


def copy_target(hierarchy: Hierarchy, jurisdiction_id: str) -> str | None:
    """The bureau a unit reports to: its prefecture or XPCC division, else its parent."""
    if jurisdiction_id not in hierarchy.jurisdictions:
        return None
    prefecture = hierarchy.prefecture_of(jurisdiction_id)
    if prefecture is not None and prefecture != jurisdiction_id:
        return prefecture
    return hierarchy.supervisor_of(jurisdiction_id)


def _walks(
    direction: ReportDirection,
    downstream: Sequence[TraceEntry],
    upstream: Sequence[TraceEntry],
) -> list[tuple[NoticeRole, Sequence[TraceEntry]]]:
    walks: list[tuple[NoticeRole, Sequence[TraceEntry]]] = []
    if direction in (ReportDirection.SOURCE, ReportDirection.BOTH):
        walks.append((NoticeRole.DOWNSTREAM, downstream))
    if direction in (ReportDirection.OBSERVED_DOWNSTREAM, ReportDirection.BOTH):
        walks.append((NoticeRole.UPSTREAM, upstream))
    return walks


def _clean(entry: TraceEntry) -> TraceEntry:
    """Rounding in a trace can leave -1e-12 h at the origin; times and distances are >= 0."""
    if entry.eta_hours >= 0 and entry.distance_km >= 0:
        return entry
    return dataclasses.replace(
        entry,
        eta_hours=max(entry.eta_hours, 0.0) + 0.0,
        distance_km=max(entry.distance_km, 0.0) + 0.0,
    )


def _keep(found: dict[str, _Candidate], candidate: _Candidate, origin: str) -> None:
    if candidate.jurisdiction_id == origin:
        return
    current = found.get(candidate.jurisdiction_id)
    if current is None:
        found[candidate.jurisdiction_id] = candidate
        return
    stronger = ROLE_STRENGTH[candidate.role] > ROLE_STRENGTH[current.role]
    same_sooner = candidate.role == current.role and candidate.eta < current.eta
    if stronger or same_sooner:
        found[candidate.jurisdiction_id] = candidate


def province_proper(hierarchy: Hierarchy, jurisdiction_id: str) -> str | None:
    """The province a unit lies in, or None on the XPCC line: the XPCC and a province are
    not "another province" to each other (their units notify each other as neighbours and
    copy the division, 昌州环发〔2019〕59号 一(四))."""
    if jurisdiction_id not in hierarchy.jurisdictions:
        return None
    for jid in [jurisdiction_id, *hierarchy.ancestors(jurisdiction_id)]:
        if hierarchy.jurisdictions[jid].kind is JurisdictionKind.PROVINCE:
            return jid
    return None


def _copies_for(
    entry: TraceEntry, origin: str, hierarchy: Hierarchy, policy: Policy
) -> list[_Candidate]:
    """Copies triggered by notifying ``entry``: its prefecture elsewhere; a province crossing."""
    jid = entry.jurisdiction_id
    known = jid in hierarchy.jurisdictions and origin in hierarchy.jurisdictions
    pref = hierarchy.prefecture_of(jid) if jid in hierarchy.jurisdictions else None
    origin_prov = province_proper(hierarchy, origin)
    if known:
        other_pref = pref != hierarchy.prefecture_of(origin)
        prov = province_proper(hierarchy, jid)
        other_prov = prov is not None and origin_prov is not None and prov != origin_prov
    else:
        other_pref, other_prov = entry.other_prefecture, entry.other_province
    copies: list[_Candidate] = []
    if policy.province_crossing and other_prov:
        if pref is not None and pref != jid:
            copies.append(_Candidate(pref, NoticeRole.ADJACENT_PREFECTURE, entry, 2))
        if origin_prov is not None:
            copies.append(_Candidate(origin_prov, NoticeRole.PROVINCIAL_COPY, entry, 1))
    elif policy.other_prefecture_supervisor and other_pref and pref is not None and pref != jid:
        copies.append(_Candidate(pref, NoticeRole.SUPERVISOR_COPY, entry, 0))
    return copies


def _bank_entries(
    hierarchy: Hierarchy, banks: Sequence[str], origin_reach: str | None
) -> list[TraceEntry]:
    """The other banks of the origin reach, met at once (distance and time 0)."""
    entries = []
    for bank in banks:
        known = hierarchy.jurisdictions.get(bank)
        entries.append(
            TraceEntry(
                jurisdiction_id=bank,
                name=known.name if known else bank,
                kind=known.kind if known else JurisdictionKind.COUNTY,
                first_reach=origin_reach or "",
                distance_km=0.0,
                eta_hours=0.0,
                eta_estimated=False,
                adjacent=True,
                boundary=True,
                other_prefecture=False,
                other_province=False,
            )
        )
    return entries


def _candidates(
    origin: str,
    *,
    direction: ReportDirection,
    downstream: Sequence[TraceEntry],
    upstream: Sequence[TraceEntry],
    hierarchy: Hierarchy,
    policy: Policy,
    banks: Sequence[TraceEntry],
) -> dict[str, _Candidate]:
    found: dict[str, _Candidate] = {}
    primaries: list[TraceEntry] = []
    walks = [(NoticeRole.BOUNDARY, banks), *_walks(direction, downstream, upstream)]
    for role, entries in walks:
        for entry in map(_clean, entries):
            if entry.jurisdiction_id == origin or not within_horizon(entry, policy=policy):
                continue
            primaries.append(entry)
            actual = NoticeRole.BOUNDARY if entry.boundary else role
            _keep(found, _Candidate(entry.jurisdiction_id, actual, entry, 0), origin)
    supervisor = copy_target(hierarchy, origin)
    if policy.origin_supervisor and supervisor is not None:
        _keep(found, _Candidate(supervisor, NoticeRole.SUPERVISOR_COPY, None, -1), origin)
    province = province_proper(hierarchy, origin)
    if primaries and province is not None and policy.province(province).report_to_province:
        _keep(found, _Candidate(province, NoticeRole.PROVINCIAL_COPY, None, 1), origin)
    for entry in sorted(primaries, key=lambda e: (e.eta_hours, e.distance_km)):
        for copy in _copies_for(entry, origin, hierarchy, policy):
            _keep(found, copy, origin)
    return found


def _reason(candidate: _Candidate, hierarchy: Hierarchy) -> str:
    role = candidate.role
    text = f"{ROLE_ZH[role]} / {role.value}"
    entry = candidate.entry
    if entry is not None:
        where = hierarchy.jurisdictions.get(entry.jurisdiction_id)
        name = where.name if where is not None else entry.name
        text += (
            f": 经河段 {entry.first_reach} 进入{name} / enters {entry.jurisdiction_id} via reach "
            f"{entry.first_reach}, {entry.distance_km:.1f} km, "
            f"{'约' if entry.eta_estimated else ''}{entry.eta_hours:.1f} h"
        )
    return text


def route(
    origin_jurisdiction_id: str,
    *,
    direction: ReportDirection,
    downstream: Sequence[TraceEntry],
    upstream: Sequence[TraceEntry],
    hierarchy: Hierarchy,
    policy: Policy,
    grade: Grade,
    now: datetime,
    other_banks: Sequence[str] = (),
    origin_reach: str | None = None,
) -> list[NoticeDecision]:
    """The notices for an incident at ``origin_jurisdiction_id``: river neighbours by arrival,
    then the copies in the order their trigger is reached. ``other_banks`` are the other
    jurisdictions of the origin reach (a boundary reach): notified at once, role boundary."""
    found = _candidates(
        origin_jurisdiction_id,
        direction=direction,
        downstream=downstream,
        upstream=upstream,
        hierarchy=hierarchy,
        policy=policy,
        banks=_bank_entries(hierarchy, other_banks, origin_reach),
    )

    def order(c: _Candidate) -> tuple[int, float, float, int, str]:
        distance = c.entry.distance_km if c.entry is not None else 0.0
        return (0 if c.role in _PRIMARY else 1, c.eta, distance, c.rank, c.jurisdiction_id)

    decisions: list[NoticeDecision] = []
    for c in sorted(found.values(), key=order):
        eta = c.entry.eta_hours if c.entry is not None else None
        decisions.append(
            NoticeDecision(
                jurisdiction_id=c.jurisdiction_id,
                role=c.role,
                reason=_reason(c, hierarchy),
                crossing_reach=c.entry.first_reach if c.entry is not None else None,
                distance_km=c.entry.distance_km if c.entry is not None else None,
                eta_hours=eta,
                eta_at=now + timedelta(hours=eta) if eta is not None else None,
                ack_deadline=ack_deadline(now, grade=grade, eta_hours=eta, policy=policy),
            )
        )
    return decisions
