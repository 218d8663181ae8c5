"""Alembic owns the schema: upgrade, compare with the models, downgrade to nothing, upgrade again."""

from __future__ import annotations

import re
import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from handlers.cli import alembic_config
from models import Base
from tests.conftest import PG_URL

SEARCH_INDEX = "ix_pakn_case_search"


@pytest.fixture
def fresh_url(tmp_path):
    """An empty database: a SQLite file, or a new PostgreSQL schema dropped afterwards."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'migrations.db'}"
        return
    base = PG_URL.replace("postgresql://", "postgresql+psycopg://", 1)
    schema = f"m_{uuid.uuid4().hex[:12]}"
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in base else "?"
    yield f"{base}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


def table_names(url: str) -> set[str]:
    engine = create_engine(url)
    try:
        return set(inspect(engine).get_table_names()) - {"alembic_version"}
    finally:
        engine.dispose()


def test_migrations_match_models_and_downgrade_cleanly(fresh_url):
    cfg = alembic_config(fresh_url)
    command.upgrade(cfg, "head")
    assert table_names(fresh_url) == set(Base.metadata.tables)
    command.check(cfg)  # raises when the models and the migrations disagree
    command.downgrade(cfg, "base")
    assert table_names(fresh_url) == set()
    command.upgrade(cfg, "head")
    assert table_names(fresh_url) == set(Base.metadata.tables)


def index_definition(url: str, name: str) -> str | None:
    """PostgreSQL's own definition of the index `name` in the schema of `url` (unqualified)."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            definition = conn.scalar(
                text(
                    "SELECT pg_get_indexdef(c.oid) FROM pg_class c "
                    "JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "WHERE c.relname = :name AND n.nspname = current_schema()"
                ),
                {"name": name},
            )
    finally:
        engine.dispose()
    return definition and re.sub(r" ON \S+\.", " ON ", definition)


def test_the_search_index_is_migrated_as_the_model_makes_it(fresh_url, pg_schema_url):
    """Autogenerate cannot compare PostgreSQL expression indexes (migrations/env.py), so compare
    PostgreSQL's reading of the migrated index with that of the index the model creates: the
    queue's search uses it only if the expressions are the same."""
    command.upgrade(alembic_config(fresh_url), "head")
    if not PG_URL:
        engine = create_engine(fresh_url)
        try:
            assert SEARCH_INDEX not in {i["name"] for i in inspect(engine).get_indexes("pakn_case")}
        finally:
            engine.dispose()
        return
    migrated = index_definition(fresh_url, SEARCH_INDEX)
    assert migrated is not None and "USING gin (to_tsvector('simple'::regconfig" in migrated
    assert migrated == index_definition(pg_schema_url, SEARCH_INDEX)  # built by create_all


def test_cli_db_upgrade(make_app, fresh_url):
    app = make_app(create_tables=False, DATABASE_URL=fresh_url)
    result = app.test_cli_runner().invoke(args=["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert "pakn_case" in table_names(fresh_url)


def test_the_open_cases_partial_index_lists_exactly_the_open_statuses():
    """PostgreSQL silently stops using a partial index whose condition no longer matches."""
    import re

    from cases.queue import OPEN_STATUSES

    index = next(
        i for i in Base.metadata.tables["pakn_case"].indexes if i.name == "ix_pakn_case_open_due"
    )
    where = str(index.dialect_options["postgresql"]["where"])
    assert set(re.findall(r"'(\w+)'", where)) == {s.value for s in OPEN_STATUSES}


def test_the_closed_cases_partial_index_lists_exactly_the_closed_statuses():
    """The retention job's index must match `CLOSED_STATUSES`, or PostgreSQL ignores it."""
    import re

    from models import CLOSED_STATUSES

    index = next(
        i
        for i in Base.metadata.tables["pakn_case"].indexes
        if i.name == "ix_pakn_case_closed_updated"
    )
    for dialect in ("postgresql", "sqlite"):
        where = str(index.dialect_options[dialect]["where"])
        assert set(re.findall(r"'(\w+)'", where)) == {s.value for s in CLOSED_STATUSES}
