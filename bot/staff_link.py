"""Linking a staff member's own Zalo account, so that deadline reminders reach them in Zalo.

The console issues a one-time code ("CB-" and 6 digits, valid 15 minutes) for the signed-in staff
member; they send exactly that code to the OA from their own Zalo. The inbound processing checks
every text that looks like a code before the conversation runs, whatever the sender's state, and
leaves that state untouched: a valid code links the sender (a `Citizen` row, as every Zalo user
is) to the staff account and is used up; anything else that looks like a code is politely refused.
A million codes valid for 15 minutes would invite guessing: a sender with 5 wrong codes within 15
minutes is refused for an hour without the code being checked (`cases.throttle`).
"""

from __future__ import annotations

import logging
import re
import secrets
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from bot import texts
from bot.conversation import Context
from bot.incoming import Incoming
from cases.throttle import FailureThrottle
from models import Staff

log = logging.getLogger(__name__)

CODE_PREFIX = "CB-"
CODE_PATTERN = re.compile(r"CB-\d{6}", re.IGNORECASE)
VALID_FOR = timedelta(minutes=15)
MAX_WRONG_CODES = 5
LOCKOUT = timedelta(hours=1)


def _new_code() -> str:
    return f"{CODE_PREFIX}{secrets.randbelow(10**6):06d}"


def issue_link_code(session: Session, staff: Staff, now: datetime) -> str:
    """Give `staff` a fresh one-time link code, valid for 15 minutes; return it."""
    while True:
        code = _new_code()
        # The column is unique: never hand out a code another account still holds.
        taken = session.scalar(
            select(Staff.id).where(Staff.link_code == code, Staff.id != staff.id)
        )
        if taken is None:
            break
    staff.link_code = code
    staff.link_code_expires_at = now + VALID_FOR
    session.flush()
    return code


def is_link_code(incoming: Incoming) -> bool:
    """True when the message is a typed text made of exactly one link code."""
    return incoming.kind == "text" and CODE_PATTERN.fullmatch(incoming.text.strip()) is not None


def answer_link_code(ctx: Context, incoming: Incoming) -> bool:
    """Link the sender to the staff account whose code they sent; False if it is not a code."""
    if not is_link_code(incoming):
        return False
    throttle = FailureThrottle(
        ctx.session, clock=lambda: ctx.now, max_failures=MAX_WRONG_CODES, lockout=LOCKOUT
    )
    sender = f"zalo-link:{ctx.citizen.id}"
    if throttle.locked_until(sender) is not None:
        log.warning("link code from citizen %s ignored: too many wrong codes", ctx.citizen.id)
        ctx.say(texts.STAFF_LINK_LOCKED)
        return True
    code = incoming.text.strip().upper()
    staff = ctx.session.scalars(
        select(Staff).where(Staff.link_code == code, Staff.active.is_(True))
    ).first()
    expires = staff.link_code_expires_at if staff is not None else None
    if staff is None or expires is None or expires <= ctx.now:
        log.info("link code refused for citizen %s", ctx.citizen.id)
        throttle.record_failure(sender)
        ctx.say(texts.STAFF_LINK_INVALID)
        return True
    throttle.reset(sender)
    staff.zalo_citizen_id = ctx.citizen.id
    staff.link_code = None
    staff.link_code_expires_at = None
    log.info("staff %s linked to citizen %s", staff.id, ctx.citizen.id)
    ctx.say(texts.STAFF_LINKED.format(name=staff.full_name))
    return True
