from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Webhook:
    url: str
    format: str = "generic"  # generic | wecom | dingtalk


@dataclass(frozen=True, slots=True)
class BureauContacts:
    """One row of data/bureaus.csv, several addresses joined by ';' in the file."""

    jurisdiction_id: str
    bureau: str = ""
    bureau_en: str = ""
    emails: tuple[str, ...] = ()
    webhooks: tuple[Webhook, ...] = ()
    duty_name: str = ""
    duty_phone: str = ""


@dataclass(frozen=True, slots=True)
class Contact:
    """One address on one channel (an outbox row goes to each)."""

    channel: str
    recipient: str
    webhook_format: str | None = None


@dataclass(slots=True)
class SeedResult:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: int = 0
