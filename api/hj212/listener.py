"""The HJ 212 TCP listener: CRLF-framed packets in, the injected handler called, replies out.

Handler contract
----------------
``handler(packet, readings)`` is an async callable, called once per valid data upload
(CN 2011/2051/2061/2031) with the parsed :class:`Packet` and its :class:`Readings` (sampling
time in UTC and every measurement with its data flag). The handler:

- looks the station up by ``packet.mn`` (and may check ``packet.pw``), raising
  :class:`UnknownStation` when there is none: the listener counts and logs it and sends no reply;
- stores every measurement, but lets only those with ``Measurement.valid`` (flag N) take part in
  the evaluation: data flagged F, M, S, D, C, T or B is stored and never triggers;
- may raise :class:`RejectedData` for data it refuses (counted, logged, no reply); any other
  exception is counted and logged with its traceback. Neither ends the connection.

The reply (CN=9014) is sent only after the handler returned, and only when the packet's Flag asks
for one, so that a station resends what was not stored. Commands that carry no measurements are
answered when asked and otherwise ignored.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import Counter
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, fields

from api.hj212.codec import (
    MAX_PACKET,
    ErrorCode,
    Packet,
    PacketError,
    Readings,
    build_reply,
    measurements_from_cp,
    parse_packet,
)

log = logging.getLogger(__name__)

Handler = Callable[[Packet, Readings], Awaitable[None]]


class UnknownStation(LookupError):
    """Raised by a handler when no station has the packet's MN."""

    def __init__(self, mn: str) -> None:
        super().__init__(f"未知设备 MN={mn} · unknown station MN={mn}")
        self.mn = mn


class RejectedData(ValueError):
    """Raised by a handler that refuses a packet's data (wrong password, station disabled ...)."""


@dataclass(slots=True)
class Hj212Stats:
    """Counters of one listener, exported to Prometheus by the app (see ``as_dict``)."""

    connections: int = 0
    connections_refused: int = 0
    open_connections: int = 0
    packets: int = 0  # valid packets handled
    replies: int = 0
    ignored: int = 0  # valid packets of commands that carry no data
    timeouts: int = 0
    closed_oversized: int = 0
    unknown_mn: int = 0
    rejected: int = 0
    handler_errors: int = 0
    errors: Counter[str] = field(default_factory=Counter)  # PacketError code -> count

    def as_dict(self) -> dict[str, int]:
        plain = {f.name: getattr(self, f.name) for f in fields(self) if f.name != "errors"}
        plain |= {f"error_{code}": self.errors[code] for code in ErrorCode}
        return plain


class Hj212Server:
    """An asyncio TCP server that never dies of its input.

    Each connection reads CRLF-terminated lines with a buffer bounded by ``max_line``. A line
    that is not a valid packet is logged and counted and the connection goes on (garbage before
    ``##`` is skipped, so a stream resynchronises on the next packet); a line over the bound, a
    client silent for ``idle_timeout_s`` or one too slow to finish a line in that time is
    disconnected.
    """

    def __init__(
        self,
        handler: Handler,
        *,
        host: str = "127.0.0.1",
        port: int = 9212,
        idle_timeout_s: float = 120.0,
        max_line: int = MAX_PACKET,
        max_connections: int = 1000,
        stats: Hj212Stats | None = None,
    ) -> None:
        self._handler = handler
        self._host, self._port = host, port
        self._idle_timeout_s = idle_timeout_s
        self._max_line = max_line
        self._max_connections = max_connections
        self.stats = stats if stats is not None else Hj212Stats()
        self._server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        """The bound port (useful with ``port=0``)."""
        if self._server is None or not self._server.sockets:
            return self._port
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(
            self._serve_client, self._host, self._port, limit=self._max_line
        )
        log.info("HJ 212 listener on %s:%d", self._host, self.port)

    async def serve_forever(self) -> None:
        if self._server is None:
            await self.start()
        assert self._server is not None
        await self._server.serve_forever()

    async def close(self) -> None:
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
            self._server = None

    async def __aenter__(self) -> Hj212Server:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def _serve_client(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter
    ) -> None:
        peer = writer.get_extra_info("peername")
        if self.stats.open_connections >= self._max_connections:
            self.stats.connections_refused += 1
            log.warning("HJ 212: refusing %s, %d connections open", peer, self._max_connections)
            await self._close(writer)
            return
        self.stats.open_connections += 1
        self.stats.connections += 1
        try:
            await self._read_lines(reader, writer, peer)
        except Exception:  # the listener must outlive any client
            log.exception("HJ 212: connection %s failed", peer)
        finally:
            self.stats.open_connections -= 1
            await self._close(writer)

    async def _read_lines(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, peer: object
    ) -> None:
        while True:
            try:
                line = await asyncio.wait_for(reader.readuntil(b"\r\n"), self._idle_timeout_s)
            except TimeoutError:
                self.stats.timeouts += 1
                log.info(
                    "HJ 212: %s idle or too slow for %.0f s, closing", peer, self._idle_timeout_s
                )
                return
            except asyncio.LimitOverrunError:
                self.stats.closed_oversized += 1
                self.stats.errors[ErrorCode.OVERSIZED] += 1
                log.warning("HJ 212: %s sent a line over %d bytes, closing", peer, self._max_line)
                return
            except asyncio.IncompleteReadError as exc:
                if exc.partial.strip():
                    self.stats.errors[ErrorCode.TRUNCATED] += 1
                    log.warning(
                        "HJ 212: %s closed inside a packet (%d bytes)", peer, len(exc.partial)
                    )
                return
            reply = await self._handle_line(line, peer)
            if reply is not None:
                writer.write(reply)
                try:
                    await asyncio.wait_for(writer.drain(), self._idle_timeout_s)
                except (TimeoutError, ConnectionError):
                    self.stats.timeouts += 1
                    log.info("HJ 212: %s does not take its reply, closing", peer)
                    return
                self.stats.replies += 1

    async def _handle_line(self, line: bytes, peer: object) -> bytes | None:
        start = line.find(b"##")
        if start != 0:
            skipped = line[: start if start > 0 else len(line)]
            if skipped.strip(b"\r\n"):
                self.stats.errors[ErrorCode.GARBAGE] += 1
                log.warning("HJ 212: %s sent garbage %r", peer, skipped[:60])
            if start < 0:
                return None
            line = line[start:]
        while True:  # a broken packet whose CRLF was lost may run into the next one
            try:
                packet = parse_packet(line)
            except PacketError as exc:
                self.stats.errors[exc.code] += 1
                log.warning("HJ 212: %s bad packet: %s", peer, exc)
                following = line.find(b"##", 2)
                if following < 0:
                    return None
                line = line[following:]
                continue
            return await self._dispatch(packet, peer)

    async def _dispatch(self, packet: Packet, peer: object) -> bytes | None:
        try:
            readings = measurements_from_cp(packet)
        except PacketError as exc:
            if exc.code != ErrorCode.NOT_DATA:
                self.stats.errors[exc.code] += 1
                log.warning("HJ 212: %s MN=%s bad data: %s", peer, packet.mn, exc)
                return None
            self.stats.ignored += 1
            return build_reply(packet)
        try:
            await self._handler(packet, readings)
        except UnknownStation as exc:
            self.stats.unknown_mn += 1
            log.warning("HJ 212: %s %s", peer, exc)
            return None
        except RejectedData as exc:
            self.stats.rejected += 1
            log.warning("HJ 212: %s MN=%s rejected: %s", peer, packet.mn, exc)
            return None
        except Exception:
            self.stats.handler_errors += 1
            log.exception("HJ 212: %s MN=%s handler failed", peer, packet.mn)
            return None
        self.stats.packets += 1
        return build_reply(packet)

    @staticmethod
    async def _close(writer: asyncio.StreamWriter) -> None:
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 5.0)
