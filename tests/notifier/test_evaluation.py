"""GB 3838-2002 checks: unit conversion, DO minimum, pH range, station thresholds, flags."""

from __future__ import annotations

from pathlib import Path

import pytest

from notifier.enums import Grade
from notifier.evaluation.evaluate import (
    Measurement,
    MeasurementError,
    check_measurements,
    evaluate,
)
from notifier.evaluation.standards import Standards, StandardsError, read_standards
from notifier.routing.policy import load_policy


@pytest.fixture(scope="module")
def standards(limits_path: Path) -> Standards:
    return read_standards(limits_path)


def _eval(
    standards: Standards,
    *ms: Measurement,
    cls: int = 3,
    water: str = "river",
    thresholds: dict[str, object] | None = None,
):  # type: ignore[no-untyped-def]
    return evaluate(
        ms,
        target_class=cls,
        waterbody=water,
        standards=standards,
        thresholds=thresholds or {},
        policy=load_policy(),
    )


def test_ammonia_over_class_iii(standards: Standards) -> None:
    result = _eval(standards, Measurement("w21003", 3.0))
    assert result.exceeded and result.max_ratio == pytest.approx(3.0)
    assert result.proposed_grade is Grade.IV
    assert not _eval(standards, Measurement("w21003", 0.9)).exceeded


def test_micrograms_are_converted(standards: Standards) -> None:
    # Mercury class III: 0.0001 mg/L = 0.1 ug/L.
    assert not _eval(standards, Measurement("w20111", 0.09, "ug/L")).exceeded
    result = _eval(standards, Measurement("w20111", 1.5, "μg/L"))
    assert result.exceeded and result.max_ratio == pytest.approx(15.0)
    assert result.proposed_grade is Grade.III


def test_dissolved_oxygen_is_a_minimum(standards: Standards) -> None:
    assert _eval(standards, Measurement("w01009", 4.0)).exceeded  # class III needs >= 5
    assert not _eval(standards, Measurement("w01009", 8.0)).exceeded


def test_ph_is_a_range(standards: Standards) -> None:
    assert _eval(standards, Measurement("w01001", 5.5, "")).exceeded
    assert _eval(standards, Measurement("w01001", 9.6, "dimensionless")).exceeded
    assert not _eval(standards, Measurement("w01001", 7.2, "")).exceeded


def test_lake_phosphorus_is_stricter(standards: Standards) -> None:
    assert not _eval(standards, Measurement("w21011", 0.1)).exceeded
    assert _eval(standards, Measurement("w21011", 0.1), water="lake_reservoir").exceeded


def test_station_threshold(standards: Standards) -> None:
    rule = {"w21003": {"max": 0.5, "unit": "mg/L"}}
    result = _eval(standards, Measurement("w21003", 0.8), thresholds=rule)
    assert result.exceeded
    assert [c.source for c in result.checks if c.exceeded] == ["station"]


def test_invalid_flags_are_not_judged(standards: Standards) -> None:
    result = _eval(standards, Measurement("w21003", 50.0, flag="M"))
    assert not result.exceeded and not result.checks[0].evaluated


def test_huge_exceedance_proposes_grade_ii(standards: Standards) -> None:
    assert _eval(standards, Measurement("w21003", 60.0)).proposed_grade is Grade.II


def test_bad_measurements_reported_together(standards: Standards) -> None:
    with pytest.raises(MeasurementError) as info:
        check_measurements(
            [
                Measurement("w21003", 1.0, "furlongs"),
                Measurement("w99999", 1.0),
                Measurement("w01001", 7.0, "mg/L"),
                Measurement("w21003", float("nan")),
            ],
            standards=standards,
            thresholds={},
            waterbody="river",
        )
    text = str(info.value)
    assert "furlongs" in text and "w99999" in text and "w01001" in text and "finite" in text


def test_missing_standards_file(tmp_path: Path) -> None:
    with pytest.raises(StandardsError, match="not found"):
        read_standards(tmp_path / "none.csv")
