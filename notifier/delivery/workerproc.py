"""The delivery worker in a process of its own, for `serve` on PostgreSQL.

In one `serve` process the API's requests and the worker's SMTP conversations take turns on
one interpreter lock; on PostgreSQL a worker in another process loses nothing by it (NOTIFY
wakes it as soon as a report's transaction commits), so `serve` starts one there, as
`serve --no-worker` beside `rivernotify worker` would (docs/PERFORMANCE.md). On SQLite the
worker stays in the API's process, where a commit rings it directly instead of a poll.
"""

from __future__ import annotations

import asyncio
import gc
import logging
import multiprocessing
import threading
from multiprocessing.synchronize import Event as ProcessEvent

from notifier.delivery.buildproc import watch_parent
from notifier.settings import Settings

log = logging.getLogger(__name__)

START_TIMEOUT_S = 120.0
STOP_TIMEOUT_S = 30.0


def _child(settings: Settings, ready: ProcessEvent, stop: ProcessEvent) -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    watch_parent()
    asyncio.run(_serve_worker(settings, ready, stop))


async def _serve_worker(settings: Settings, ready: ProcessEvent, stop: ProcessEvent) -> None:
    from notifier.delivery.maps import network_maps
    from notifier.delivery.worker import engine_due_hook, run_worker

    loop = asyncio.get_running_loop()
    stopping, started = asyncio.Event(), asyncio.Event()

    def relay_stop() -> None:
        stop.wait()
        loop.call_soon_threadsafe(stopping.set)

    threading.Thread(target=relay_stop, daemon=True).start()
    geometry = await asyncio.to_thread(network_maps, settings)
    gc.collect()  # the maps live as long as the process: out of the collector's way
    gc.freeze()
    due = engine_due_hook(settings)
    worker = asyncio.create_task(
        run_worker(settings, stop_event=stopping, due=due, geometry=geometry, ready=started)
    )
    await started.wait()
    ready.set()
    await worker


class WorkerProcess:
    """One delivery worker process; ``start()`` returns once it delivers."""

    def __init__(self, settings: Settings) -> None:
        context = multiprocessing.get_context("spawn")
        self._ready, self._stop = context.Event(), context.Event()
        # Not a daemon: the worker starts build processes of its own.
        self._process = context.Process(
            target=_child, args=(settings, self._ready, self._stop), name="rivernotify-worker"
        )

    async def start(self) -> None:
        self._process.start()
        ready = await asyncio.to_thread(self._wait_ready)
        if not ready:
            self._process.kill()
            raise RuntimeError(
                "投递进程未能启动 / the delivery worker process did not start "
                f"(exit code {self._process.exitcode}; see the log above)"
            )
        log.info("delivery worker running in process %d", self._process.pid)

    def _wait_ready(self) -> bool:
        waited = 0.0
        while waited < START_TIMEOUT_S:
            if self._ready.wait(0.2):
                return True
            if not self._process.is_alive():
                return False
            waited += 0.2
        return False

    async def stop(self) -> None:
        """Ask it to finish its round and stop; killed if it does not within the timeout."""
        self._stop.set()
        await asyncio.to_thread(self._process.join, STOP_TIMEOUT_S)
        if self._process.is_alive():
            log.warning("delivery worker process did not stop in time; its leases will expire")
            self._process.kill()
            await asyncio.to_thread(self._process.join, 5)
