"""The ``rivernotify`` command. Each command group lives in its own module with a ``register``."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from pydantic import ValidationError

from api.cli import db, network, report, run, serve, trace, users, worker
from api.cli.errors import UserError


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="rivernotify",
        description="跨界水污染信息通报 · cross-boundary river pollution notification",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for module in (network, trace, run, db, report, worker, serve, users):
        module.register(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point: parse, dispatch, and turn user errors into one line on stderr and exit 2."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        code: int = args.handler(args)
    except UserError as exc:
        print(f"rivernotify: {exc}", file=sys.stderr)
        return 2
    except ValidationError as exc:  # a RIVERNOTIFY_* variable the settings cannot take
        if exc.title != "Settings":
            raise
        print(f"rivernotify: {settings_problems(exc)}", file=sys.stderr)
        return 2
    return code


def settings_problems(error: ValidationError) -> str:
    """Every bad setting, named by its environment variable, on one line."""
    problems = [
        f"RIVERNOTIFY_{'_'.join(str(part) for part in problem['loc']).upper()}="
        f"{problem.get('input')!r}: {problem['msg']}"
        for problem in error.errors()
    ]
    return "设置有误 / invalid settings: " + "; ".join(problems)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
