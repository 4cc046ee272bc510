"""The HJ 212 code tables, kept as data so that a newer edition (HJ 212-2025, HJ 1404-2024) can be
added as another ``CodeTable`` without touching the codec.

Facts from ../shared/data/standards/hj212_2017_facts.md (the standard's text, checked against
several public implementations).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

MG_L: Final = "mg/L"
UG_L: Final = "µg/L"


@dataclass(frozen=True, slots=True)
class CodeTable:
    """One edition of the protocol: its version bits, commands and parameter units."""

    edition: str
    version_bits: int  # V5..V0 of the Flag field
    #: CN of the data uploads this platform evaluates, with the item suffixes to read, best first.
    data_commands: MappingProxyType[str, tuple[str, ...]]
    #: Parameter code -> default unit (the unit GB 3838 limits are compared in after conversion).
    units: MappingProxyType[str, str]
    #: Data flag letter -> meaning; only ``valid_flag`` marks a measurement that may trigger.
    data_flags: MappingProxyType[str, str] = field(default_factory=lambda: MappingProxyType({}))
    valid_flag: str = "N"

    def unit_of(self, code: str) -> str | None:
        return self.units.get(code)


# CN codes used by the platform side.
CN_DATA_ANSWER: Final = "9014"
ST_SYSTEM: Final = "91"  # system interaction: replies

# Surface-water parameter codes of the 2017 table (w01003 turbidity is common in practice but
# is not in the table: it passes through with no default unit).
_UNITS_2017: dict[str, str] = {
    "w01001": "",  # pH, dimensionless
    "w01010": "°C",
    "w01009": MG_L,
    "w01014": "µS/cm",
    "w01019": MG_L,
    "w01018": MG_L,
    "w01017": MG_L,
    "w21003": MG_L,
    "w21011": MG_L,
    "w21001": MG_L,
    "w20111": UG_L,  # Hg
    "w20115": UG_L,  # Cd
    "w20117": UG_L,  # Cr(VI)
    "w20119": UG_L,  # As
    "w20120": UG_L,  # Pb
    "w20122": MG_L,  # Cu
    "w20123": MG_L,  # Zn
    "w20128": UG_L,  # Se
    "w21016": MG_L,
    "w21017": MG_L,
    "w21019": MG_L,
    "w22001": MG_L,
    "w23002": MG_L,
    "w19002": MG_L,
    "w02003": "个/L",  # fecal coliform, count per litre
}

_FLAGS_2017: dict[str, str] = {
    "N": "正常 normal",
    "F": "停运 instrument stopped",
    "M": "维护 maintenance",
    "S": "手工输入 manually set value",
    "D": "故障 fault",
    "C": "校准 calibration",
    "T": "超测定上限 over measuring range",
    "B": "通讯异常 communication fault",
}

HJ212_2017: Final = CodeTable(
    edition="HJ 212-2017",
    version_bits=0b000001,
    data_commands=MappingProxyType(
        {
            "2011": ("Rtd", "Avg"),  # real-time data
            "2051": ("Avg", "Rtd"),  # minute data
            "2061": ("Avg", "Rtd"),  # hourly data
            "2031": ("Avg", "Rtd"),  # daily data
        }
    ),
    units=MappingProxyType(_UNITS_2017),
    data_flags=MappingProxyType(_FLAGS_2017),
)
