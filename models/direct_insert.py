"""One prebuilt INSERT run straight on a pooled DBAPI connection: the webhook's hot path.

SQLAlchemy's Core execution (the Connection wrapper, the execution context, the Result) costs
about 0.15–0.18 ms of CPU per statement on the benchmark machine, three to four times the
driver's own work for the webhook's single INSERT (docs/performance.md, webhook ingest). This
compiles the statement once for the engine's dialect, converts the values with the columns' own
bind processors (so a row stored here is exactly what the ORM would store) and runs it on a
connection borrowed from the engine's pool. The engine must be created with
`isolation_level="AUTOCOMMIT"`: each statement is then its own transaction.

On SQLite, writers queue for the database's single write lock in a file lock beside the database
instead of in SQLite's busy handler: the busy handler is not woken when the lock frees but polls
with sleeps of 1, 2, 5, 10 … ms, which left a third of the machine idle under load while
requests waited (docs/performance.md, webhook ingest). A kernel lock hands over at once.
"""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager, nullcontext
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.sql.dml import Insert


class DirectInsert:
    """An INSERT … RETURNING compiled for one engine, run without Core's execution layers."""

    def __init__(self, statement: Insert, engine: Engine) -> None:
        """Compile `statement` for `engine`, an engine created in AUTOCOMMIT isolation."""
        dialect = engine.dialect
        compiled = statement.compile(dialect=dialect)
        self.engine = engine
        self.queue = _writer_queue(engine)
        self.sql = compiled.string
        # Positional drivers (SQLite's qmark) take a tuple in the compiled order, named ones a dict.
        self.order: tuple[str, ...] | None = (
            tuple(compiled.positiontup or ()) if compiled.positional else None
        )
        self.processors: dict[str, Callable[[Any], Any]] = {}
        for name, bind in compiled.binds.items():
            processor = bind.type.bind_processor(dialect)
            if processor is not None:
                self.processors[name] = processor

    def parameters(self, values: Mapping[str, Any]) -> tuple | dict:
        """Return `values` converted for the driver, in the form its paramstyle expects."""
        processors = self.processors
        converted = {
            name: (processors[name](value) if name in processors else value)
            for name, value in values.items()
        }
        if self.order is None:
            return converted
        return tuple(converted[name] for name in self.order)

    def scalar(self, values: Mapping[str, Any]) -> Any:
        """Run the statement in its own transaction; return the first column of the row, or None."""
        parameters = self.parameters(values)
        pooled = self.engine.raw_connection()
        try:
            cursor = pooled.cursor()
            try:
                with self.queue:
                    cursor.execute(self.sql, parameters)
                    row = cursor.fetchone()
            finally:
                cursor.close()
        except BaseException:
            # A connection that failed mid-statement may be broken: do not hand it out again.
            pooled.invalidate()
            raise
        finally:
            pooled.close()
        return row[0] if row else None


class SqliteWriterQueue:
    """An exclusive lock across this process's threads and every process on the machine."""

    def __init__(self, path: str) -> None:
        self.path = path
        self.threads = threading.Lock()  # flock does not exclude threads sharing a descriptor
        self.descriptor: int | None = None
        self.pid = 0

    def __enter__(self) -> None:
        self.threads.acquire()
        try:
            fcntl.flock(self.lock_descriptor(), fcntl.LOCK_EX)
        except BaseException:
            self.threads.release()
            raise

    def lock_descriptor(self) -> int:
        """This process's descriptor of the lock file, opened on first use."""
        if self.descriptor is None or self.pid != os.getpid():
            # A descriptor inherited through fork shares its lock with the parent: reopen.
            self.descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self.pid = os.getpid()
        return self.descriptor

    def __exit__(self, *_exc: object) -> None:
        try:
            fcntl.flock(self.lock_descriptor(), fcntl.LOCK_UN)
        finally:
            self.threads.release()


def _writer_queue(engine: Engine) -> AbstractContextManager:
    database = engine.url.database if engine.dialect.name == "sqlite" else None
    if not database or database == ":memory:":
        return nullcontext()
    return SqliteWriterQueue(database + "-writers.lock")
