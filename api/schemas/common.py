"""Bounded field types: every string has a maximum length and no NUL byte or lone surrogate
(PostgreSQL and UTF-8 refuse both), every number a range."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import AfterValidator, BeforeValidator, Field, StringConstraints

_BAD = re.compile("[\x00\ud800-\udfff]")
MAX_ID = 2**31 - 1


def _clean(value: str) -> str:
    if _BAD.search(value):
        raise ValueError("含有 NUL 或无效字符 / contains a NUL byte or an invalid character")
    return value


Identifier = Annotated[
    str,
    StringConstraints(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:\-]+$"),
]
Note = Annotated[str, StringConstraints(max_length=4000), AfterValidator(_clean)]
ShortText = Annotated[str, StringConstraints(max_length=200), AfterValidator(_clean)]
RequiredText = Annotated[
    str, StringConstraints(min_length=1, max_length=4000), AfterValidator(_clean)
]
RowId = Annotated[int, Field(ge=1, le=MAX_ID)]


def digits_only(value: object) -> object:
    """A row id in a URL is ASCII digits only: pydantic's lax int parsing would read "1 " or
    "1\u00a0" as 1, and a mistyped link must not open another incident's page."""
    if isinstance(value, str) and not (value.isascii() and value.isdigit()):
        raise ValueError("编号只能是数字 / an id is digits only")
    return value


PathDigits = BeforeValidator(digits_only)
Longitude = Annotated[float, Field(ge=-180.0, le=180.0)]
Latitude = Annotated[float, Field(ge=-90.0, le=90.0)]
