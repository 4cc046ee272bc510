"""Fixtures shared by the whole suite. Package-specific fixtures live beside their tests;
reusable servers (PostgreSQL, SMTP) live in tests/fixtures and are registered here."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Workers in tests (and the servers tests start) build messages in a thread unless a test asks
# for build processes: spawning them costs each test a few seconds. The processes themselves
# are tested in tests/notifier/delivery/test_buildproc.py.
os.environ.setdefault("RIVERNOTIFY_BUILD_PROCESSES", "0")

pytest_plugins = [
    "tests.fixtures.smtp",
    "tests.fixtures.http",
    "tests.fixtures.postgres",
    "tests.fixtures.databases",
    "tests.fixtures.browser",
]

ROOT = Path(__file__).resolve().parent.parent
SHARED_DATA = ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """The reference data beside the project (../shared/data); skip where it is absent."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data not found at {SHARED_DATA}")
    return SHARED_DATA


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The network the project ships (data/)."""
    return ROOT / "data"
