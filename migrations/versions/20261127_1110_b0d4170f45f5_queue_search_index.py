"""queue search index: PostgreSQL full-text index of the case code, title and content

Revision ID: b0d4170f45f5
Revises: a150f14a1f7d
Create Date: 2026-11-27 11:10:10.000000

Written by hand. PostgreSQL only (SQLite has no such index: models/case.py `SEARCH_DOCUMENT`,
`ddl_if`). The expression is written out as it stands at this revision; it must stay the very
expression the queue's search uses, or PostgreSQL ignores the index (tests/test_migrations.py
compares it with the model's).
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "b0d4170f45f5"
down_revision: str | None = "a150f14a1f7d"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_pakn_case_search"
DOCUMENT = "to_tsvector('simple'::regconfig, code || ' ' || title || ' ' || content)"


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.create_index(INDEX, "pakn_case", [sa.text(DOCUMENT)], postgresql_using="gin")


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.drop_index(INDEX, table_name="pakn_case")
