"""The benchmark still runs end to end (tiny network; no speed target is asserted here)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from basins.index import NetworkIndex
from bench.__main__ import BENCHMARKS, main
from bench.synthetic import generate


def test_benchmark_runs_and_writes_every_figure(tmp_path: Path) -> None:
    out = tmp_path / "RESULTS.md"
    argv = ["--only", "trace", "--size", "2000", "--samples", "30", "--output", str(out)]
    assert main(argv) == 0
    text = out.read_text(encoding="utf-8")
    for figure in (
        "index build",
        "peak RSS",
        "downstream trace p50",
        "downstream trace p99",
        "paired",
        "upstream jurisdictions",
        "CPU:",
        "Python",
    ):
        assert figure in text, figure
    assert "trace" in {name for name, _ in BENCHMARKS}


def test_synthetic_network_is_a_valid_dendritic_network_with_jurisdictions() -> None:
    network = generate(5001, seed=3, region_size=100)
    assert network.size == 5001
    index = NetworkIndex.from_arrays(network.reach_ids, **network.index_arguments())  # type: ignore[arg-type]
    assert index.size == 5001
    assert 20 <= len(network.jurisdiction_ids) <= 120
    assert np.all((network.length_m >= 500) & (network.length_m <= 5000))
    assert len(index.secondary_src) >= 1
    counts = np.bincount(network.jurisdiction)
    assert np.median(counts) >= 50  # contiguous regions of about region_size reaches
    prefectures = {network.hierarchy.prefecture_of(j) for j in network.jurisdiction_ids}
    assert 1 < len(prefectures) < len(network.jurisdiction_ids)
