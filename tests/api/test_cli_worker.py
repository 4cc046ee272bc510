"""`rivernotify worker`: clean refusals, and the webhook secret for receivers."""

from __future__ import annotations

from pathlib import Path

import pytest

from api.cli import main
from notifier.delivery.webhook import derive_webhook_secret


def test_prints_the_signing_secret_of_a_webhook(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIVERNOTIFY_SECRET_KEY", "cli-secret")
    assert main(["worker", "--webhook-secret", "https://hooks.example/a"]) == 0
    printed = capsys.readouterr().out.strip()
    assert printed == derive_webhook_secret("cli-secret", "https://hooks.example/a").decode()


def test_an_unmigrated_database_is_a_one_line_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("RIVERNOTIFY_DATABASE_URL", f"sqlite:///{tmp_path / 'empty.db'}")
    assert main(["worker", "--once"]) == 2
    error = capsys.readouterr().err
    assert "rivernotify db upgrade" in error and "Traceback" not in error
    assert error.count("\n") == 1
