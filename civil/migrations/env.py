"""Alembic environment: the URL comes from Civil's settings, the schema from civil.models."""

from __future__ import annotations

from alembic import context

from civil.db import make_engine
from civil.models import Base
from civil.settings import Settings

config = context.config
settings: Settings = config.attributes.get("settings") or Settings.from_env()


def run_migrations_offline() -> None:
    context.configure(
        url=settings.database_url,
        target_metadata=Base.metadata,
        literal_binds=True,
        render_as_batch=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online() -> None:
    engine = make_engine(settings)
    with engine.connect() as connection:
        # render_as_batch lets later ALTERs work on SQLite too.
        context.configure(
            connection=connection, target_metadata=Base.metadata, render_as_batch=True
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
