"""Engine and session factory, shared by the API, the workers and the CLI."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, create_engine, event, select
from sqlalchemy.orm import InstrumentedAttribute, Session, sessionmaker

from civil.settings import Settings


def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    # WAL lets the API read while a worker writes; busy_timeout turns lock contention between
    # the API, worker and beat processes into a short wait instead of "database is locked".
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA busy_timeout=15000")
    cur.execute("PRAGMA foreign_keys=ON")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()


def make_engine(settings: Settings) -> Engine:
    """Create the engine for the configured database."""
    url = settings.database_url
    if url.startswith("sqlite"):
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 15})
        event.listen(engine, "connect", _sqlite_pragmas)
        return engine
    if url.startswith("postgresql://"):
        url = "postgresql+psycopg://" + url.removeprefix("postgresql://")
    # Civil keeps no session state on a connection (no SET, LISTEN, advisory locks or temp
    # tables; waits poll rows), so a transaction-mode pooler may hand each transaction to
    # another server connection. Prepared statements are the one thing psycopg would keep:
    # None turns them off.
    connect_args: dict[str, Any] = (
        {"prepare_threshold": None} if settings.database_pgbouncer else {}
    )
    return create_engine(
        url,
        pool_pre_ping=True,
        pool_size=settings.database_pool_size,
        max_overflow=settings.database_max_overflow,
        connect_args=connect_args,
    )


class Database:
    """An engine plus a session factory; one per process."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A session committed on success and rolled back on error."""
        with self.sessions() as session:
            try:
                yield session
                session.commit()
            except BaseException:
                session.rollback()
                raise

    def dispose(self) -> None:
        """Drop pooled connections (called in forked children, which must not share sockets)."""
        self.engine.dispose(close=False)


def queue_frontier(
    session: Session,
    marked_at: InstrumentedAttribute[datetime | None],
    marked: tuple[ColumnElement[bool], ...],
    skip: int,
) -> datetime | None:
    """The oldest of the newest ``skip`` ``marked_at`` marks among rows matching ``marked``.

    Rows marked from it on may still have a message queued; None when fewer than ``skip`` rows
    match, i.e. the queue may hold a message for every one of them.
    """
    return session.scalar(
        select(marked_at).where(*marked).order_by(marked_at.desc()).offset(skip - 1).limit(1)
    )
