"""Alembic environment: runs on the engine passed in ``config.attributes["engine"]``."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from notifier.models import Base

config = context.config
engine = config.attributes.get("engine")
if not isinstance(engine, Engine):  # pragma: no cover - only reached by misuse
    raise RuntimeError("run migrations through notifier.migrate, which passes an engine")

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()
