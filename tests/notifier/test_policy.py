from __future__ import annotations

from pathlib import Path

import pytest

from notifier.enums import Grade
from notifier.routing.policy import PolicyError, load_policy, policy_from_toml


def test_shipped_policy_reads_the_notices() -> None:
    policy = load_policy()
    assert policy.ack_minutes[Grade.I] == 30 and policy.ack_minutes[Grade.IV] == 60
    assert (policy.max_hours, policy.max_km) == (48.0, 300.0)
    assert policy.province("140000").report_to_province  # 晋环发〔2019〕48号 二
    assert policy.province("140000").heads_notify_each_other
    assert not policy.province("650000").report_to_province  # 昌州环发〔2019〕59号 一(四)
    assert not policy.province("999999").report_to_province  # default


def test_every_problem_reported_at_once(tmp_path: Path) -> None:
    text = (
        '[horizon]\nmax_hours = -1\nmax_km = "far"\n'
        "[deadlines]\nescalate_factor = 0.5\n[copies]\norigin_supervisor = 3\n"
    )
    with pytest.raises(PolicyError) as info:
        policy_from_toml(text, source="bad.toml")
    message = str(info.value)
    for fragment in (
        "horizon.max_hours",
        "horizon.max_km",
        "escalate_factor",
        "copies.origin_supervisor",
        "deadlines.ack_minutes.I",
    ):
        assert fragment in message


def test_unreadable_policy_file(tmp_path: Path) -> None:
    with pytest.raises(PolicyError, match="cannot read"):
        load_policy(tmp_path / "missing.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[horizon\n", encoding="utf-8")
    with pytest.raises(PolicyError, match="syntax"):
        load_policy(broken)
