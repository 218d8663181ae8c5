"""Alembic owns the schema: upgrade, compare with the models, downgrade to nothing, upgrade again."""

from __future__ import annotations

import uuid

import pytest
from alembic import command
from sqlalchemy import create_engine, inspect, text

from handlers.cli import alembic_config
from models import Base
from tests.conftest import PG_URL


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
