"""`rivernotify serve`: the HTTP API, the delivery worker, the HJ 212 listener and (when no
SMTP server is configured) the embedded mail sink, in one process and one event loop.

Order of start: refuse unsafe settings, check the schema, start the sink, load the network
(the trace index is built once and kept), then the listener, the worker and the HTTP server.
A stop (SIGTERM, Ctrl-C or ``stop.set()``) ends them in reverse order.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from fastapi import FastAPI
from uvicorn import Server as uvicornServer

from api.deps import Services
from api.hj212.listener import Hj212Server
from notifier.settings import EXAMPLE_SECRET, PROJECT_ROOT, Settings

log = logging.getLogger("rivernotify.serve")
MAIL_DIR = PROJECT_ROOT / "var" / "mail"


class ServeError(Exception):
    """Settings or state that make serving unsafe or impossible (shown as one line)."""


def build_app(settings: Settings) -> FastAPI:
    """The app from the single factory ``api.app.create_app``."""
    from api.app import create_app

    return create_app(settings)


def check_settings(settings: Settings) -> None:
    """Production refuses the example secret: it signs tokens and acknowledgement links."""
    if settings.mode == "production" and settings.secret_key.get_secret_value() in (
        EXAMPLE_SECRET,
        "",
    ):
        raise ServeError(
            "生产模式下不能使用示例密钥，请设置 RIVERNOTIFY_SECRET_KEY / production mode refuses "
            "the example secret: set RIVERNOTIFY_SECRET_KEY to a long random value"
        )


def check_schema(settings: Settings) -> None:
    from notifier.db import engine_from_settings
    from notifier.migrate import current_revision, head_revision

    engine = engine_from_settings(settings)
    try:
        current, head = current_revision(engine), head_revision(engine)
    except Exception as exc:
        raise ServeError(f"无法连接数据库 / cannot open the database: {exc}") from None
    finally:
        engine.dispose()
    if current != head:
        raise ServeError(
            f"数据库未升级 / database is at revision {current}, not {head}: "
            "run `rivernotify db upgrade`"
        )


@dataclass
class Running:
    """What ``serve`` started, for tests and for the log line."""

    app: FastAPI
    http_port: int
    hj212_port: int
    smtp: tuple[str, int] | None


def serve(
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    hj212_port: int | None = None,
    worker: bool = True,
) -> int:
    """Run everything until SIGTERM or Ctrl-C (the blocking entry of `rivernotify serve` and
    `rivernotify run`). Refusals come back as :class:`api.cli.errors.UserError`."""
    import signal

    from api.cli.errors import UserError

    update = {
        name: value
        for name, value in (("host", host), ("port", port), ("hj212_port", hj212_port))
        if value is not None
    }
    settings = settings.model_copy(update=update) if update else settings

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(signum, stop.set)
        await serve_until(settings, stop=stop, worker=worker)

    try:
        asyncio.run(main())
    except ServeError as exc:
        raise UserError(str(exc)) from None
    except OSError as exc:  # a port in use, say
        raise UserError(f"无法启动 / cannot start: {exc}") from None
    return 0


async def serve_until(
    settings: Settings,
    *,
    stop: asyncio.Event,
    mail_dir: Path = MAIL_DIR,
    started: asyncio.Future[Running] | None = None,
    worker: bool = True,
) -> None:
    """Run everything until ``stop`` is set. ``settings.host``/``port``/``hj212_port`` say
    where to listen (port 0: any free port, reported through ``started``); without
    ``worker``, delivery is left to `rivernotify worker` processes."""
    try:
        check_settings(settings)
        check_schema(settings)
        await _serve(settings, stop=stop, mail_dir=mail_dir, started=started, worker=worker)
    except Exception as exc:
        if started is not None and not started.done():
            started.set_exception(exc)
        raise


async def _serve(
    settings: Settings,
    *,
    stop: asyncio.Event,
    mail_dir: Path,
    started: asyncio.Future[Running] | None,
    worker: bool = True,
) -> None:
    from notifier.delivery.sink import start_sink_if_needed

    settings, sink = start_sink_if_needed(settings, directory=mail_dir)
    tasks: list[asyncio.Task[None]] = []
    listener: Hj212Server | None = None
    try:
        app = build_app(settings)
        services: Services = app.state.services
        app.state.mail_sink = sink  # the web pages show what the sink received
        await asyncio.to_thread(services.context)  # the network and its trace index, once
        _freeze_heap()
        listener = await _start_listener(services, settings)
        if worker:
            tasks.append(await _start_worker(services, settings, stop))
        server, http = await _start_http(app, settings)
        tasks.append(http)
        smtp = (sink.host, sink.port) if sink is not None else None
        running = Running(app, _bound_port(server, settings.port), listener.port, smtp)
        log.info(
            "rivernotify serving: HTTP %s:%d, HJ 212 %s:%d, mail %s",
            settings.host,
            running.http_port,
            settings.host,
            running.hj212_port,
            f"sink {sink.host}:{sink.port} ({mail_dir})" if sink else settings.smtp_host,
        )
        if started is not None and not started.done():
            started.set_result(running)
        waiting = asyncio.create_task(stop.wait())
        await asyncio.wait([waiting, http], return_when=asyncio.FIRST_COMPLETED)
        waiting.cancel()
        stop.set()  # whichever ended first, everything stops
        server.should_exit = True
        for task in reversed(tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(task, timeout=15)
    finally:
        for task in tasks:
            task.cancel()
        if listener is not None:
            await listener.close()
        if sink is not None:
            sink.stop()


def _freeze_heap() -> None:
    """Move what was loaded at start (the network, its index, the app) out of the garbage
    collector's sight: it lives as long as the process, and scanning it made every full
    collection a 100 to 300 ms pause in the middle of requests (docs/PERFORMANCE.md)."""
    import gc

    gc.collect()
    gc.freeze()


async def _start_listener(services: Services, settings: Settings) -> Hj212Server:
    """The HJ 212 listener, its counters exported with the app's metrics."""
    from api.hj212.listener import Hj212Server
    from api.hj212.metrics import Hj212Collector
    from api.ingest import hj212_handler

    listener = Hj212Server(hj212_handler(services), host=settings.host, port=settings.hj212_port)
    await listener.start()
    registry = services.extras.get("registry")
    if registry is not None:
        registry.register(Hj212Collector(listener.stats))
    return listener


async def _start_worker(
    services: Services, settings: Settings, stop: asyncio.Event
) -> asyncio.Task[None]:
    """The delivery worker, once its build processes have started (a few seconds: each
    loads the network), so that a server that answers is one that delivers at full speed;
    a worker that fails to start raises here. On PostgreSQL, with child processes allowed,
    it runs in a process of its own (``notifier.delivery.workerproc``)."""
    if services.engine.dialect.name == "postgresql" and settings.build_processes > 0:
        return await _start_worker_process(settings, stop)
    ready = asyncio.Event()
    worker = asyncio.create_task(_worker(services, settings, stop, ready))
    waiting = asyncio.create_task(ready.wait())
    await asyncio.wait([waiting, worker], return_when=asyncio.FIRST_COMPLETED)
    waiting.cancel()
    if worker.done():
        worker.result()
    return worker


async def _start_worker_process(settings: Settings, stop: asyncio.Event) -> asyncio.Task[None]:
    from api.cli.worker import due_hook
    from notifier.delivery.workerproc import WorkerProcess

    due_hook(settings)  # a bad policy file is refused here, in words, not in the child
    process = WorkerProcess(settings)
    await process.start()

    async def until_stopped() -> None:
        try:
            await stop.wait()
        finally:
            await process.stop()

    return asyncio.create_task(until_stopped())


async def _worker(
    services: Services, settings: Settings, stop: asyncio.Event, ready: asyncio.Event
) -> None:
    """The delivery worker with the engine's reminders and escalations on each round."""
    from api.cli.worker import due_hook
    from notifier.delivery.maps import NetworkMaps
    from notifier.delivery.worker import run_worker
    from notifier.outbox.signal import Doorbell, ring_on_commit

    maps = NetworkMaps(services.network())  # the map in each notice, from the network already held
    doorbell = Doorbell()  # a report's notices go out as soon as its transaction commits
    ring_on_commit(services.sessions, doorbell)
    ring_on_commit(services.writer_sessions, doorbell)
    await run_worker(
        settings,
        stop_event=stop,
        engine=services.engine,
        due=due_hook(settings),
        geometry=maps,
        doorbell=doorbell,
        ready=ready,
    )


async def _start_http(app: FastAPI, settings: Settings) -> tuple[uvicornServer, asyncio.Task[None]]:
    import uvicorn

    config = uvicorn.Config(
        app, host=settings.host, port=settings.port, log_level="info", lifespan="on"
    )
    server = _QuietServer(config)
    task = asyncio.create_task(server.serve())
    while not server.started:
        if task.done():
            await task  # raises why it could not start
            raise ServeError(f"HTTP 服务未能启动 / could not listen on port {settings.port}")
        await asyncio.sleep(0.05)
    return server, task


class _QuietServer(uvicornServer):
    """uvicorn without its own signal handling: ``serve``'s caller owns the signals and
    sets ``stop``, which stops the worker and the listener as well as HTTP."""

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _bound_port(server: object, wanted: int) -> int:
    servers = getattr(server, "servers", [])
    for each in servers:
        for sock in getattr(each, "sockets", []):
            return int(sock.getsockname()[1])
    return wanted
