"""`rivernotify network` (placeholder, filled in by its owner)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    parser: argparse.ArgumentParser = commands.add_parser("network", help="network")
    parser.set_defaults(handler=lambda args: 0)
