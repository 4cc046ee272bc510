"""Benchmarks of rivernotify, run by ``make bench`` (``python -m bench``).

Each benchmark is a function ``run(options) -> Section`` registered in ``bench.__main__``; the
runner prints every section and writes ``bench/RESULTS.md``. Speed targets live here, never in
timed tests.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Options:
    """What the command line asked for; each benchmark reads what it needs."""

    size: int = 1_000_000
    samples: int = 2000
    seed: int = 20240601
    reports: int = 200  # end to end: reports posted (e2e, scaleout)
    requests: int = 2000  # ingest: requests (and HJ 212 packets) per run
    map_sizes: tuple[int, ...] = (10_000, 100_000)  # map data: reaches in the network


@dataclass(frozen=True)
class Figure:
    """One measured figure, with its target and the baseline it is compared to (same run)."""

    name: str
    value: float
    unit: str
    target: str = ""
    met: bool | None = None
    baseline: str = ""
    ratio: float | None = None  # baseline / value: how many times faster (or smaller)


@dataclass
class Section:
    title: str
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
