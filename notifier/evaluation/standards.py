"""GB 3838-2002 limits, read from data/standards/gb3838_2002_limits.csv."""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

LIMITS_FILE = Path("standards") / "gb3838_2002_limits.csv"
WATERBODIES = frozenset({"all", "river", "lake_reservoir"})


class StandardsError(ValueError):
    pass


@dataclass(frozen=True, slots=True)
class Limit:
    code: str
    item_zh: str
    item_en: str
    unit: str  # mg/L, count/L or dimensionless
    bound: str  # max | min | range
    waterbody: str  # all | river | lake_reservoir
    by_class: tuple[tuple[float, float | None], ...]  # classes I..V: (low, high or None)

    def for_class(self, target_class: int) -> tuple[float, float | None]:
        return self.by_class[target_class - 1]


@dataclass(frozen=True, slots=True)
class Standards:
    limits: dict[tuple[str, str], Limit]

    def limit(self, code: str, *, waterbody: str) -> Limit | None:
        return self.limits.get((code, waterbody)) or self.limits.get((code, "all"))

    def knows(self, code: str) -> bool:
        return any(key[0] == code for key in self.limits)


def _cell(text: str, bound: str) -> tuple[float, float | None]:
    if bound == "range":
        low, high = text.split("-")
        return float(low), float(high)
    return float(text), None


def read_standards(path: Path) -> Standards:
    """Rows with an HJ 212 code (Table 1); Tables 2-3 have no code and cannot be matched."""
    if not path.is_file():
        raise StandardsError(f"找不到水质标准文件 / standards file not found: {path}")
    limits: dict[tuple[str, str], Limit] = {}
    problems: list[str] = []
    with path.open(encoding="utf-8", newline="") as handle:
        for line, row in enumerate(csv.DictReader(handle), start=2):
            code = (row.get("hj212_2017_code") or "").strip()
            waterbody = (row.get("waterbody") or "").strip()
            if not code or waterbody not in WATERBODIES:
                continue
            bound = row["bound"].strip()
            try:
                cells = tuple(
                    _cell(row[f"class_{c}"].strip(), bound) for c in ("I", "II", "III", "IV", "V")
                )
            except (ValueError, KeyError) as exc:
                problems.append(f"{path}:{line}: {exc}")
                continue
            limits[(code, waterbody)] = Limit(
                code=code,
                item_zh=row["item_zh"],
                item_en=row["item_en"],
                unit=row["unit"].strip(),
                bound=bound,
                waterbody=waterbody,
                by_class=cells,
            )
    if problems:
        raise StandardsError("; ".join(problems))
    return Standards(limits=limits)
