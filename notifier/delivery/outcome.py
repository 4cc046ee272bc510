"""What happened to one send, in the vocabulary of the delivery_attempts table.

Classification lives here so that SMTP and webhooks share one idea of "temporary" (retry) and
"permanent" (stop and escalate): a bureau that cannot be reached must be reported upwards, but a
slow or busy server must not trigger that report.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Result(StrEnum):
    SENT = "sent"
    TEMPORARY = "temporary_failure"
    PERMANENT = "permanent_failure"


@dataclass(frozen=True, slots=True)
class Outcome:
    """One attempt's result plus the server's own words (stored verbatim for the audit trail)."""

    result: Result
    reply: str
    attempted: bool = True  # False: the batch was abandoned before this message was tried

    @property
    def sent(self) -> bool:
        return self.result is Result.SENT


def sent(reply: str) -> Outcome:
    return Outcome(Result.SENT, reply)


def temporary(reply: str) -> Outcome:
    return Outcome(Result.TEMPORARY, reply)


def not_attempted(reason: str) -> Outcome:
    return Outcome(Result.TEMPORARY, f"not attempted: {reason}", attempted=False)


def permanent(reply: str) -> Outcome:
    return Outcome(Result.PERMANENT, reply)


def classify_smtp_code(code: int) -> Result:
    """RFC 5321: 2xx accepted, 4xx transient (retry), 5xx permanent.

    Anything outside those ranges (aiosmtplib uses -1 for protocol trouble) is treated as
    temporary: we cannot tell that the recipient is unreachable, only that this try failed.
    """
    if 200 <= code < 300:
        return Result.SENT
    if 500 <= code < 600:
        return Result.PERMANENT
    return Result.TEMPORARY


def classify_http_status(status: int) -> Result:
    """2xx sent; 408, 429 and 5xx temporary; every other status permanent (bad URL, auth)."""
    if 200 <= status < 300:
        return Result.SENT
    if status in (408, 425, 429) or status >= 500:
        return Result.TEMPORARY
    return Result.PERMANENT
