"""The one typed settings class. Built at the entry points (CLI, server, tests) and passed down;
nothing reads the environment anywhere else."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent
EXAMPLE_SECRET = "change-me-example-secret-not-for-production"


class Settings(BaseSettings):
    """Every setting, read from ``RIVERNOTIFY_*`` environment variables."""

    model_config = SettingsConfigDict(env_prefix="RIVERNOTIFY_", extra="ignore")

    mode: Literal["development", "production"] = "development"
    database_url: str = Field(
        default=f"sqlite:///{PROJECT_ROOT / 'var' / 'rivernotify.db'}",
        description="SQLAlchemy URL: sqlite:///path or postgresql+psycopg://user@host/db",
    )
    network_dir: Path = PROJECT_ROOT / "data"
    secret_key: SecretStr = SecretStr(EXAMPLE_SECRET)
    public_url: str | None = None  # links in messages start here; default: the server's address

    # Email. No smtp_host: `make run` starts the embedded SMTP sink on loopback.
    smtp_host: str | None = None
    smtp_port: int = 25
    smtp_security: Literal["none", "starttls", "tls"] = "none"
    smtp_username: str | None = None
    smtp_password: SecretStr | None = None
    smtp_from: str = "rivernotify <noreply@rivernotify.example>"
    smtp_timeout_s: float = 10.0

    # Webhooks
    webhook_timeout_s: float = 10.0

    # Worker: idle poll for rows written by other processes (a read; rows written in this
    # process, or anywhere on PostgreSQL, wake it at once), and how often reminders,
    # escalations and clock warnings are looked for (deadlines are minutes apart: a few
    # seconds late is nothing).
    worker_poll_s: float = 0.05
    due_every_s: float = 5.0
    worker_batch: int = 50
    lease_s: float = 60.0
    # Processes that build messages (map and MIME) beside the worker; 0: in its own thread.
    build_processes: int = Field(default=1, ge=0, le=32)
    retry_cap_s: float = 30.0

    # Routing policy file (TOML); None: the shipped default policy.
    policy_file: Path | None = None

    # HTTP
    host: str = "127.0.0.1"
    port: int = 8000
    hj212_port: int = 9212

    # Rate limits (token buckets): a burst, then a steady rate; 0 burst turns one off. Sign-in
    # counts per username and client address; reports per station key. The buckets live in
    # each process ("process") or in the database ("database": one limit shared by every
    # server process on the same database, at a short transaction per check).
    rate_limit_store: Literal["process", "database"] = "process"
    sign_in_burst: int = 10
    sign_in_per_minute: float = 5.0
    report_burst: int = 60
    report_per_minute: float = 60.0
