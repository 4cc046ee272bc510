"""Printing the benchmark table and writing bench/RESULTS.md."""

from __future__ import annotations

import os
import platform
import sqlite3
import sys
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path

from bench import Figure, Options, Section

LIBRARIES = (
    "numpy", "networkx", "shapely", "geopandas", "fastapi", "uvicorn", "sqlalchemy", "psycopg",
    "aiosmtplib", "aiosmtpd", "pillow",
)  # fmt: skip


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def memory_gb() -> float:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return int(line.split()[1]) / 1024 / 1024
    except (OSError, ValueError, IndexError):
        pass
    return 0.0


def machine_lines() -> list[str]:
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} (absent)")
    return [
        f"- CPU: {cpu_model()}, {os.cpu_count()} logical cores; RAM {memory_gb():.0f} GB",
        f"- OS: {platform.platform()}",
        f"- Python {platform.python_version()}; SQLite {sqlite3.sqlite_version}; "
        + ", ".join(versions),
    ]


def _value(figure: Figure) -> str:
    return (
        f"{figure.value:,.3f} {figure.unit}"
        if figure.value < 100
        else f"{figure.value:,.0f} {figure.unit}"
    )


def _row(figure: Figure) -> list[str]:
    met = {True: "yes", False: "NO", None: ""}[figure.met]
    ratio = "" if figure.ratio is None else f"{figure.ratio:,.1f}x"
    return [figure.name, _value(figure), figure.target, met, figure.baseline, ratio]


HEADER = ["figure", "value", "target", "met", "baseline (same run)", "baseline / value"]


def table(section: Section) -> list[str]:
    rows = [HEADER, *(_row(f) for f in section.figures)]
    return [
        "| " + " | ".join(rows[0]) + " |",
        "|" + "|".join("---" for _ in HEADER) + "|",
        *("| " + " | ".join(r) + " |" for r in rows[1:]),
    ]


def print_section(section: Section) -> None:
    print(f"\n## {section.title}\n")
    widths = [
        max(len(r[i]) for r in [HEADER, *(_row(f) for f in section.figures)])
        for i in range(len(HEADER))
    ]
    for row in [HEADER, *(_row(f) for f in section.figures)]:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)))
    for note in section.notes:
        print(f"  - {note}")


def write_results(path: Path, sections: list[Section], options: Options, argv: list[str]) -> None:
    command = " ".join(["python -m bench", *argv]) if argv else "python -m bench"
    lines = [
        "# Benchmark results",
        "",
        f"Written by `{command}` on {datetime.now(UTC):%Y-%m-%d %H:%M} UTC "
        f"(size {options.size:,} reaches, {options.samples:,} samples). "
        "Every ratio compares with a baseline measured in the same run on the same network.",
        "",
        "## Machine",
        "",
        *machine_lines(),
        f"- Command line: `{' '.join([sys.executable, '-m', 'bench', *argv])}`",
    ]
    for section in sections:
        lines += ["", f"## {section.title}", "", *table(section)]
        if section.notes:
            lines += ["", *(f"- {note}" for note in section.notes)]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
