"""The routing policy, loaded from TOML into a frozen dataclass (data, not code branches)."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

from notifier.enums import Grade

DEFAULT_POLICY = "policy.toml"


class PolicyError(ValueError):
    """The policy file is unusable; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class ProvincePolicy:
    report_to_province: bool = False
    heads_notify_each_other: bool = False
    basis: str = ""


@dataclass(frozen=True, slots=True)
class Policy:
    max_hours: float = 48.0
    max_km: float = 300.0
    ack_minutes: dict[Grade, float] = field(
        default_factory=lambda: {Grade.I: 30, Grade.II: 30, Grade.III: 60, Grade.IV: 60}
    )
    arrival_margin_minutes: float = 30.0
    minimum_minutes: float = 10.0
    escalate_factor: float = 2.0
    origin_supervisor: bool = True
    other_prefecture_supervisor: bool = True
    province_crossing: bool = True
    join_window_hours: float = 72.0
    snap_limit_m: float = 2000.0
    report_upward_hours_major: float = 2.0
    report_upward_hours: float = 4.0
    public_information_hours: float = 5.0
    press_conference_hours: float = 24.0
    warn_before_minutes: float = 30.0
    ratio_ii: float = 50.0
    ratio_iii: float = 10.0
    provinces: dict[str, ProvincePolicy] = field(default_factory=dict)

    def province(self, province_id: str | None) -> ProvincePolicy:
        if province_id is not None and province_id in self.provinces:
            return self.provinces[province_id]
        return self.provinces.get("default", ProvincePolicy())


def _number(table: dict[str, Any], key: str, where: str, problems: list[str]) -> float:
    value = table.get(key)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        problems.append(f"{where}.{key}: 需要非负数 / needs a non-negative number, got {value!r}")
        return 0.0
    return float(value)


def _flag(table: dict[str, Any], key: str, where: str, problems: list[str]) -> bool:
    value = table.get(key, False)
    if not isinstance(value, bool):
        problems.append(f"{where}.{key}: 需要 true/false / needs a boolean, got {value!r}")
        return False
    return value


def policy_from_toml(text: str, *, source: str = "policy") -> Policy:
    """Parse and check a policy; every problem is collected and raised once."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(f"{source}: TOML 语法错误 / syntax error: {exc}") from exc
    problems: list[str] = []
    sections = {k: data.get(k, {}) for k in ("horizon", "deadlines", "copies", "incidents")}
    sections |= {k: data.get(k, {}) for k in ("clocks", "grading")}
    h, d, c, i = (sections[k] for k in ("horizon", "deadlines", "copies", "incidents"))
    cl, g = sections["clocks"], sections["grading"]
    ack_raw = d.get("ack_minutes", {})
    ack: dict[Grade, float] = {}
    for grade in Grade:
        ack[grade] = _number(ack_raw, grade.value, "deadlines.ack_minutes", problems)
    provinces = {
        str(pid): ProvincePolicy(
            report_to_province=_flag(p, "report_to_province", f"provinces.{pid}", problems),
            heads_notify_each_other=_flag(
                p, "heads_notify_each_other", f"provinces.{pid}", problems
            ),
            basis=str(p.get("basis", "")),
        )
        for pid, p in data.get("provinces", {}).items()
    }
    policy = Policy(
        max_hours=_number(h, "max_hours", "horizon", problems),
        max_km=_number(h, "max_km", "horizon", problems),
        ack_minutes=ack,
        arrival_margin_minutes=_number(d, "arrival_margin_minutes", "deadlines", problems),
        minimum_minutes=_number(d, "minimum_minutes", "deadlines", problems),
        escalate_factor=_number(d, "escalate_factor", "deadlines", problems),
        origin_supervisor=_flag(c, "origin_supervisor", "copies", problems),
        other_prefecture_supervisor=_flag(c, "other_prefecture_supervisor", "copies", problems),
        province_crossing=_flag(c, "province_crossing", "copies", problems),
        join_window_hours=_number(i, "join_window_hours", "incidents", problems),
        snap_limit_m=_number(i, "snap_limit_m", "incidents", problems),
        report_upward_hours_major=_number(cl, "report_upward_hours_major", "clocks", problems),
        report_upward_hours=_number(cl, "report_upward_hours", "clocks", problems),
        public_information_hours=_number(cl, "public_information_hours", "clocks", problems),
        press_conference_hours=_number(cl, "press_conference_hours", "clocks", problems),
        warn_before_minutes=_number(cl, "warn_before_minutes", "clocks", problems),
        ratio_ii=_number(g, "ratio_II", "grading", problems),
        ratio_iii=_number(g, "ratio_III", "grading", problems),
        provinces=provinces,
    )
    if policy.escalate_factor < 1:
        problems.append("deadlines.escalate_factor: 至少为 1 / must be at least 1")
    if problems:
        raise PolicyError(f"{source}: " + "; ".join(problems))
    return policy


def load_policy(path: Path | None = None) -> Policy:
    """The policy at ``path``, or the one shipped in the package."""
    if path is None:
        text = resources.files("notifier.routing").joinpath(DEFAULT_POLICY).read_text("utf-8")
        return policy_from_toml(text, source=f"notifier/routing/{DEFAULT_POLICY}")
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyError(f"无法读取策略文件 / cannot read policy file {path}: {exc}") from exc
    return policy_from_toml(text, source=str(path))
