"""What a signed-in person may see: their bureau, or a supervisor's whole subtree.

The subtree follows the bureaus' ``supervisor_id`` (the jurisdiction hierarchy as seeded),
so an XPCC division supervises its cities and regiments, a prefecture its counties and parks.
"""

from __future__ import annotations

from collections import defaultdict

from sqlalchemy import select
from sqlalchemy.orm import Session

from api.deps import Principal, forbidden
from notifier.accounts.roles import Role
from notifier.bureaus.models import Bureau
from notifier.incidents.models import Incident
from notifier.notices.models import Notice


def subtree(session: Session, root: str) -> set[str]:
    """``root`` and every bureau below it."""
    children: dict[str, list[str]] = defaultdict(list)
    for jid, parent in session.execute(select(Bureau.jurisdiction_id, Bureau.supervisor_id)):
        if parent is not None:
            children[parent].append(jid)
    found, stack = {root}, [root]
    while stack:
        for child in children.get(stack.pop(), ()):
            if child not in found:
                found.add(child)
                stack.append(child)
    return found


def visible_jurisdictions(session: Session, user: Principal) -> set[str] | None:
    """The bureaus whose business ``user`` may see; None means all (admin)."""
    if user.role is Role.ADMIN:
        return None
    if user.jurisdiction_id is None:
        return set()
    if user.role is Role.SUPERVISOR:
        return subtree(session, user.jurisdiction_id)
    return {user.jurisdiction_id}


def incident_parties(session: Session, incident: Incident) -> set[str]:
    """The origin's bureau and every bureau notified."""
    notified = session.scalars(
        select(Notice.jurisdiction_id).where(Notice.incident_id == incident.id)
    )
    return {incident.origin_jurisdiction_id, *notified}


def check_incident_visible(session: Session, user: Principal, incident: Incident) -> None:
    visible = visible_jurisdictions(session, user)
    if visible is not None and not (visible & incident_parties(session, incident)):
        raise forbidden(
            f"无权查看事件 {incident.id}", f"incident {incident.id} is outside your jurisdiction"
        )


def check_jurisdiction(session: Session, user: Principal, jurisdiction_id: str) -> None:
    visible = visible_jurisdictions(session, user)
    if visible is not None and jurisdiction_id not in visible:
        raise forbidden(
            f"{jurisdiction_id} 不在您的辖区内",
            f"{jurisdiction_id} is outside your jurisdiction",
        )
