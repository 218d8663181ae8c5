"""Deadlines in Vietnamese working days, checked by hand against the 2026–2027 calendars.

Public holidays (from the `holidays` package): 2026 — 1/1; Tết 16–20/2; 26–27/4 (Giỗ Tổ, observed);
30/4; 1/5; 31/8 (day off moved from the make-up Saturday 22/8); 1–2/9; 24/11.
2027 — 1/1; Tết 4–10/2; 16/4; 30/4; 1/5 and 3/5 (observed); 2–3/9; 24/11.
Every expected date below was counted on a paper calendar, not computed.
"""

from __future__ import annotations

from datetime import date, datetime

import pytest

from cases.clock import LOCAL_TZ
from cases.deadlines import Calendar, Policy, answer_due, paused_days

CALENDAR = Calendar()
MAKEUP_SATURDAY = Calendar(working_days=frozenset({date(2026, 8, 22)}))
BRIDGE_DAY_OFF = Calendar(days_off=frozenset({date(2026, 1, 2)}))
CALENDAR_DAYS = Policy()
WORKING_DAYS = Policy(answer_in_working_days=True)

D = date

# (what, calendar, received, expected classify-by date, expected answer-by date (20 calendar days))
CLASSIFY_AND_ANSWER = [
    ("before Tết 2026", CALENDAR, D(2026, 2, 9), D(2026, 2, 23), D(2026, 3, 2)),
    ("Friday before Tết", CALENDAR, D(2026, 2, 13), D(2026, 2, 27), D(2026, 3, 5)),
    ("Saturday before Tết", CALENDAR, D(2026, 2, 14), D(2026, 2, 27), D(2026, 3, 6)),
    ("during Tết", CALENDAR, D(2026, 2, 18), D(2026, 2, 27), D(2026, 3, 10)),
    ("answer period ends in Tết", CALENDAR, D(2026, 1, 27), D(2026, 2, 3), D(2026, 2, 23)),
    ("across Giỗ Tổ, 30/4 and 1/5", CALENDAR, D(2026, 4, 24), D(2026, 5, 6), D(2026, 5, 14)),
    ("day before 30/4", CALENDAR, D(2026, 4, 29), D(2026, 5, 8), D(2026, 5, 19)),
    ("answer period ends on 30/4", CALENDAR, D(2026, 4, 10), D(2026, 4, 17), D(2026, 5, 4)),
    ("across 2/9", CALENDAR, D(2026, 8, 28), D(2026, 9, 9), D(2026, 9, 17)),
    ("make-up Saturday counted", MAKEUP_SATURDAY, D(2026, 8, 20), D(2026, 8, 26), D(2026, 9, 9)),
    ("same without the make-up day", CALENDAR, D(2026, 8, 20), D(2026, 8, 27), D(2026, 9, 9)),
    (
        "answer ends on the make-up Saturday",
        MAKEUP_SATURDAY,
        D(2026, 8, 2),
        D(2026, 8, 7),
        D(2026, 8, 22),
    ),
    ("same without it", CALENDAR, D(2026, 8, 2), D(2026, 8, 7), D(2026, 8, 24)),
    (
        "an extra day off added by an admin",
        BRIDGE_DAY_OFF,
        D(2025, 12, 31),
        D(2026, 1, 9),
        D(2026, 1, 20),
    ),
    ("same without it", CALENDAR, D(2025, 12, 31), D(2026, 1, 8), D(2026, 1, 20)),
    ("before Tết 2027", CALENDAR, D(2027, 2, 2), D(2027, 2, 16), D(2027, 2, 22)),
    ("across 30/4–3/5 2027", CALENDAR, D(2027, 4, 29), D(2027, 5, 10), D(2027, 5, 19)),
    ("across Vietnam Cultural Day", CALENDAR, D(2026, 11, 20), D(2026, 11, 30), D(2026, 12, 10)),
]


@pytest.mark.parametrize(
    ("what", "calendar", "received", "classify_by", "answer_by"),
    CLASSIFY_AND_ANSWER,
    ids=[row[0] for row in CLASSIFY_AND_ANSWER],
)
def test_classify_within_5_working_days_and_answer_within_20_days(
    what, calendar, received, classify_by, answer_by
):
    assert calendar.add_working_days(received, 5) == classify_by
    assert answer_due(calendar, CALENDAR_DAYS, received) == answer_by


# (what, received, policy, paused from, resumed on, extension days, expected answer-by date)
PAUSES_AND_EXTENSIONS = [
    ("20 working days across Tết", D(2026, 2, 9), WORKING_DAYS, None, None, 0, D(2026, 3, 16)),
    ("no pause, calendar", D(2026, 3, 2), CALENDAR_DAYS, None, None, 0, D(2026, 3, 23)),
    (
        "a week's pause, calendar",
        D(2026, 3, 2),
        CALENDAR_DAYS,
        D(2026, 3, 5),
        D(2026, 3, 12),
        0,
        D(2026, 3, 30),
    ),
    (
        "a week's pause, working days",
        D(2026, 3, 2),
        WORKING_DAYS,
        D(2026, 3, 5),
        D(2026, 3, 12),
        0,
        D(2026, 4, 6),
    ),
    ("an extension of 10 days", D(2026, 3, 2), CALENDAR_DAYS, None, None, 10, D(2026, 4, 1)),
    (
        "a pause and an extension",
        D(2026, 3, 2),
        CALENDAR_DAYS,
        D(2026, 3, 5),
        D(2026, 3, 12),
        10,
        D(2026, 4, 8),
    ),
    (
        "a pause across Tết, working days",
        D(2026, 2, 2),
        WORKING_DAYS,
        D(2026, 2, 12),
        D(2026, 2, 24),
        0,
        D(2026, 3, 12),
    ),
]


@pytest.mark.parametrize(
    ("what", "received", "policy", "paused", "resumed", "extension", "answer_by"),
    PAUSES_AND_EXTENSIONS,
    ids=[row[0] for row in PAUSES_AND_EXTENSIONS],
)
def test_pauses_and_extensions_move_the_answer_date(
    what, received, policy, paused, resumed, extension, answer_by
):
    shift = extension
    if paused is not None:
        shift += paused_days(CALENDAR, policy, paused, resumed)
    assert answer_due(CALENDAR, policy, received, shift) == answer_by


def local(*args) -> datetime:
    return datetime(*args, tzinfo=LOCAL_TZ)


@pytest.mark.parametrize(
    ("received", "hours", "due"),
    [
        # Fri 16:00 + 12 working hours: 1 h Friday, Mon 27/4 is a holiday, 8 h Tuesday, 3 h Wed.
        (local(2026, 4, 24, 16, 0), 12, local(2026, 4, 29, 11, 0)),
        # Received at lunch: the afternoon, a full day, ending exactly at closing time.
        (local(2026, 3, 10, 12, 30), 12, local(2026, 3, 11, 17, 0)),
        # Received at night: counting starts at 08:00 the next working day.
        (local(2026, 3, 10, 21, 0), 4, local(2026, 3, 11, 12, 0)),
    ],
)
def test_urgent_cases_count_working_hours(received, hours, due):
    assert CALENDAR.add_working_hours(received, hours) == due


def test_publish_within_2_working_days_of_the_answer():
    assert CALENDAR.add_working_days(D(2026, 4, 29), 2) == D(2026, 5, 5)


def test_the_local_day_of_receipt_is_what_counts():
    from cases.clock import local_date

    late_evening = local(2026, 3, 5, 23, 30)  # 16:30 UTC, still 5/3 in Hà Nội
    after_midnight = local(2026, 3, 6, 0, 30)  # 17:30 UTC on 5/3, already 6/3 in Hà Nội
    assert CALENDAR.add_working_days(local_date(late_evening), 5) == D(2026, 3, 12)
    assert CALENDAR.add_working_days(local_date(after_midnight), 5) == D(2026, 3, 13)
    assert answer_due(CALENDAR, CALENDAR_DAYS, local_date(after_midnight)) == D(2026, 3, 26)
