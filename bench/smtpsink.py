"""An aiosmtpd mail sink in a process of its own, for benchmarks.

    python -m bench.smtpsink     # prints "PORT <n>", then counts until stdin closes

In its own process the mail server does not share the benchmark's interpreter lock, so what is
measured is the sender's cost, with the server working beside it as a real one would.
"""

from __future__ import annotations

import contextlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


@contextlib.contextmanager
def sink_process() -> Iterator[tuple[str, int]]:
    """(host, port) of a sink running in a child process until the block ends."""
    process = subprocess.Popen(
        [sys.executable, "-m", "bench.smtpsink"],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline().decode().split()
        if len(line) != 2 or line[0] != "PORT":
            raise RuntimeError(f"the SMTP sink did not start: {line}")
        yield "127.0.0.1", int(line[1])
    finally:
        if process.stdin is not None:
            process.stdin.close()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()


def main() -> int:
    from notifier.delivery.sink import MailSink

    sink = MailSink(directory=None, keep_last=1)
    sink.start()
    print("PORT", sink.port, flush=True)
    try:
        sys.stdin.read()  # until the parent closes our stdin
    finally:
        sink.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
