"""Travel-time estimates: measured velocity, then Jobson from discharge, then per-kind default."""

from __future__ import annotations

import math

import numpy as np
import pytest

from basins.model import ReachKind
from basins.traveltime import (
    DEFAULT_VELOCITY_MS,
    jobson_peak_velocity,
    reach_times_s,
    reach_velocities,
)


def test_measured_velocity_wins() -> None:
    velocity, measured = reach_velocities([1.3], [50.0], ["river"])
    assert velocity.tolist() == [1.3] and measured.tolist() == [True]


def test_discharge_gives_jobson_velocity_for_rivers_only() -> None:
    nan = float("nan")
    velocity, measured = reach_velocities([nan, nan], [10.0, 10.0], ["river", "reservoir"])
    expected = 0.020 + 0.051 * 9.81**0.4105 * 1e9**0.02625 * 10**0.179
    assert velocity[0] == pytest.approx(expected)
    assert velocity[1] == DEFAULT_VELOCITY_MS[ReachKind.RESERVOIR]
    assert not measured.any()


def test_jobson_collapsed_form_matches_the_full_relation() -> None:
    q, area, g = 25.0, 3.0e9, 9.81
    d_a = area**1.25 * math.sqrt(g) / q
    full = 0.020 + 0.051 * d_a**0.821 * 1.0**-0.465 * q / area
    assert jobson_peak_velocity([q], drainage_area_m2=area)[0] == pytest.approx(full)


def test_jobson_velocity_grows_with_discharge_and_stays_plausible() -> None:
    velocity = jobson_peak_velocity([0.5, 5, 50, 500, 5000])
    assert np.all(np.diff(velocity) > 0)
    assert velocity[0] > 0.1 and velocity[-1] < 3.0


def test_defaults_per_kind_and_still_water_is_slow() -> None:
    nan = float("nan")
    kinds = ["river", "canal", "reservoir", "lake", "unknown"]
    velocity, _ = reach_velocities([nan] * 5, [nan] * 5, kinds)
    assert velocity.tolist() == [0.5, 0.6, 0.05, 0.02, 0.5]


def test_zero_or_negative_inputs_do_not_make_time_infinite() -> None:
    velocity, measured = reach_velocities([0.0, -1.0], [0.0, -5.0], ["river", "river"])
    assert np.all(velocity > 0) and not measured.any()
    assert np.all(np.isfinite(reach_times_s([1000.0, 1000.0], velocity)))
