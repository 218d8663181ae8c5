"""Which cases have a message that has not reached the citizen (held, or failed for good).

A failed message stops counting once a later message of the same case reached the citizen (a
resent answer). Used by the console's badge and filter, the API and the reports.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session, aliased

from models import OutboxMessage, OutboxState


def undelivered_rows():
    """The outbox rows that mean "the citizen has not got this": held ones, and failed ones that
    no later message of the same case reached the citizen after (a resent answer clears it)."""
    later = aliased(OutboxMessage)
    reached = (OutboxState.SENT, OutboxState.DELIVERED, OutboxState.SEEN)
    superseded = (
        select(later.id)
        .where(
            later.case_id == OutboxMessage.case_id,
            later.id > OutboxMessage.id,
            later.state.in_(reached),
        )
        .exists()
    )
    return (OutboxMessage.case_id.is_not(None)) & (
        (OutboxMessage.state == OutboxState.HELD)
        | ((OutboxMessage.state == OutboxState.FAILED) & ~superseded)
    )


def undelivered_case_ids():
    """A subquery of the cases with an undelivered message (for queue filters)."""
    return select(OutboxMessage.case_id).where(undelivered_rows())


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
