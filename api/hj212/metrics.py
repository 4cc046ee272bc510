"""The listener's counters as Prometheus metrics, read when scraped (no second set of counters).

Register once per server: ``registry.register(Hj212Collector(server.stats))``.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector

from api.hj212.codec import ErrorCode
from api.hj212.listener import Hj212Stats

PREFIX = "rivernotify_hj212"


class Hj212Collector(Collector):
    def __init__(self, stats: Hj212Stats) -> None:
        self._stats = stats

    def collect(self) -> Iterator[Metric]:
        stats = self._stats
        connections = CounterMetricFamily(
            f"{PREFIX}_connections", "HJ 212 TCP connections accepted or refused", labels=["result"]
        )
        connections.add_metric(["accepted"], stats.connections)
        connections.add_metric(["refused"], stats.connections_refused)
        yield connections
        yield GaugeMetricFamily(
            f"{PREFIX}_open_connections",
            "HJ 212 connections open now",
            value=stats.open_connections,
        )
        packets = CounterMetricFamily(
            f"{PREFIX}_packets", "Valid HJ 212 packets by outcome", labels=["outcome"]
        )
        for outcome, value in (
            ("handled", stats.packets),
            ("ignored", stats.ignored),
            ("unknown_mn", stats.unknown_mn),
            ("rejected", stats.rejected),
            ("handler_error", stats.handler_errors),
        ):
            packets.add_metric([outcome], value)
        yield packets
        errors = CounterMetricFamily(
            f"{PREFIX}_packet_errors", "Unusable HJ 212 packets by reason", labels=["reason"]
        )
        for code in ErrorCode:
            errors.add_metric([code.value], stats.errors[code])
        yield errors
        closes = CounterMetricFamily(
            f"{PREFIX}_closed", "Connections closed by the listener", labels=["reason"]
        )
        closes.add_metric(["timeout"], stats.timeouts)
        closes.add_metric(["oversized"], stats.closed_oversized)
        yield closes
        yield CounterMetricFamily(f"{PREFIX}_replies", "CN=9014 replies sent", value=stats.replies)
