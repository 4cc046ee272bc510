"""Load: measure the ingest ceiling (reports per second, one client, in process), then hold 80 %
of it for 30 s (RIVERNOTIFY_SOAK_S=600 for the issue's ten minutes): no error, memory bounded,
p99 latency of the last third no worse than the first third allows."""

from __future__ import annotations

import os
import time

import psutil
import pytest
from fastapi.testclient import TestClient

from tests.api.conftest import Tokens
from tests.reliability.support import percentile, report_body

SOAK_S = float(os.environ.get("RIVERNOTIFY_SOAK_S", "30"))
CALIBRATE_S = 3.0


def _post(client: TestClient, headers: dict[str, str], n: int) -> tuple[int, float]:
    # One in twenty over the limit (opens or joins an incident), the rest routine readings.
    body = report_body(n, value=6.5 if n % 20 == 0 else 0.2)
    started = time.perf_counter()
    status = client.post("/api/v1/reports", json=body, headers=headers).status_code
    return status, time.perf_counter() - started


@pytest.mark.slow  # 30 s by design
@pytest.mark.timeout(SOAK_S + 120)
def test_soak_at_80_percent_of_the_measured_ceiling(client: TestClient, tokens: Tokens) -> None:
    headers = tokens.header("a1")
    process = psutil.Process()
    for n in range(20):  # warm up: the first requests load the network and fill caches
        assert _post(client, headers, n)[0] == 201
    done, started = 0, time.perf_counter()
    while time.perf_counter() - started < CALIBRATE_S:
        assert _post(client, headers, 100 + done)[0] == 201
        done += 1
    ceiling = done / (time.perf_counter() - started)
    rate = 0.8 * ceiling
    interval = 1.0 / rate

    rss_start = process.memory_info().rss
    latencies: list[tuple[float, float]] = []  # (seconds since start, latency)
    errors: dict[int, int] = {}
    begin = time.perf_counter()
    n = 0
    while (elapsed := time.perf_counter() - begin) < SOAK_S:
        status, latency = _post(client, headers, 10_000 + n)
        if status != 201:
            errors[status] = errors.get(status, 0) + 1
        latencies.append((elapsed, latency))
        n += 1
        pause = begin + n * interval - time.perf_counter()
        if pause > 0:
            time.sleep(pause)
    rss_end = process.memory_info().rss
    achieved = n / (time.perf_counter() - begin)
    third = SOAK_S / 3
    first = [lat for at, lat in latencies if at < third]
    last = [lat for at, lat in latencies if at >= 2 * third]
    p99_first, p99_last = percentile(first, 99) * 1000, percentile(last, 99) * 1000
    growth_mib = (rss_end - rss_start) / 2**20
    print(
        f"FIGURE soak: ceiling {ceiling:.0f} reports/s (one client, in process); held "
        f"{achieved:.0f}/s for {SOAK_S:.0f} s ({n} reports); errors {errors or 0}; p50 "
        f"{percentile([lat for _, lat in latencies], 50) * 1000:.1f} ms; p99 first third "
        f"{p99_first:.1f} ms, last third {p99_last:.1f} ms; RSS {rss_start / 2**20:.0f} -> "
        f"{rss_end / 2**20:.0f} MiB ({growth_mib:+.1f} MiB)"
    )
    assert not errors
    assert achieved >= 0.7 * ceiling  # the pace was held
    assert p99_last <= 2.0 * p99_first + 20.0, "p99 drifted upwards"
    assert growth_mib < 64 + SOAK_S / 10, "memory grows with the number of reports"
