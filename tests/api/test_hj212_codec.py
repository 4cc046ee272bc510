"""HJ 212-2017 codec: the CRC check values, the standard's example, data uploads, every error."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from api.hj212.codec import (
    MAX_DATA,
    ErrorCode,
    Packet,
    PacketError,
    build_reply,
    crc16_hj212,
    encode_packet,
    frame,
    measurements_from_cp,
    parse_packet,
)

EXAMPLE = (
    b"##0101QN=20160801085857223;ST=32;CN=1062;PW=100000;MN=010000A8900016F000169DC0;"
    b"Flag=5;CP=&&RtdInterval=30&&1C80\r\n"
)
MN = "010000A8900016F000169DC0"
HEADER = {"QN": "20240501120000123", "ST": "21", "CN": "2011", "PW": "123456", "MN": MN}
WATER_CP = {
    "DataTime": "20240501120000",
    "w21003-Rtd": "2.31",
    "w21003-Flag": "N",
    "w01018-Rtd": "35.2",
    "w01018-Flag": "N",
    "w20111-Rtd": "0.2",
    "w20111-Flag": "M",
}


def water_packet(**overrides: str) -> bytes:
    return encode_packet(HEADER | {"Flag": "5"} | overrides, cp=WATER_CP)


def test_crc_check_values() -> None:
    assert crc16_hj212(b"123456789") == 0x2F80
    data = EXAMPLE[6:-6]
    assert crc16_hj212(data) == 0x1C80


def test_the_standards_example_packet_parses() -> None:
    packet = parse_packet(EXAMPLE)
    assert packet == Packet(
        qn="20160801085857223",
        st="32",
        cn="1062",
        pw="100000",
        mn=MN,
        flag=5,
        cp={"RtdInterval": "30"},
    )
    assert packet.wants_reply and packet.version_bits == 1
    # lower-case CRC digits are accepted as well; a packet without its CRLF too
    assert parse_packet(EXAMPLE[:-6] + b"1c80") == packet


def test_example_reply_format() -> None:
    reply = build_reply(parse_packet(EXAMPLE))
    assert reply is not None
    data = (
        b"QN=20160801085857223;ST=91;CN=9014;PW=100000;MN=010000A8900016F000169DC0;Flag=4;CP=&&&&"
    )
    assert reply == b"##%04d" % len(data) + data + b"%04X\r\n" % crc16_hj212(data)
    answer = parse_packet(reply)
    assert (answer.st, answer.cn, answer.flag, answer.qn) == ("91", "9014", 4, "20160801085857223")


def test_no_reply_unless_flag_asks() -> None:
    assert build_reply(parse_packet(water_packet(Flag="4"))) is None
    assert build_reply(parse_packet(water_packet(Flag="5"))) is not None


def test_realtime_water_packet() -> None:
    packet = parse_packet(water_packet())
    assert (packet.st, packet.cn, packet.mn) == ("21", "2011", MN)
    observed_at, measurements = measurements_from_cp(packet)
    assert observed_at == datetime(2024, 5, 1, 4, 0, tzinfo=UTC)  # 12:00 Beijing time
    by_code = {m.code: m for m in measurements}
    assert by_code["w21003"].value == 2.31 and by_code["w21003"].unit == "mg/L"
    assert by_code["w01018"].value == 35.2 and by_code["w21003"].valid
    assert by_code["w20111"].unit == "µg/L"
    assert by_code["w20111"].flag == "M" and not by_code["w20111"].valid


@pytest.mark.parametrize("cn", ["2051", "2061", "2031"])
def test_period_data_prefers_avg(cn: str) -> None:
    cp = {"DataTime": "20240501110000", "w21003-Min": "1", "w21003-Avg": "1.5"}
    cp |= {"w21003-Max": "2", "w21003-Rtd": "9", "w01001-Avg": "7.2", "w01003-Avg": "3"}
    packet = parse_packet(encode_packet(HEADER | {"CN": cn, "Flag": "4"}, cp=cp))
    _, measurements = measurements_from_cp(packet)
    values = {m.code: (m.value, m.unit, m.flag) for m in measurements}
    assert values == {
        "w21003": (1.5, "mg/L", "N"),
        "w01001": (7.2, "", "N"),
        "w01003": (3.0, None, "N"),
    }


def test_realtime_prefers_rtd() -> None:
    cp = {"DataTime": "20240501110000", "w21003-Avg": "1.5", "w21003-Rtd": "9"}
    packet = parse_packet(encode_packet(HEADER | {"Flag": "4"}, cp=cp))
    assert measurements_from_cp(packet).measurements[0].value == 9.0


def test_split_packets_carry_pnum_pno() -> None:
    packet = parse_packet(water_packet(Flag="7", PNUM="3", PNO="2"))
    assert (packet.pnum, packet.pno, packet.wants_reply) == (3, 2, True)


def _error(raw: bytes) -> ErrorCode:
    with pytest.raises(PacketError) as info:
        parse_packet(raw)
    return info.value.code


def test_packet_error_kinds() -> None:
    good = water_packet()
    data = good[6:-6]
    assert _error(good[:-6] + b"0000\r\n") == ErrorCode.BAD_CRC
    assert _error(good[:-6] + b"XYZW\r\n") == ErrorCode.BAD_CRC
    assert _error(frame(data, length=len(data) - 1)) == ErrorCode.BAD_LENGTH
    assert _error(good[:40] + b"\r\n") == ErrorCode.TRUNCATED
    assert _error(b"##01") == ErrorCode.TRUNCATED
    assert _error(frame(b"QN=1;" + b"x" * MAX_DATA)) == ErrorCode.OVERSIZED
    assert _error(b"##9999" + b"x" * 20) == ErrorCode.OVERSIZED
    assert _error(b"hello world\r\n") == ErrorCode.GARBAGE
    assert _error(b"##ab12QN=&&\r\n") == ErrorCode.GARBAGE
    assert _error(frame(b"\xff\xfe;CP=&&&&")) == ErrorCode.BAD_ENCODING


@pytest.mark.parametrize(
    ("data", "code"),
    [
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=4", ErrorCode.MISSING_FIELD),
        (b"ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&&&", ErrorCode.MISSING_FIELD),
        (b"QN=20241301120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&&&", ErrorCode.BAD_QN),
        (b"QN=2024;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&&&", ErrorCode.BAD_QN),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=400;CP=&&&&", ErrorCode.BAD_FIELD),
        (b"QN=20240501120000123;ST=2x;CN=2011;PW=1;MN=AB;Flag=4;CP=&&&&", ErrorCode.BAD_FIELD),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=A B;Flag=4;CP=&&&&", ErrorCode.BAD_FIELD),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=6;CP=&&&&", ErrorCode.MISSING_FIELD),
        (b"QN=20240501120000123;XX=1;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&&&", ErrorCode.BAD_FIELD),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&a&&", ErrorCode.BAD_CP),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&a=1;a=2&&", ErrorCode.BAD_CP),
        (b"QN=20240501120000123;ST=21;CN=2011;PW=1;MN=AB;Flag=4;CP=&&a=1", ErrorCode.BAD_CP),
    ],
)
def test_field_errors(data: bytes, code: ErrorCode) -> None:
    assert _error(frame(data)) == code


@pytest.mark.parametrize(
    ("cp", "code"),
    [
        ({"w21003-Rtd": "1"}, ErrorCode.BAD_DATATIME),
        ({"DataTime": "20240230120000", "w21003-Rtd": "1"}, ErrorCode.BAD_DATATIME),
        ({"DataTime": "20240501120000", "w21003-Rtd": "abc"}, ErrorCode.BAD_VALUE),
        ({"DataTime": "20240501120000", "w21003-Rtd": "nan"}, ErrorCode.BAD_VALUE),
        ({"DataTime": "20240501120000", "w21003-Rtd": "1e999"}, ErrorCode.BAD_VALUE),
        (
            {"DataTime": "20240501120000", "w21003-Rtd": "1", "w21003-Flag": "NN"},
            ErrorCode.BAD_VALUE,
        ),
    ],
)
def test_measurement_errors(cp: dict[str, str], code: ErrorCode) -> None:
    packet = parse_packet(encode_packet(HEADER | {"Flag": "4"}, cp=cp))
    with pytest.raises(PacketError) as info:
        measurements_from_cp(packet)
    assert info.value.code == code


def test_commands_without_data_are_not_measurements() -> None:
    with pytest.raises(PacketError) as info:
        measurements_from_cp(parse_packet(EXAMPLE))
    assert info.value.code == ErrorCode.NOT_DATA


def test_encode_refuses_reserved_characters() -> None:
    with pytest.raises(ValueError, match="reserved"):
        encode_packet(HEADER | {"Flag": "4"}, cp={"w21003-Rtd": "1;2"})


# --- generated packets -------------------------------------------------------------------------

_token = st.text(alphabet="0123456789ABCDEFabcdef", min_size=1, max_size=24)
_value = st.floats(allow_nan=False, allow_infinity=False, width=32).map(lambda v: f"{v:.6g}")
_code = st.sampled_from(["w21003", "w01018", "w01001", "w20111", "w01003", "a34004"])
_flag_letter = st.sampled_from("NFMSDCTB")


@st.composite
def data_packets(draw: st.DrawFn) -> tuple[dict[str, str], dict[str, str]]:
    dt = draw(st.datetimes(min_value=datetime(2000, 1, 1), max_value=datetime(2099, 12, 31)))
    header = {
        "QN": dt.strftime("%Y%m%d%H%M%S") + f"{dt.microsecond // 1000:03d}",
        "ST": draw(st.sampled_from(["21", "32", "91"])),
        "CN": draw(st.sampled_from(["2011", "2051", "2061", "2031"])),
        "PW": draw(st.text(alphabet="0123456789abc", max_size=12)),
        "MN": draw(_token),
        "Flag": str(draw(st.sampled_from([0, 1, 4, 5]))),
    }
    cp = {"DataTime": dt.strftime("%Y%m%d%H%M%S")}
    suffix = "Rtd" if header["CN"] == "2011" else "Avg"
    for code in draw(st.lists(_code, unique=True, max_size=6)):
        cp[f"{code}-{suffix}"] = draw(_value)
        cp[f"{code}-Flag"] = draw(_flag_letter)
    return header, cp


@given(data_packets())
@settings(max_examples=200, deadline=None)
def test_generated_packets_round_trip(fields: tuple[dict[str, str], dict[str, str]]) -> None:
    header, cp = fields
    packet = parse_packet(encode_packet(header, cp=cp))
    assert packet.header() == header and packet.cp == cp
    assert encode_packet(packet.header(), cp=packet.cp) == encode_packet(header, cp=cp)
    observed_at, measurements = measurements_from_cp(packet)
    assert observed_at.tzinfo is not None
    assert len(measurements) == (len(cp) - 1) // 2
    reply = build_reply(packet)
    assert (reply is not None) == bool(int(header["Flag"]) & 1)


def _only_packet_errors(raw: bytes) -> None:
    try:
        packet = parse_packet(raw)
    except PacketError:
        return
    try:
        measurements_from_cp(packet)
    except PacketError:
        return


@given(st.binary(max_size=1100))
@settings(max_examples=300, deadline=None)
def test_arbitrary_bytes_only_raise_packet_error(raw: bytes) -> None:
    _only_packet_errors(raw)
    _only_packet_errors(b"##" + raw)
    _only_packet_errors(frame(raw))


@given(data_packets(), st.integers(min_value=0, max_value=2000), st.binary(min_size=1, max_size=3))
@settings(max_examples=200, deadline=None)
def test_mutated_packets_only_raise_packet_error(
    fields: tuple[dict[str, str], dict[str, str]], position: int, noise: bytes
) -> None:
    raw = encode_packet(fields[0], cp=fields[1])
    position %= len(raw)
    _only_packet_errors(raw[:position] + noise + raw[position + len(noise) :])
    _only_packet_errors(raw[:position])
    text = raw[6:-6]
    _only_packet_errors(frame(text[:position] + noise + text[position:]))


def _crc_by_the_letter(data: bytes) -> int:
    reg = 0xFFFF
    for byte in data:
        reg = (reg >> 8) ^ byte
        for _ in range(8):
            lsb = reg & 1
            reg >>= 1
            if lsb:
                reg ^= 0xA001
    return reg


@given(st.binary(max_size=300))
def test_table_crc_equals_the_standards_loop(data: bytes) -> None:
    assert crc16_hj212(data) == _crc_by_the_letter(data)
