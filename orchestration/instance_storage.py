"""The local Dagster instance's event log: Dagster's SQLite storage, with its connections kept open.

Dagster's ``SqliteEventLogStorage`` creates a SQLAlchemy engine, opens the shard's file, commits and
closes it again for every statement, and closing the last connection of a WAL database checkpoints
it. A run writes about 1,450 events (the demo over 104 weeks; an asset event goes to the run's shard
and to the index shard), so that bookkeeping alone took about 10 s of a 36 s ``make run``
(docs/bench.md, "Dagster's event log").

``KeptOpenSqliteEventLogStorage`` is the same storage, the same files and schema, with one change:
each process keeps one open connection per shard, for the shards it used last. It implements the
two connection hooks that every SQL event log storage implements (``run_connection``,
``index_connection``) and leaves the rest to Dagster: table creation and migrations still happen in
Dagster's own code on a shard's first use, each statement still runs in its own transaction with
SQLite's default synchronous writes, and the UI reads the same WAL files as before. A run's shard is
checkpointed after every commit, as closing the connection did: the UI follows a running run by
watching that file.

Configured in ``dagster.yaml`` (``event_log_storage``); a shared deployment uses PostgreSQL instead
(docs/operations.md), where Dagster already pools its connections.
"""

from __future__ import annotations

import os
import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

from dagster import StringSource
from dagster._core.storage.event_log import SqliteEventLogStorage  # the module dagster.yaml names
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS
from sqlalchemy import create_engine, event
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.pool import QueuePool

#: Shards a process keeps open (a run's shard and the index; the UI reads many runs, so it is bounded).
OPEN_SHARDS = 16


def _checkpoint_every_commit(dbapi_connection, _record) -> None:
    """A run's shard copies each commit from the write-ahead log into its file: the UI follows a running
    run by watching that file (Dagster's SQLite watchdog on ``<run id>.db``), which Dagster's own storage
    touched by closing, and so checkpointing, its connection after every statement."""
    dbapi_connection.execute("PRAGMA wal_autocheckpoint=1")


def _dispose(key: tuple[int, str], engine: Engine) -> None:
    """Close an engine's connection; one a forked child inherited is its parent's, left open."""
    engine.dispose(close=key[0] == os.getpid())


class KeptOpenSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` keeping one connection per shard open in each process.

    Config: ``home``, the instance's folder (``DAGSTER_HOME``); the event log lives where Dagster's
    default puts it, ``<home>/history/runs``, so the history of earlier runs stays readable.
    """

    def __init__(self, base_dir: str, inst_data=None):
        # Before Dagster's __init__, which indexes a new instance's events through index_connection.
        # One lock for every statement of this storage object, as Dagster's own storage has: a
        # connection is used by one thread at a time, and a statement never runs inside another.
        self._open_lock = threading.Lock()
        self._engines: OrderedDict[tuple[int, str], Engine] = OrderedDict()
        super().__init__(base_dir, inst_data)

    @classmethod
    def config_type(cls):
        return {"home": StringSource}

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(os.path.join(config_value["home"], "history", "runs"), inst_data=inst_data)

    def _engine(self, shard: str) -> Engine:
        # Keyed by process too: a forked child opens its own connection, never its parent's.
        key = (os.getpid(), shard)
        engine = self._engines.get(key)
        if engine is not None:
            self._engines.move_to_end(key)
            return engine
        # The shard's first use in this process goes through Dagster's own connection, which
        # creates the shard's tables (or waits for another process doing it) and stamps its schema.
        with super().run_connection(shard) if shard != INDEX_SHARD_NAME else super().index_connection():
            pass
        engine = create_engine(
            self.conn_string_for_shard(shard),
            poolclass=QueuePool,
            pool_size=1,
            max_overflow=0,
            # Used by one thread at a time (the lock), though not always the one that opened it.
            connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS, "check_same_thread": False},
        )
        if shard != INDEX_SHARD_NAME:
            event.listen(engine, "connect", _checkpoint_every_commit)
        self._engines[key] = engine
        while len(self._engines) > OPEN_SHARDS:
            _dispose(*self._engines.popitem(last=False))
        return engine

    @contextmanager
    def _kept_open(self, shard: str) -> Iterator[Connection]:
        with self._open_lock:
            engine = self._engine(shard)
            with engine.connect() as conn, conn.begin():
                yield conn

    def run_connection(self, run_id: str | None = None):
        return self._kept_open(run_id)

    def index_connection(self):
        return self._kept_open(INDEX_SHARD_NAME)

    def close_connections(self) -> None:
        """Close every connection this process keeps (before files are removed, and on dispose)."""
        with self._open_lock:
            while self._engines:
                _dispose(*self._engines.popitem())

    def wipe(self) -> None:
        self.close_connections()
        super().wipe()

    def dispose(self) -> None:
        self.close_connections()
        super().dispose()
