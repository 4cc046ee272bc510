"""``python -m bench [--size N] [--samples K] [--only NAME] [--output PATH]``.

Add a benchmark by appending ``(name, run)`` to :data:`BENCHMARKS`, where ``run`` takes
:class:`bench.Options` and returns a :class:`bench.Section`.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence
from pathlib import Path

from bench import Options, Section
from bench.results import print_section, write_results

Benchmark = Callable[[Options], Section]


def _trace(options: Options) -> Section:
    from bench.trace_bench import run

    return run(options)


def _e2e(options: Options) -> Section:
    from bench.e2e import run

    return run(options)


def _delivery(options: Options) -> Section:
    from bench.delivery_bench import run

    return run(options)


def _ingest(options: Options) -> Section:
    from bench.ingest import run

    return run(options)


def _mapdata(options: Options) -> Section:
    from bench.mapdata import run

    return run(options)


def _scaleout(options: Options) -> Section:
    from bench.scaleout import run

    return run(options)


#: Every benchmark `python -m bench` runs, in order: (name, function).
BENCHMARKS: list[tuple[str, Benchmark]] = [
    ("trace", _trace),
    ("e2e", _e2e),
    ("delivery", _delivery),
    ("ingest", _ingest),
    ("mapdata", _mapdata),
    ("scaleout", _scaleout),
]

DEFAULT_OUTPUT = Path(__file__).resolve().parent / "RESULTS.md"


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--size", type=int, default=1_000_000, help="reaches in the network")
    parser.add_argument("--samples", type=int, default=2000, help="random origins to time")
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--reports", type=int, default=200, help="e2e/scaleout: reports")
    parser.add_argument("--requests", type=int, default=2000, help="ingest: requests")
    parser.add_argument(
        "--map-sizes", default="10000,100000", help="mapdata: reaches, comma-separated"
    )
    parser.add_argument("--only", action="append", choices=[n for n, _ in BENCHMARKS])
    parser.add_argument("--output", type=Path, default=DEFAULT_OUTPUT, help="results file")
    args = parser.parse_args(args_list)
    if args.size < 10 or args.samples < 1:
        parser.error("--size must be >= 10 and --samples >= 1")
    options = Options(
        size=args.size,
        samples=args.samples,
        seed=args.seed,
        reports=args.reports,
        requests=args.requests,
        map_sizes=tuple(int(n) for n in args.map_sizes.split(",") if n.strip()),
    )
    sections = []
    for name, benchmark in BENCHMARKS:
        if args.only and name not in args.only:
            continue
        section = benchmark(options)
        print_section(section)
        sections.append(section)
    write_results(args.output, sections, options, args_list)
    print(f"\nwritten: {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
