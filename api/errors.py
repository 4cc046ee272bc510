"""The one place where errors become HTTP answers.

Every refusal has the same JSON shape, whatever raised it (a use case, request validation, the
router, the body-size guard)::

    {"error": {"code": "...", "message_zh": "...", "message_en": "...", "field": "...",
               "details": [{"message_zh", "message_en", "field"}, ...]}}

``details`` lists every problem when there were several (validation collects them all).
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException

from notifier.incidents.schemas import EngineError, NotFoundError

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 256 * 1024

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Problem:
    message_zh: str
    message_en: str
    field: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {"message_zh": self.message_zh, "message_en": self.message_en, "field": self.field}


class ApiError(Exception):
    """A refusal raised by the API layer itself (auth, scope, not found, bad format)."""

    def __init__(
        self,
        status: int,
        code: str,
        message_zh: str,
        message_en: str,
        *,
        field: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(f"{code}: {message_en}")
        self.status = status
        self.code = code
        self.message_zh = message_zh
        self.message_en = message_en
        self.field = field
        self.headers = headers or {}


# --- the documented shape (used in every route's `responses`) ------------------------------


class ErrorDetail(BaseModel):
    message_zh: str
    message_en: str
    field: str | None = None


class ErrorBody(BaseModel):
    code: str
    message_zh: str
    message_en: str
    field: str | None = None
    details: list[ErrorDetail] = []


class ErrorResponse(BaseModel):
    error: ErrorBody


def error_responses(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """The ``responses=`` entry documenting the error shape for these statuses, besides
    400 (NUL in the query, a body that is not UTF-8) and 413 (body too large), which any
    request can meet."""
    return {status: {"model": ErrorResponse} for status in sorted({400, 413, *statuses})}


# --- building answers ------------------------------------------------------------------------


def split_bilingual(text: str) -> Problem:
    """D's use cases write "中文 / English"; split it (both halves when there is no slash)."""
    zh, sep, en = text.partition(" / ")
    return Problem(zh.strip(), en.strip()) if sep else Problem(text, text)


def error_json(
    status: int,
    code: str,
    problems: list[Problem],
    *,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    first = problems[0] if problems else Problem("错误", "error")
    body = {
        "error": {
            "code": code,
            "message_zh": "；".join(p.message_zh for p in problems) or first.message_zh,
            "message_en": "; ".join(p.message_en for p in problems) or first.message_en,
            "field": first.field,
            "details": [p.as_json() for p in problems],
        }
    }
    return JSONResponse(body, status_code=status, headers=headers)


_STATUS_TEXT = {
    400: ("请求有误", "bad request", "bad_request"),
    401: ("未登录或凭证无效", "not authenticated", "unauthenticated"),
    403: ("无权操作", "forbidden", "forbidden"),
    404: ("未找到", "not found", "not_found"),
    405: ("不支持该方法", "method not allowed", "method_not_allowed"),
    406: ("不支持该格式", "not acceptable", "not_acceptable"),
    413: ("请求体过大", "request body too large", "body_too_large"),
    415: ("不支持的内容类型", "unsupported media type", "unsupported_media_type"),
}


def _location(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "form")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


def _validation_problem(error: dict[str, Any]) -> Problem:
    if error.get("type") == "json_invalid":
        at = next((p for p in error.get("loc", ()) if isinstance(p, int)), None)
        where = f" (at character {at})" if at is not None else ""
        return Problem(
            f"请求体不是有效的 JSON{where}", f"the body is not valid JSON{where}", "body"
        )
    where = _location(tuple(error.get("loc", ())))
    message = str(error.get("msg", "invalid"))
    if message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    if " / " in message:
        bilingual = split_bilingual(message)
        return Problem(bilingual.message_zh, bilingual.message_en, where)
    return Problem(f"{where or '请求'} 无效：{message}", f"{where or 'request'}: {message}", where)


# --- handlers ------------------------------------------------------------------------------


async def _api_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, ApiError)
    problem = Problem(exc.message_zh, exc.message_en, exc.field)
    return error_json(exc.status, exc.code, [problem], headers=exc.headers or None)


async def _not_found(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, NotFoundError)
    return error_json(404, "not_found", [split_bilingual(p) for p in exc.problems])


async def _engine_error(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, EngineError)
    return error_json(422, "rejected", [split_bilingual(p) for p in exc.problems])


async def _validation(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [_validation_problem(dict(e)) for e in exc.errors()]
    return error_json(422, "validation_error", problems)


async def _http(_: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    zh, en, code = _STATUS_TEXT.get(exc.status_code, ("请求失败", "request failed", "http_error"))
    detail = exc.detail if isinstance(exc.detail, str) else None
    if detail and detail not in (en, "Not Found", "Method Not Allowed"):
        en = f"{en}: {detail}"
    headers = dict(exc.headers) if exc.headers else None
    return error_json(exc.status_code, code, [Problem(zh, en)], headers=headers)


DATABASE_RETRY_AFTER_S = 5


async def _database_unavailable(_: Request, exc: Exception) -> JSONResponse:
    """The database went away, is locked past the busy timeout or its disk is full: the
    request was not completed and the client should try again (503 with Retry-After)."""
    text = str(getattr(exc, "orig", exc)).lower()
    if "disk is full" in text or "no space left" in text or "could not extend" in text:
        problem = Problem("数据库磁盘已满，请求未完成", "database disk full: request not completed")
    elif "locked" in text or "busy" in text:
        problem = Problem(
            "数据库繁忙，请求未完成，请重试", "database busy: request not completed, retry"
        )
    else:
        problem = Problem(
            "数据库暂时不可用，请求未完成，请重试", "database unavailable: not completed, retry"
        )
    log.error("database unavailable: %s", str(exc).splitlines()[0] if str(exc) else exc)
    headers = {"Retry-After": str(DATABASE_RETRY_AFTER_S)}
    return error_json(503, "database_unavailable", [problem], headers=headers)


async def _unexpected(_: Request, exc: Exception) -> JSONResponse:
    log.exception("unexpected error", exc_info=exc)
    return error_json(500, "internal_error", [Problem("服务器内部错误", "internal server error")])


def install_error_handlers(app: FastAPI) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(NotFoundError, _not_found)
    app.add_exception_handler(EngineError, _engine_error)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    from sqlalchemy.exc import InterfaceError, OperationalError

    app.add_exception_handler(OperationalError, _database_unavailable)
    app.add_exception_handler(InterfaceError, _database_unavailable)
    app.add_exception_handler(Exception, _unexpected)


# --- the request guard -----------------------------------------------------------------------


class RequestGuard:
    """Refuses, before any route runs: bodies over ``max_body`` bytes (413, whether or not
    Content-Length is declared) and NUL bytes anywhere in the query string (400)."""

    def __init__(self, app: ASGIApp, *, max_body: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_body = max_body

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        query = bytes(scope.get("query_string", b"")).lower()
        if b"%00" in query or b"\x00" in query:
            problem = Problem("查询参数含有 NUL 字符", "NUL byte in the query string", "query")
            await error_json(400, "nul_byte", [problem])(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared is not None and declared > self.max_body:
            await self._too_large(scope, receive, send)
            return
        # Read the body (bounded) before the app runs, then hand it over unchanged: a
        # refusal raised midway through the app's own read would be reported as a bad body.
        chunks: list[bytes] = []
        received = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                await self.app(scope, _replay([message], receive), send)
                return
            chunk = bytes(message.get("body", b""))
            received += len(chunk)
            if received > self.max_body:
                await self._too_large(scope, receive, send)
                return
            chunks.append(chunk)
            if not message.get("more_body", False):
                break
        whole: Message = {"type": "http.request", "body": b"".join(chunks), "more_body": False}
        await self.app(scope, _replay([whole], receive), send)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        kib = self.max_body // 1024
        problem = Problem(f"请求体超过 {kib} KiB", f"request body over {kib} KiB")
        await error_json(413, "body_too_large", [problem])(scope, receive, send)


def _replay(messages: list[Message], receive: Receive) -> Receive:
    pending = list(messages)

    async def replay() -> Message:
        return pending.pop(0) if pending else await receive()

    return replay


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", []):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None
