"""Local time for the agency (Asia/Ho_Chi_Minh) and the date formats citizens read."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

LOCAL_TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def local_date(moment: datetime) -> date:
    """Return the agency's calendar date at an aware `moment`."""
    return moment.astimezone(LOCAL_TZ).date()


def format_date(day: date) -> str:
    """Format a date as citizens write it: dd/mm/yyyy."""
    return day.strftime("%d/%m/%Y")


def format_datetime(moment: datetime) -> str:
    """Format an aware moment in local time: dd/mm/yyyy HH:MM."""
    return moment.astimezone(LOCAL_TZ).strftime("%d/%m/%Y %H:%M")


def local_midnight(day: date) -> datetime:
    """Return the aware moment when `day` starts in Vietnam."""
    return datetime.combine(day, time(), tzinfo=LOCAL_TZ)


def parse_day(raw: str | None) -> date | None:
    """Return a date typed as yyyy-mm-dd (date pickers) or dd/mm/yyyy (by hand); None if invalid."""
    text = (raw or "").strip()
    for pattern in ("%Y-%m-%d", "%d/%m/%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    return None
