"""Bureau use cases: seeding from the network and data/bureaus.csv, looking up contacts."""

from __future__ import annotations

import csv
from collections.abc import Mapping
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from basins.model import Hierarchy
from notifier.audit.service import record, snapshot
from notifier.bureaus.models import Bureau
from notifier.bureaus.schemas import BureauContacts, Contact, SeedResult, Webhook
from notifier.enums import Channel

WEBHOOK_FORMATS = frozenset({"generic", "wecom", "dingtalk"})
CONTACT_COLUMNS = (
    "jurisdiction_id",
    "bureau",
    "bureau_en",
    "email",
    "webhook_url",
    "webhook_format",
    "duty_name",
    "duty_phone",
)
_FIELDS = (
    "jurisdiction_name",
    "kind",
    "name_zh",
    "name_en",
    "supervisor_id",
    "emails",
    "webhooks",
    "duty_name",
    "duty_phone",
)


class ContactsFileError(ValueError):
    """data/bureaus.csv has problems; the message lists every one of them."""


def _split(value: str | None) -> list[str]:
    return [part.strip() for part in (value or "").split(";") if part.strip()]


def read_bureau_contacts(path: Path) -> dict[str, BureauContacts]:
    """Contacts per jurisdiction from data/bureaus.csv (several addresses joined by ';').

    Every problem is collected and raised once, with its line number.
    """
    problems: list[str] = []
    result: dict[str, BureauContacts] = {}
    with path.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        missing = [c for c in ("jurisdiction_id", "email") if c not in (reader.fieldnames or [])]
        if missing:
            raise ContactsFileError(f"{path}: 缺少列 / missing columns: {', '.join(missing)}")
        for line, row in enumerate(reader, start=2):
            jid = (row.get("jurisdiction_id") or "").strip()
            if not jid:
                problems.append(f"{path}:{line}: 缺少 jurisdiction_id / empty jurisdiction_id")
                continue
            if jid in result:
                problems.append(f"{path}:{line}: 重复 / duplicate jurisdiction_id {jid}")
            emails = _split(row.get("email"))
            problems += [
                f"{path}:{line}: 邮箱无效 / invalid email {e!r}" for e in emails if "@" not in e
            ]
            urls = _split(row.get("webhook_url"))
            fmt = (row.get("webhook_format") or "").strip() or "generic"
            if urls and fmt not in WEBHOOK_FORMATS:
                problems.append(f"{path}:{line}: 未知 webhook_format / unknown format {fmt!r}")
            problems += [
                f"{path}:{line}: webhook 地址无效 / invalid webhook URL {u!r}"
                for u in urls
                if not u.startswith(("http://", "https://"))
            ]
            result[jid] = BureauContacts(
                jurisdiction_id=jid,
                bureau=(row.get("bureau") or "").strip(),
                bureau_en=(row.get("bureau_en") or "").strip(),
                emails=tuple(emails),
                webhooks=tuple(Webhook(url=u, format=fmt) for u in urls),
                duty_name=(row.get("duty_name") or "").strip(),
                duty_phone=(row.get("duty_phone") or "").strip(),
            )
    if problems:
        raise ContactsFileError("\n".join(problems))
    return result


def _depth(hierarchy: Hierarchy, jid: str) -> int:
    return len(hierarchy.ancestors(jid))


def seed_bureaus(
    session: Session,
    *,
    hierarchy: Hierarchy,
    contacts: Mapping[str, BureauContacts],
    now: datetime,
    actor: str = "system:seed",
) -> SeedResult:
    """Create or update one bureau per jurisdiction; running it again changes nothing.

    Parents are written before children so the supervisor foreign key always holds.
    """
    result = SeedResult()
    existing = {b.jurisdiction_id: b for b in session.scalars(select(Bureau))}
    ordered = sorted(hierarchy.jurisdictions, key=lambda j: (_depth(hierarchy, j), j))
    depth = 0
    for jid in ordered:
        if _depth(hierarchy, jid) != depth:  # parents reach the database before children
            session.flush()
            depth = _depth(hierarchy, jid)
        wanted = _wanted(hierarchy, jid, contacts)
        bureau = existing.get(jid)
        if bureau is None:
            session.add(Bureau(jurisdiction_id=jid, updated_at=now, **wanted))
            record(
                session,
                actor=actor,
                action="bureau.seed",
                entity="bureau",
                entity_id=jid,
                at=now,
                after=wanted,
            )
            result.created.append(jid)
            continue
        before = snapshot(bureau, _FIELDS)
        if before == wanted:
            result.unchanged += 1
            continue
        for name, value in wanted.items():
            setattr(bureau, name, value)
        bureau.updated_at = now
        record(
            session,
            actor=actor,
            action="bureau.update",
            entity="bureau",
            entity_id=jid,
            at=now,
            before=before,
            after=wanted,
        )
        result.updated.append(jid)
    session.flush()
    return result


def _wanted(
    hierarchy: Hierarchy, jid: str, contacts: Mapping[str, BureauContacts]
) -> dict[str, Any]:
    juris = hierarchy.jurisdictions[jid]
    extra = contacts.get(jid, BureauContacts(jurisdiction_id=jid))
    return {
        "jurisdiction_name": juris.name,
        "kind": str(juris.kind),
        "name_zh": juris.bureau or extra.bureau or f"{juris.name}生态环境局",
        "name_en": extra.bureau_en,
        "supervisor_id": juris.parent if juris.parent in hierarchy.jurisdictions else None,
        "emails": list(extra.emails),
        "webhooks": [{"url": w.url, "format": w.format} for w in extra.webhooks],
        "duty_name": extra.duty_name,
        "duty_phone": extra.duty_phone,
    }


def contacts_of(bureau: Bureau) -> list[Contact]:
    """Every address of a bureau, one per channel and recipient, emails first."""
    found = [Contact(channel=Channel.EMAIL, recipient=e) for e in bureau.emails]
    found += [
        Contact(
            channel=Channel.WEBHOOK,
            recipient=str(w["url"]),
            webhook_format=str(w.get("format") or "generic"),
        )
        for w in bureau.webhooks
    ]
    return found
