"""Evaluate one report's measurements (pure).

Values are converted to the unit of the limit (ug/L to mg/L ...). Dissolved oxygen is a
minimum, pH a range, the rest maxima. Only data flag N (normal) and T (over measuring range:
the true value is at least the reading) are judged; other flags (maintenance, fault ...) are
kept but not judged. A per-station alarm threshold is checked besides the standard.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from notifier.enums import Grade
from notifier.evaluation.standards import Standards
from notifier.routing.policy import Policy

JUDGED_FLAGS = frozenset({"N", "T"})
# Factor to the canonical unit.
UNITS: dict[str, tuple[str, float]] = {
    "mg/l": ("mg/L", 1.0),
    "ug/l": ("mg/L", 0.001),
    "μg/l": ("mg/L", 0.001),
    "µg/l": ("mg/L", 0.001),
    "g/l": ("mg/L", 1000.0),
    "ng/l": ("mg/L", 1e-6),
    "count/l": ("count/L", 1.0),
    "个/l": ("count/L", 1.0),
    "": ("dimensionless", 1.0),
    "dimensionless": ("dimensionless", 1.0),
    "无量纲": ("dimensionless", 1.0),
}


class MeasurementError(ValueError):
    """Measurements that cannot be judged; the message lists every problem."""


@dataclass(frozen=True, slots=True)
class Measurement:
    code: str
    value: float
    unit: str = "mg/L"
    flag: str = "N"

    def as_json(self) -> dict[str, Any]:
        return {"code": self.code, "value": self.value, "unit": self.unit, "flag": self.flag}


@dataclass(frozen=True, slots=True)
class Check:
    code: str
    value: float  # in ``unit``
    unit: str
    source: str  # gb3838 | station
    bound: str
    low: float | None
    high: float | None
    exceeded: bool
    ratio: float  # how far past the limit (>1 exceeds), 0 when not judged
    evaluated: bool
    reason: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "value": self.value,
            "unit": self.unit,
            "source": self.source,
            "bound": self.bound,
            "low": self.low,
            "high": self.high,
            "exceeded": self.exceeded,
            "ratio": round(min(self.ratio, 1e9), 4),
            "evaluated": self.evaluated,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class EvaluationResult:
    checks: tuple[Check, ...]
    exceeded: bool
    max_ratio: float
    proposed_grade: Grade | None


def canonical(value: float, unit: str) -> tuple[float, str]:
    key = unit.strip().lower().replace(" ", "")
    if key not in UNITS:
        raise MeasurementError(f"未知单位 / unknown unit {unit!r}")
    target, factor = UNITS[key]
    return value * factor, target


def check_measurements(
    measurements: Sequence[Measurement],
    *,
    standards: Standards,
    thresholds: Mapping[str, Any],
    waterbody: str,
) -> None:
    """Refuse unknown units, codes and unit mismatches before anything is stored; every
    problem at once."""
    problems = []
    for m in measurements:
        if m.value != m.value or m.value in (float("inf"), float("-inf")):
            problems.append(f"{m.code}: 数值无效 / value is not a finite number")
        try:
            _, unit = canonical(m.value, m.unit)
        except MeasurementError as exc:
            problems.append(f"{m.code}: {exc}")
            continue
        limit = standards.limit(m.code, waterbody=waterbody)
        if limit is None and m.code not in thresholds:
            problems.append(f"{m.code}: GB 3838-2002 无此参数 / no limit for this HJ 212 code here")
        elif limit is not None and limit.unit != unit:
            problems.append(
                f"{m.code}: 单位 {m.unit!r} 不能换算为 {limit.unit} / unit cannot convert"
            )
    if problems:
        raise MeasurementError("; ".join(problems))


def _ratio(value: float, bound: str, low: float | None, high: float | None) -> float:
    """How many times past the limit: value/limit above a maximum, limit/value below a
    minimum (a value at or below zero under a minimum counts as infinitely far)."""
    if bound == "range" and high is not None and value > high:
        return value / high
    if bound in ("min", "range"):
        assert low is not None
        return low / value if value > 0 else float("inf")
    assert low is not None
    return value / low if low > 0 else float("inf")


def _judge(
    code: str,
    *,
    value: float,
    unit: str,
    source: str,
    bound: str,
    low: float | None,
    high: float | None,
    judged: bool,
) -> Check:
    if not judged:
        return Check(
            code,
            value,
            unit,
            source,
            bound,
            low,
            high,
            False,
            0.0,
            False,
            "数据标记非正常 / data flag not valid for judgement",
        )
    if bound == "min":
        exceeded = low is not None and value < low
    elif bound == "range":
        exceeded = (low is not None and value < low) or (high is not None and value > high)
    else:
        exceeded = low is not None and value > low
    ratio = _ratio(value, bound, low, high) if exceeded else 0.0
    return Check(code, value, unit, source, bound, low, high, exceeded, ratio, True)


def _station_check(m: Measurement, rule: Mapping[str, Any], judged: bool) -> Check | None:
    try:
        value, unit = canonical(m.value, m.unit)
        rule_factor = canonical(1.0, str(rule.get("unit", unit)))[0]
    except MeasurementError:
        return None
    low = rule.get("min")
    high = rule.get("max")
    if high is not None and value > float(high) * rule_factor and judged:
        return _judge(
            m.code,
            value=value,
            unit=unit,
            source="station",
            bound="max",
            low=float(high) * rule_factor,
            high=None,
            judged=True,
        )
    if low is not None and judged and value < float(low) * rule_factor:
        return _judge(
            m.code,
            value=value,
            unit=unit,
            source="station",
            bound="min",
            low=float(low) * rule_factor,
            high=None,
            judged=True,
        )
    return None


def propose_grade(max_ratio: float, *, exceeded: bool, policy: Policy) -> Grade | None:
    if not exceeded:
        return None
    if max_ratio >= policy.ratio_ii:
        return Grade.II
    if max_ratio >= policy.ratio_iii:
        return Grade.III
    return Grade.IV


def evaluate(
    measurements: Sequence[Measurement],
    *,
    target_class: int,
    waterbody: str,
    standards: Standards,
    thresholds: Mapping[str, Any],
    policy: Policy,
) -> EvaluationResult:
    checks: list[Check] = []
    for m in measurements:
        judged = m.flag.upper() in JUDGED_FLAGS
        limit = standards.limit(m.code, waterbody=waterbody)
        if limit is not None:
            value, unit = canonical(m.value, m.unit)
            low, high = limit.for_class(target_class)
            checks.append(
                _judge(
                    m.code,
                    value=value,
                    unit=unit,
                    source="gb3838",
                    bound=limit.bound,
                    low=low,
                    high=high,
                    judged=judged,
                )
            )
        rule = thresholds.get(m.code)
        if isinstance(rule, Mapping):
            station = _station_check(m, rule, judged)
            if station is not None:
                checks.append(station)
    exceeded = any(c.exceeded for c in checks)
    max_ratio = max((c.ratio for c in checks if c.exceeded), default=0.0)
    return EvaluationResult(
        checks=tuple(checks),
        exceeded=exceeded,
        max_ratio=max_ratio,
        proposed_grade=propose_grade(max_ratio, exceeded=exceeded, policy=policy),
    )
