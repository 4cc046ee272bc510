"""The HJ 212 TCP listener over real sockets: handling, replies, resync, limits and timeouts."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

from prometheus_client import CollectorRegistry, generate_latest

from api.hj212.codec import MAX_PACKET, ErrorCode, Packet, Readings, encode_packet, parse_packet
from api.hj212.listener import Hj212Server, RejectedData, UnknownStation
from api.hj212.metrics import Hj212Collector

MN = "010000A8900016F000169DC0"
CP = {"DataTime": "20240501120000", "w21003-Rtd": "2.31", "w21003-Flag": "N"}


def upload(flag: str = "5", mn: str = MN, qn: str = "20240501120000123") -> bytes:
    header = {"QN": qn, "ST": "21", "CN": "2011", "PW": "123456", "MN": mn, "Flag": flag}
    return encode_packet(header, cp=CP)


class Recorder:
    """A handler that keeps what it was given and knows one station."""

    def __init__(self) -> None:
        self.calls: list[tuple[Packet, Readings]] = []

    async def __call__(self, packet: Packet, readings: Readings) -> None:
        if packet.mn == "BAD":
            raise RejectedData("wrong password")
        if packet.mn != MN:
            raise UnknownStation(packet.mn)
        self.calls.append((packet, readings))


def run(scenario: Callable[[Hj212Server, Recorder], Awaitable[None]], **options: float) -> Recorder:
    recorder = Recorder()

    async def main() -> None:
        async with Hj212Server(recorder, host="127.0.0.1", port=0, **options) as server:  # type: ignore[arg-type]
            await asyncio.wait_for(scenario(server, recorder), 20)

    asyncio.run(main())
    return recorder


async def connect(server: Hj212Server) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    return await asyncio.open_connection("127.0.0.1", server.port)


async def closed_by_server(reader: asyncio.StreamReader) -> bool:
    return await asyncio.wait_for(reader.read(), 5) == b""


def test_valid_packet_is_handled_and_answered() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        writer.write(upload(flag="5"))
        reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
        assert (reply.cn, reply.st, reply.flag, reply.qn) == ("9014", "91", 4, "20240501120000123")
        assert len(recorder.calls) == 1
        packet, readings = recorder.calls[0]
        assert packet.mn == MN and readings.measurements[0].code == "w21003"
        writer.close()

    run(scenario)


def test_no_reply_without_the_flag_bit() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        writer.write(upload(flag="4") + upload(flag="5", qn="20240501120001000"))
        reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
        assert reply.qn == "20240501120001000"  # the first got no answer
        assert len(recorder.calls) == 2 and server.stats.replies == 1
        writer.close()

    run(scenario)


def test_garbage_then_valid_packet_on_one_connection() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        bad_crc = upload()[:-6] + b"0000\r\n"
        writer.write(b"\x00\xffnoise\r\n" + bad_crc + b"junk before" + upload())
        writer.write(upload()[:30] + b"\r\n")  # truncated
        writer.write(upload()[:50] + upload(qn="20240501120002000"))  # lost its CRLF
        for expected in ("20240501120000123", "20240501120002000"):
            reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
            assert reply.qn == expected
        assert len(recorder.calls) == 2
        errors = server.stats.errors
        assert errors[ErrorCode.GARBAGE] == 2 and errors[ErrorCode.BAD_CRC] == 1
        assert errors[ErrorCode.TRUNCATED] == 1 and errors[ErrorCode.BAD_LENGTH] == 1
        writer.close()

    run(scenario)


def test_unknown_and_rejected_stations_are_counted_without_reply() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        writer.write(upload(mn="FFFF") + upload(mn="BAD") + upload(qn="20240501120003000"))
        reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
        assert reply.qn == "20240501120003000"
        assert server.stats.unknown_mn == 1 and server.stats.rejected == 1
        assert len(recorder.calls) == 1
        writer.close()

    run(scenario)


def test_oversized_line_closes_cleanly_and_server_goes_on() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        writer.write(b"##" + b"9" * (MAX_PACKET * 4))
        assert await closed_by_server(reader)
        writer.close()
        assert server.stats.closed_oversized == 1
        reader, writer = await connect(server)
        writer.write(upload())
        reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
        assert reply.cn == "9014" and len(recorder.calls) == 1
        writer.close()

    run(scenario)


def test_idle_and_slow_clients_time_out() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        reader, writer = await connect(server)
        assert await closed_by_server(reader)  # idle: said nothing
        slow_reader, slow_writer = await connect(server)
        packet = upload()
        for byte in packet[:6]:  # slow: keeps sending, but never finishes a line in time
            slow_writer.write(bytes([byte]))
            await asyncio.sleep(0.05)
        assert await closed_by_server(slow_reader)
        assert server.stats.timeouts == 2 and not recorder.calls
        writer.close()
        slow_writer.close()

    run(scenario, idle_timeout_s=0.5)


def test_client_vanishing_mid_packet_is_counted() -> None:
    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        _, writer = await connect(server)
        writer.write(upload()[:25])
        await writer.drain()
        writer.close()
        for _ in range(100):
            if server.stats.errors[ErrorCode.TRUNCATED]:
                break
            await asyncio.sleep(0.02)
        assert server.stats.errors[ErrorCode.TRUNCATED] == 1
        assert server.stats.as_dict()["error_truncated"] == 1

    run(scenario)


def test_handler_failure_keeps_the_connection() -> None:
    calls = 0

    async def flaky(packet: Packet, readings: Readings) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise RuntimeError("database away")

    async def main() -> None:
        async with Hj212Server(flaky, host="127.0.0.1", port=0) as server:
            reader, writer = await connect(server)
            writer.write(upload(qn="20240501120000001") + upload(qn="20240501120000002"))
            reply = parse_packet(await asyncio.wait_for(reader.readuntil(b"\r\n"), 5))
            assert reply.qn == "20240501120000002"
            assert server.stats.handler_errors == 1 and server.stats.packets == 1
            writer.close()

    asyncio.run(main())


def test_connection_cap_and_prometheus_export() -> None:
    registry = CollectorRegistry()

    async def scenario(server: Hj212Server, recorder: Recorder) -> None:
        registry.register(Hj212Collector(server.stats))
        reader, writer = await connect(server)
        writer.write(upload())
        await asyncio.wait_for(reader.readuntil(b"\r\n"), 5)
        extra_reader, extra_writer = await connect(server)
        assert await closed_by_server(extra_reader)  # over the cap of one
        writer.write(b"garbage\r\n")
        writer.close()
        extra_writer.close()
        for _ in range(100):
            if server.stats.open_connections == 0:
                break
            await asyncio.sleep(0.02)

    run(scenario, max_connections=1)
    text = generate_latest(registry).decode()
    assert 'rivernotify_hj212_connections_total{result="refused"} 1.0' in text
    assert 'rivernotify_hj212_packets_total{outcome="handled"} 1.0' in text
    assert 'rivernotify_hj212_packet_errors_total{reason="garbage"} 1.0' in text
    assert "rivernotify_hj212_replies_total 1.0" in text
    assert "rivernotify_hj212_open_connections 0.0" in text
