"""Run ``api.server.serve`` in a thread with its own event loop, on free ports."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from api.server import Running, serve_until
from notifier.settings import Settings


@contextmanager
def serving(
    settings: Settings, *, mail_dir: Path, timeout_s: float = 60.0, worker: bool = True
) -> Iterator[Running]:
    ready = threading.Event()
    box: dict[str, object] = {}

    async def main() -> None:
        stop = asyncio.Event()
        started: asyncio.Future[Running] = asyncio.get_running_loop().create_future()
        box["loop"], box["stop"] = asyncio.get_running_loop(), stop

        def report(future: asyncio.Future[Running]) -> None:
            box["result"] = future.exception() or future.result()
            ready.set()

        started.add_done_callback(report)
        await serve_until(settings, stop=stop, mail_dir=mail_dir, started=started, worker=worker)

    def run() -> None:
        try:
            asyncio.run(main())
        except Exception as exc:
            box.setdefault("result", exc)
            ready.set()

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    if not ready.wait(timeout_s):
        raise TimeoutError("serve did not start")
    result = box["result"]
    if isinstance(result, BaseException):
        thread.join(5)
        raise result
    assert isinstance(result, Running)
    try:
        yield result
    finally:
        loop = box["loop"]
        stop = box["stop"]
        assert isinstance(loop, asyncio.AbstractEventLoop) and isinstance(stop, asyncio.Event)
        loop.call_soon_threadsafe(stop.set)
        thread.join(30)
        assert not thread.is_alive(), "serve did not stop"
