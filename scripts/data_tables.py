"""The tables data/ ships beside the layers: bureaus and the two standards.

Contacts are examples only: e-mail on the reserved ``.example`` top-level domain (RFC 2606)
and telephone numbers of the form AREA-0000NNN, which no real line has.
"""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import geopandas as gpd

GB3838_FILE = Path("standards") / "gb3838_2002_limits.csv"
BUREAU_COLUMNS = (
    "jurisdiction_id",
    "bureau",
    "bureau_en",
    "email",
    "webhook_url",
    "webhook_format",
    "duty_name",
    "duty_phone",
)

#: HJ 212-2017 surface-water codes (hj212_2017_facts.md): code -> (name_zh, name_en, unit).
#: Default unit mg/L; the heavy metals the standard reports in µg/L are marked so.
HJ212_CODES: dict[str, tuple[str, str, str]] = {
    "w01001": ("pH值", "pH", "dimensionless"),
    "w01010": ("水温", "water temperature", "°C"),
    "w01009": ("溶解氧", "dissolved oxygen", "mg/L"),
    "w01014": ("电导率", "conductivity", "µS/cm"),
    "w01019": ("高锰酸盐指数", "permanganate index (CODMn)", "mg/L"),
    "w01018": ("化学需氧量", "chemical oxygen demand (COD)", "mg/L"),
    "w01017": ("五日生化需氧量", "BOD5", "mg/L"),
    "w21003": ("氨氮", "ammonia nitrogen (NH3-N)", "mg/L"),
    "w21011": ("总磷", "total phosphorus", "mg/L"),
    "w21001": ("总氮", "total nitrogen", "mg/L"),
    "w20111": ("汞", "mercury", "µg/L"),
    "w20115": ("镉", "cadmium", "µg/L"),
    "w20117": ("铬(六价)", "chromium (VI)", "µg/L"),
    "w20119": ("砷", "arsenic", "µg/L"),
    "w20120": ("铅", "lead", "µg/L"),
    "w20122": ("铜", "copper", "mg/L"),
    "w20123": ("锌", "zinc", "mg/L"),
    "w20128": ("硒", "selenium", "µg/L"),
    "w21016": ("氰化物", "cyanide", "mg/L"),
    "w21017": ("氟化物", "fluoride", "mg/L"),
    "w21019": ("硫化物", "sulfide", "mg/L"),
    "w22001": ("石油类", "petroleum", "mg/L"),
    "w23002": ("挥发酚", "volatile phenol", "mg/L"),
    "w19002": ("阴离子表面活性剂", "anionic surfactant", "mg/L"),
    "w02003": ("粪大肠菌群", "fecal coliform", "count/L"),
}

#: Telephone area codes by prefecture (or province/XPCC for their own bureaus).
AREA_CODES = {
    "140000": "0351",
    "140100": "0351",
    "140200": "0352",
    "140300": "0353",
    "140400": "0355",
    "140500": "0356",
    "140600": "0349",
    "140700": "0354",
    "140800": "0359",
    "140900": "0350",
    "141000": "0357",
    "141100": "0358",
    "610000": "029",
    "610500": "0913",
    "410000": "0371",
    "411200": "0398",
    "650000": "0991",
    "650100": "0991",
    "652300": "0994",
    "654200": "0901",
    "660000": "0991",
    "660600": "0994",
    "660800": "0993",
}
#: Example webhooks: the 昌吉州 line uses WeCom (企业微信), the 山西 prefectures DingTalk.
WEBHOOK_FORMATS = {"652300": "wecom", "140000": "dingtalk"}


def copy_gb3838(shared: Path, target: Path) -> None:
    """GB 3838-2002 limits, byte for byte as checked in ../shared."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(shared / GB3838_FILE, target)


def write_hj212_codes(target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(("code", "name_zh", "name_en", "default_unit"))
        for code, (zh, en, unit) in HJ212_CODES.items():
            writer.writerow((code, zh, en, unit))


def _lineage(jid: str, parents: dict[str, str]) -> list[str]:
    """The jurisdiction and its ancestors, nearest first."""
    chain = [jid]
    while parents.get(chain[-1]) and parents[chain[-1]] not in chain:
        chain.append(parents[chain[-1]])
    return chain


def _first(lineage: list[str], table: dict[str, str], default: str) -> str:
    return next((table[j] for j in lineage if j in table), default)


def bureau_rows(jurisdictions: gpd.GeoDataFrame) -> list[dict[str, str]]:
    """One example contact row per jurisdiction that has a bureau."""
    parents = dict(zip(jurisdictions["jurisdiction_id"], jurisdictions["parent"], strict=True))
    rows: list[dict[str, str]] = []
    for number, row in enumerate(jurisdictions.itertuples(index=False), start=1):
        if not row.bureau:
            continue
        jid = str(row.jurisdiction_id)
        lineage = _lineage(jid, parents)
        fmt = _first(lineage, WEBHOOK_FORMATS, "")
        rows.append(
            {
                "jurisdiction_id": jid,
                "bureau": str(row.bureau),
                "bureau_en": str(row.bureau_en),
                "email": f"duty@{jid.lower()}.bureau.example",
                "webhook_url": f"https://hooks.example/{fmt}/{jid.lower()}" if fmt else "",
                "webhook_format": fmt,
                "duty_name": "环境应急值班室 / environmental emergency duty office",
                "duty_phone": f"{_first(lineage, AREA_CODES, '0000')}-0000{number:03d}",
            }
        )
    return rows


def write_bureaus(jurisdictions: gpd.GeoDataFrame, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    with target.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=BUREAU_COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(bureau_rows(jurisdictions))
