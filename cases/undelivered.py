"""Which cases have a message that has not reached the citizen (held, or failed for good).

A failed message stops counting once a later message of the same case reached the citizen (a
resent answer). Used by the console's badge and filter, the API and the reports.

The queue's filter does not evaluate the rule over the outbox (an anti-join over every held or
failed row): each case keeps `undelivered_since`, the moment `undelivered()` would give it, and
a partial index holds the few flagged cases. `refresh_undelivered` recomputes the flag of given
cases from the outbox in one UPDATE; it runs wherever an outbox row's state changes:

- changes made through the ORM (rows queued held or failed, `bot.delivery.release_held` and
  `confirm_echo`, anything later) by an `after_flush` listener, in the same transaction;
- the dispatcher's outcomes (Core statements) by `bot.delivery`, in the outcome's transaction.

Changes that cannot move the flag need no refresh: claiming (pending -> sending), giving back or
reconciling (sending -> pending), and receipts (sent -> delivered -> seen: all "reached").
Bulk SQL that bypasses both calls `refresh_undelivered` with the cases it touched (as
`cases.privacy.close_undeliverable` does), or `recount_undelivered()` after a data load.
"""

from __future__ import annotations

import functools
from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import Connection, Update, bindparam, event, func, inspect, select, update
from sqlalchemy.orm import Session, aliased

from models import Case, OutboxMessage, OutboxState

# States in which a message has reached the citizen (it makes good an earlier failure).
REACHED = (OutboxState.SENT, OutboxState.DELIVERED, OutboxState.SEEN)
# States that can set the flag; a row entering or leaving one of these, or entering REACHED,
# can change it.
NOT_DELIVERED = (OutboxState.HELD, OutboxState.FAILED)
_REFRESHED = "pakn_undelivered_refreshed"  # Session.info key: cases to expire after a flush
_installed = False


def undelivered_rows():
    """The outbox rows that mean "the citizen has not got this": held ones, and failed ones that
    no later message of the same case reached the citizen after (a resent answer clears it)."""
    later = aliased(OutboxMessage)
    superseded = (
        select(later.id)
        .where(
            later.case_id == OutboxMessage.case_id,
            later.id > OutboxMessage.id,
            later.state.in_(REACHED),
        )
        .exists()
    )
    return (OutboxMessage.case_id.is_not(None)) & (
        (OutboxMessage.state == OutboxState.HELD)
        | ((OutboxMessage.state == OutboxState.FAILED) & ~superseded)
    )


def undelivered(session: Session, case_ids: Iterable[int] | None = None) -> dict[int, datetime]:
    """Cases whose answer or update has not reached the citizen, with since when."""
    stmt = (
        select(OutboxMessage.case_id, func.min(OutboxMessage.queued_at))
        .where(undelivered_rows())
        .group_by(OutboxMessage.case_id)
    )
    if case_ids is not None:
        stmt = stmt.where(OutboxMessage.case_id.in_(list(case_ids)))
    return {case_id: since for case_id, since in session.execute(stmt)}


def _refresh_statement() -> Update:
    """UPDATE pakn_case SET undelivered_since = (what `undelivered()` gives the case)."""
    table = Case.__table__
    since = (
        select(func.min(OutboxMessage.queued_at))
        .where(OutboxMessage.case_id == table.c.id, undelivered_rows())
        .scalar_subquery()
    )
    # Setting `updated_at` to itself keeps its onupdate default from firing: the delivery of a
    # message is not an edit of the case (retention counts from the last edit).
    return update(table).values(undelivered_since=since, updated_at=table.c.updated_at)


def refresh_undelivered(
    bind: Session | Connection, case_ids: Iterable[int | None], only_flagged: bool = False
) -> None:
    """Recompute the flag of these cases from the outbox, in the caller's transaction.

    `only_flagged`: the change can only clear the flag (a message reached the citizen), so
    cases without it are left alone by the same statement — usually nothing to do.
    """
    ids = sorted({case_id for case_id in case_ids if case_id is not None})
    if not ids:
        return
    connection = bind.connection() if isinstance(bind, Session) else bind
    connection.execute(_refresh_for(only_flagged), {"case_ids": ids})


@functools.cache
def _refresh_for(only_flagged: bool) -> Update:
    # Built once: the dispatcher runs it after most messages it sends (docs/performance.md).
    table = Case.__table__
    stmt = _refresh_statement().where(table.c.id.in_(bindparam("case_ids", expanding=True)))
    if only_flagged:
        stmt = stmt.where(table.c.undelivered_since.is_not(None))
    return stmt


def recount_undelivered(bind: Session | Connection) -> None:
    """Rebuild the flag of every case from the outbox (after bulk SQL bypassed the upkeep), in
    the caller's transaction.

    Only the cases flagged now (found through the partial index) and those to be flagged (one
    pass over the held and failed rows) are written, not every case.
    """
    table = Case.__table__
    since = (
        select(OutboxMessage.case_id, func.min(OutboxMessage.queued_at).label("since"))
        .where(undelivered_rows())
        .group_by(OutboxMessage.case_id)
        .subquery()
    )
    connection = bind.connection() if isinstance(bind, Session) else bind
    connection.execute(
        update(table)
        .where(table.c.undelivered_since.is_not(None))
        .values(undelivered_since=None, updated_at=table.c.updated_at)
    )
    connection.execute(  # UPDATE ... FROM the grouped rows (PostgreSQL; SQLite since 3.33)
        update(table)
        .where(table.c.id == since.c.case_id)
        .values(undelivered_since=since.c.since, updated_at=table.c.updated_at)
    )


def install() -> None:
    """Keep the flag in step with outbox changes made through the ORM (idempotent)."""
    global _installed
    if not _installed:
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "after_flush_postexec", _after_flush_postexec)
        _installed = True


def _touched_cases(session: Session) -> set[int]:
    """The cases whose flag this flush may change."""
    touched: set[int | None] = set()
    for obj in session.new:
        # A row queued pending changes nothing until its fate is known.
        if isinstance(obj, OutboxMessage) and obj.state in (*NOT_DELIVERED, *REACHED):
            touched.add(obj.case_id)
    for obj in session.deleted:
        if isinstance(obj, OutboxMessage):
            touched.add(obj.case_id)
    for obj in session.dirty:
        if not isinstance(obj, OutboxMessage):
            continue
        attrs = inspect(obj).attrs
        if attrs.state.history.has_changes() or attrs.case_id.history.has_changes():
            touched.update(attrs.case_id.history.deleted or ())
            touched.add(obj.case_id)
    return {case_id for case_id in touched if case_id is not None}


def _after_flush(session: Session, _context) -> None:
    touched = _touched_cases(session)
    if touched:
        refresh_undelivered(session, touched)
        session.info.setdefault(_REFRESHED, set()).update(touched)


def _after_flush_postexec(session: Session, _context) -> None:
    # The UPDATE went around the ORM: let loaded cases read the new value when next asked.
    for case_id in session.info.pop(_REFRESHED, ()):
        case = session.identity_map.get(session.identity_key(Case, case_id))
        if case is not None:
            session.expire(case, ["undelivered_since"])
