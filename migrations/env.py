"""Alembic environment: runs migrations against the URL the app configured."""

from __future__ import annotations

import re
import warnings

from alembic import context

from models import Base
from models.db import make_engine

config = context.config
target_metadata = Base.metadata

# The model's indexes made for one database only (`Index.ddl_if(dialect=...)`, SQLAlchemy 2.x;
# e.g. the PostgreSQL full-text index of the queue's search). Autogenerate does not compare them:
# other databases lack them, and Alembic cannot compare a PostgreSQL expression index (it reads
# back `(code)::text || ' '::text` where the model says `code || ' '`, and reports a change).
# tests/test_migrations.py compares them on PostgreSQL itself.
ONE_DATABASE_INDEXES = frozenset(
    index.name
    for table in target_metadata.tables.values()
    for index in table.indexes
    if getattr(getattr(index, "_ddl_if", None), "dialect", None) is not None
)


def include_object(_obj, name, type_, _reflected, _compare_to) -> bool:
    """Leave the one-database indexes out of autogenerate's comparison."""
    return not (type_ == "index" and name in ONE_DATABASE_INDEXES)


def run_migrations() -> None:
    url = config.attributes.get("database_url") or config.get_main_option("sqlalchemy.url")
    if not url:
        # Plain `alembic` on the command line: the same configuration as the app.
        import config as app_config

        url = app_config.load()["DATABASE_URL"]
    engine = make_engine(url)
    with engine.connect() as connection, warnings.catch_warnings():
        # SQLite cannot reflect expression indexes: Alembic leaves them out itself, with a
        # warning, before `include_object` is asked.
        for name in ONE_DATABASE_INDEXES:
            warnings.filterwarnings("ignore", f".*expression-based index {re.escape(repr(name))}")
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            render_as_batch=connection.dialect.name == "sqlite",
            compare_type=True,
            include_object=include_object,
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
