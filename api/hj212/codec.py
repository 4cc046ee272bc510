"""Parse and build HJ 212-2017 packets. Pure: bytes in, values out, no I/O.

A packet is ``##`` + four decimal digits (the data segment's length) + the data segment + four
hex digits of CRC + CRLF. Lengths are counted in bytes of the UTF-8 data segment, which is what
the field devices in use count (the standard's text says characters; for ASCII they agree).
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from functools import cache
from typing import NamedTuple
from zoneinfo import ZoneInfo

from api.hj212.codes import CN_DATA_ANSWER, HJ212_2017, ST_SYSTEM, CodeTable

MAX_DATA = 1024  # data segment, bytes
MAX_CP = 950  # CP field content, characters
MAX_PACKET = 2 + 4 + MAX_DATA + 4 + 2  # a whole framed packet with CRLF
FLAG_REPLY = 0b01  # A: the sender wants an answer
FLAG_SPLIT = 0b10  # D: PNUM/PNO present
LOCAL_TZ = ZoneInfo("Asia/Shanghai")

_HEADER_ORDER = ("QN", "ST", "CN", "PW", "MN", "Flag", "PNUM", "PNO")
_REQUIRED = ("QN", "ST", "CN", "PW", "MN", "Flag")
_RESERVED = re.compile(r"[;,=&\r\n]")
_MN = re.compile(r"[0-9A-Za-z]{1,24}")
_CODE = re.compile(r"[0-9A-Za-z]{1,24}")
_DIGITS = re.compile(r"[0-9]+")
_NUMBER = re.compile(r"[-+0-9.eE]+")
_LETTER = re.compile(r"[A-Za-z]")
_HEX4 = re.compile(r"[0-9A-Fa-f]{4}")


class ErrorCode(StrEnum):
    GARBAGE = "garbage"  # not a packet at all
    TRUNCATED = "truncated"  # shorter than its length field says
    BAD_LENGTH = "bad_length"  # longer than its length field says
    OVERSIZED = "oversized"  # data segment over 1024 bytes
    BAD_CRC = "bad_crc"
    BAD_ENCODING = "bad_encoding"  # not UTF-8
    MISSING_FIELD = "missing_field"
    BAD_FIELD = "bad_field"  # ST, CN, MN, Flag, PNUM/PNO malformed
    BAD_QN = "bad_qn"
    BAD_CP = "bad_cp"
    BAD_DATATIME = "bad_datatime"
    BAD_VALUE = "bad_value"  # a measurement value or flag
    NOT_DATA = "not_data"  # a command that carries no measurements


class PacketError(ValueError):
    """A packet that cannot be used; ``code`` says why, for logs and counters."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class Packet:
    qn: str
    st: str
    cn: str
    pw: str
    mn: str
    flag: int
    pnum: int | None = None
    pno: int | None = None
    cp: dict[str, str] = field(default_factory=dict)

    @property
    def wants_reply(self) -> bool:
        return bool(self.flag & FLAG_REPLY)

    @property
    def version_bits(self) -> int:
        return self.flag >> 2

    def header(self) -> dict[str, str]:
        """The header fields as they are written, in the standard's order."""
        fields = {"QN": self.qn, "ST": self.st, "CN": self.cn, "PW": self.pw, "MN": self.mn}
        fields["Flag"] = str(self.flag)
        if self.pnum is not None and self.pno is not None:
            fields["PNUM"], fields["PNO"] = str(self.pnum), str(self.pno)
        return fields


@dataclass(frozen=True, slots=True)
class Measurement:
    code: str
    value: float
    unit: str | None
    flag: str

    @property
    def valid(self) -> bool:
        """Only data flagged N may trigger an incident; the rest is stored as received."""
        return self.flag == HJ212_2017.valid_flag

    def as_json(self) -> dict[str, object]:
        """The shape of a measurement in a REST report."""
        return {"code": self.code, "value": self.value, "unit": self.unit, "flag": self.flag}


class Readings(NamedTuple):
    observed_at: datetime  # aware, UTC
    measurements: list[Measurement]


def crc16_hj212(data: bytes) -> int:
    """The CRC of the standard's Appendix A (shift first, then XOR; not CRC-16/MODBUS).

    Per byte the standard computes ``reg = (reg >> 8) ^ b`` and then eight shift-and-XOR rounds.
    The XOR leaves an 8-bit value, so the rounds are a function of that byte alone: a table.
    """
    table = _crc_table()
    reg = 0xFFFF
    for byte in data:
        reg = table[(reg >> 8) ^ byte]
    return reg


@cache
def _crc_table() -> tuple[int, ...]:
    def rounds(value: int) -> int:
        for _ in range(8):
            lsb = value & 1
            value >>= 1
            if lsb:
                value ^= 0xA001
        return value

    return tuple(rounds(value) for value in range(256))


def frame(data: bytes, *, length: int | None = None, crc: int | None = None) -> bytes:
    """Wrap a data segment; ``length`` and ``crc`` override the true values (for tests)."""
    declared = len(data) if length is None else length
    checksum = crc16_hj212(data) if crc is None else crc
    return b"##%04d" % declared + data + b"%04X\r\n" % checksum


def encode_packet(fields: Mapping[str, str], *, cp: Mapping[str, str] | None = None) -> bytes:
    """A framed packet from header fields (QN, ST, CN, PW, MN, Flag ...) and CP items.

    CP items are grouped by parameter code (``w21003-Rtd`` and ``w21003-Flag`` share a group),
    which is how stations write them; the parser does not depend on the grouping.
    """
    unknown = set(fields) - set(_HEADER_ORDER)
    if unknown:
        raise ValueError(f"unknown header fields: {sorted(unknown)}")
    items = dict(cp or {})
    for key, value in [*fields.items(), *items.items()]:
        if _RESERVED.search(key) or _RESERVED.search(value) or not key:
            raise ValueError(f"field {key!r}={value!r} holds a reserved character")
    header = ";".join(f"{k}={fields[k]}" for k in _HEADER_ORDER if k in fields)
    groups: dict[str, list[str]] = {}
    for key, value in items.items():
        groups.setdefault(key.split("-", 1)[0], []).append(f"{key}={value}")
    body = ";".join(",".join(parts) for parts in groups.values())
    return frame(f"{header};CP=&&{body}&&".encode())


def parse_packet(raw: bytes) -> Packet:
    """Check the framing, length and CRC of one packet, then read its fields."""
    data = _unframe(raw)
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise PacketError(ErrorCode.BAD_ENCODING, f"data segment is not UTF-8 ({exc})") from None
    header, cp_text = _split_cp(text)
    fields = _parse_header(header)
    cp = _parse_cp(cp_text)
    return _packet_from_fields(fields, cp)


def _unframe(raw: bytes) -> bytes:
    packet = raw[:-2] if raw.endswith(b"\r\n") else raw
    if not packet.startswith(b"##"):
        raise PacketError(ErrorCode.GARBAGE, "packet does not start with ##")
    if b"\r" in packet or b"\n" in packet:
        raise PacketError(ErrorCode.GARBAGE, "line break inside the packet")
    digits = packet[2:6]
    if len(digits) < 4:
        raise PacketError(ErrorCode.TRUNCATED, "packet ends inside the length field")
    if not _DIGITS.fullmatch(digits.decode("ascii", "replace")):
        raise PacketError(ErrorCode.GARBAGE, f"length field {digits!r} is not 4 digits")
    declared = int(digits)
    actual = len(packet) - 6 - 4
    if declared > MAX_DATA or actual > MAX_DATA:
        size = max(declared, actual)
        raise PacketError(ErrorCode.OVERSIZED, f"data segment of {size} bytes (max {MAX_DATA})")
    if actual < declared:
        raise PacketError(ErrorCode.TRUNCATED, f"{max(actual, 0)} of {declared} bytes received")
    if actual > declared:
        raise PacketError(ErrorCode.BAD_LENGTH, f"length field says {declared}, got {actual}")
    data, crc_text = packet[6:-4], packet[-4:].decode("ascii", "replace")
    if not _HEX4.fullmatch(crc_text):
        raise PacketError(ErrorCode.BAD_CRC, f"CRC {crc_text!r} is not 4 hex digits")
    expected = crc16_hj212(data)
    if int(crc_text, 16) != expected:
        raise PacketError(ErrorCode.BAD_CRC, f"CRC {crc_text} received, {expected:04X} computed")
    return data


def _split_cp(text: str) -> tuple[str, str]:
    start = text.find("CP=&&")
    if start < 0:
        raise PacketError(ErrorCode.MISSING_FIELD, "no CP=&&...&& field")
    if not text.endswith("&&") or len(text) < start + len("CP=&&&&"):
        raise PacketError(ErrorCode.BAD_CP, "CP field does not end with &&")
    if start > 0 and text[start - 1] != ";":
        raise PacketError(ErrorCode.BAD_FIELD, "CP is not separated from the header by ;")
    cp_text = text[start + 5 : -2]
    if len(cp_text) > MAX_CP:
        raise PacketError(ErrorCode.BAD_CP, f"CP holds {len(cp_text)} characters (max {MAX_CP})")
    return text[: max(start - 1, 0)], cp_text


def _parse_header(header: str) -> dict[str, str]:
    fields: dict[str, str] = {}
    for part in header.split(";") if header else []:
        key, sep, value = part.partition("=")
        if not sep or key not in _HEADER_ORDER:
            raise PacketError(ErrorCode.BAD_FIELD, f"unexpected header item {part[:40]!r}")
        if key in fields:
            raise PacketError(ErrorCode.BAD_FIELD, f"header field {key} given twice")
        fields[key] = value
    missing = [key for key in _REQUIRED if key not in fields]
    if missing:
        raise PacketError(ErrorCode.MISSING_FIELD, f"missing header fields: {', '.join(missing)}")
    return fields


def _parse_cp(cp_text: str) -> dict[str, str]:
    items: dict[str, str] = {}
    for group in cp_text.split(";") if cp_text else []:
        for part in group.split(","):
            key, sep, value = part.partition("=")
            if not sep or not key or "&" in part:
                raise PacketError(ErrorCode.BAD_CP, f"CP item {part[:40]!r} is not key=value")
            if key in items:
                raise PacketError(ErrorCode.BAD_CP, f"CP item {key} given twice")
            items[key] = value
    return items


def _packet_from_fields(fields: dict[str, str], cp: dict[str, str]) -> Packet:
    _parse_local_time(fields["QN"], 17, ErrorCode.BAD_QN, "QN")
    for key in ("ST", "CN"):
        if not _DIGITS.fullmatch(fields[key]) or len(fields[key]) > 4:
            raise PacketError(ErrorCode.BAD_FIELD, f"{key}={fields[key][:10]!r} is not a code")
    if not _MN.fullmatch(fields["MN"]):
        raise PacketError(ErrorCode.BAD_FIELD, f"MN={fields['MN'][:30]!r} is not a device id")
    flag = _small_int(fields["Flag"], "Flag", 255)
    pnum = pno = None
    if flag & FLAG_SPLIT:
        if "PNUM" not in fields or "PNO" not in fields:
            raise PacketError(ErrorCode.MISSING_FIELD, "Flag says split but PNUM/PNO missing")
        pnum, pno = _small_int(fields["PNUM"], "PNUM", 9999), _small_int(fields["PNO"], "PNO", 9999)
        if not 1 <= pno <= pnum:
            raise PacketError(ErrorCode.BAD_FIELD, f"PNO={pno} outside 1..PNUM={pnum}")
    elif "PNUM" in fields or "PNO" in fields:
        raise PacketError(ErrorCode.BAD_FIELD, "PNUM/PNO given but Flag does not say split")
    return Packet(
        qn=fields["QN"],
        st=fields["ST"],
        cn=fields["CN"],
        pw=fields["PW"],
        mn=fields["MN"],
        flag=flag,
        pnum=pnum,
        pno=pno,
        cp=cp,
    )


def _small_int(text: str, name: str, limit: int) -> int:
    if not _DIGITS.fullmatch(text) or len(text) > 4 or int(text) > limit:
        raise PacketError(ErrorCode.BAD_FIELD, f"{name}={text[:10]!r} is not a number 0..{limit}")
    return int(text)


def _parse_local_time(text: str, size: int, code: ErrorCode, name: str) -> datetime:
    """A Beijing-time stamp (YYYYMMDDhhmmss, then milliseconds in a QN) as aware UTC."""
    if len(text) != size or not _DIGITS.fullmatch(text):
        raise PacketError(code, f"{name}={text[:30]!r} is not {size} digits")
    year, month, day = int(text[0:4]), int(text[4:6]), int(text[6:8])
    hour, minute, second = int(text[8:10]), int(text[10:12]), int(text[12:14])
    micro = int(text[14:17]) * 1000 if size == 17 else 0
    try:
        local = datetime(year, month, day, hour, minute, second, micro, tzinfo=LOCAL_TZ)
    except ValueError:
        raise PacketError(code, f"{name}={text!r} is not a valid time") from None
    return local.astimezone(UTC)


def measurements_from_cp(packet: Packet, *, table: CodeTable = HJ212_2017) -> Readings:
    """The sampling time and one measurement per parameter of a data upload.

    For real-time data (2011) the -Rtd value is read, for period data (2051/2061/2031) the -Avg
    value, each falling back on the other. A parameter without a -Flag item counts as N.
    """
    suffixes = table.data_commands.get(packet.cn)
    if suffixes is None:
        raise PacketError(ErrorCode.NOT_DATA, f"CN={packet.cn} carries no measurements")
    if "DataTime" not in packet.cp:
        raise PacketError(ErrorCode.BAD_DATATIME, "no DataTime in CP")
    observed_at = _parse_local_time(packet.cp["DataTime"], 14, ErrorCode.BAD_DATATIME, "DataTime")
    codes = dict.fromkeys(key.split("-", 1)[0] for key in packet.cp if "-" in key)
    measurements = []
    for code in codes:
        value_text = next(
            (packet.cp[f"{code}-{s}"] for s in suffixes if f"{code}-{s}" in packet.cp), None
        )
        if value_text is None:
            continue
        measurements.append(_measurement(code, value_text, packet.cp.get(f"{code}-Flag"), table))
    return Readings(observed_at, measurements)


def _measurement(code: str, value_text: str, flag: str | None, table: CodeTable) -> Measurement:
    if not _CODE.fullmatch(code):
        raise PacketError(ErrorCode.BAD_VALUE, f"parameter code {code[:30]!r} is malformed")
    try:
        value = float(value_text)
    except ValueError:
        raise PacketError(ErrorCode.BAD_VALUE, f"{code} value {value_text[:30]!r}") from None
    if not math.isfinite(value) or not _NUMBER.fullmatch(value_text):
        raise PacketError(ErrorCode.BAD_VALUE, f"{code} value {value_text[:30]!r} is not finite")
    letter = table.valid_flag if flag is None else flag
    if not _LETTER.fullmatch(letter):
        raise PacketError(ErrorCode.BAD_VALUE, f"{code}-Flag={letter[:10]!r} is not one letter")
    return Measurement(code=code, value=value, unit=table.unit_of(code), flag=letter.upper())


def build_reply(packet: Packet) -> bytes | None:
    """The data answer (CN=9014, ST=91) when the packet's Flag asks for one, else None.

    The reply carries the request's version bits without the A bit (Flag=4 for HJ 212-2017).
    """
    if not packet.wants_reply:
        return None
    fields = {"QN": packet.qn, "ST": ST_SYSTEM, "CN": CN_DATA_ANSWER, "PW": packet.pw}
    fields |= {"MN": packet.mn, "Flag": str(packet.version_bits << 2)}
    return encode_packet(fields)
