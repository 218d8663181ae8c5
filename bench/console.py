"""Benchmark of the staff console's queue and case page on a million cases in PostgreSQL.

    python -m bench.console [--cases 1000000] [--runs 50] [--budget 8] [--no-proposed]

It creates a private schema in the PostgreSQL database (dropped at the end), creates the tables
with `flask db upgrade` (as a deployment does) and the demo units, fields and accounts with
`cases.demo.seed_demo` (plus two wards: 12 units, 9 fields), then seeds with plain SQL
(`INSERT ... SELECT FROM generate_series`): a citizen per ~3 cases, cases received evenly over
three years with realistic titles and texts, statuses skewed by age (recent cases mostly open,
older ones mostly answered or published, ~9% open overall, some of them overdue), one
`received` timeline event, one stored webhook event and one or two outbox messages per Zalo
case (~1% held or failed), `answer_due_on` = the local day of receipt + 20 days. As bulk loads
do, foreign keys are not checked while loading and the secondary indexes are built after it
(from their own definitions). Then `VACUUM ANALYZE` (what autovacuum does after a bulk load),
`cases.undelivered.recount_undelivered` (the cases' kept delivery flag) and
`cases.counts.recount` (per unit, and per unit and day), and `VACUUM ANALYZE` of what they wrote.

It then builds the real app in this process (`create_app()` on that schema, nothing mocked),
logs in through the login form as the demo coordinator and as the demo handler (Sở Xây dựng),
and GETs the console pages through Flask's test client: the queue with each filter, a deep
page, and the case page of a random case. Every request is timed, and every SQL statement it
runs (SQLAlchemy cursor events on the app's engine). Each page is warmed up, then requested
`--runs` times with random parameters (or until `--budget` seconds are spent on it). For each
page the table gives p50/p95/max of the whole request, how many statements it ran, and the
statement with the highest p95 (with its p95). Pages whose p95 misses the aim get the
`EXPLAIN ANALYZE` of their slowest statement on stderr.

Unless `--no-proposed`, it then creates the indexes proposed for the product (`PROPOSED`) in the
benchmark schema and measures their pages again through the app, on the same data; and it
times the proposed query changes (which need product code, so they cannot go through the
pages) against the statements the console runs now, with EXPLAIN ANALYZE. The tables are
printed in Markdown, ready for docs/performance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, event, func, select, text
from sqlalchemy.orm import Session

from bench.common import (
    background_cpu,
    describe_code,
    describe_machine,
    machine_cpu_ticks,
    markdown_table,
    percentile,
    process_cpu,
)
from bench.webhook import app_environment, postgresql_database, prepare_database
from cases.clock import LOCAL_TZ
from models import CaseStatus, Field, Unit
from models.db import make_session_factory

DEFAULT_PG_URL = "postgresql://postgres@127.0.0.1:5432/test"
APPLICATION_NAME = "bench_console"
AIM_MS = 50.0
YEARS = 3
ANSWER_DAYS = 20
COORDINATOR = ("dieuphoi", "demo-coordinator-2026")
HANDLER = ("canbo.sxd", "demo-handler-2026")
HANDLER_UNIT = "SXD"
CSRF_INPUT = re.compile(r'name="csrf_token" value="([^"]+)"')
EXTRA_UNITS = (("P-TT", "Phường Tràng Tiền", "Q-HK"), ("P-QT", "Phường Quán Thánh", "Q-BD"))

# Share of cases per field (percent) and the titles of each field's cases.
FIELD_WEIGHTS = {
    "DAT-DAI": 14,
    "XAY-DUNG": 20,
    "GIAO-THONG": 18,
    "MOI-TRUONG": 16,
    "Y-TE": 6,
    "GIAO-DUC": 5,
    "HO-TICH": 8,
    "THU-TUC": 8,
    "KHAC": 5,
}
TOPICS = {
    "DAT-DAI": (
        "Cấp giấy chứng nhận quyền sử dụng đất",
        "Tranh chấp đất đai giữa các hộ",
        "Bồi thường giải phóng mặt bằng",
        "Lấn chiếm đất công",
    ),
    "XAY-DUNG": (
        "Lấn chiếm vỉa hè",
        "Xây dựng không phép",
        "Công trình xây dựng gây lún nứt nhà bên cạnh",
        "Cơi nới trái phép",
    ),
    "GIAO-THONG": (
        "Hư hỏng mặt đường",
        "Đèn tín hiệu giao thông không hoạt động",
        "Đỗ xe trái phép",
        "Kiến nghị lắp đặt biển báo",
    ),
    "MOI-TRUONG": (
        "Rác thải tồn đọng",
        "Ngập úng khi mưa",
        "Ô nhiễm tiếng ồn từ quán karaoke",
        "Ô nhiễm khói bụi",
        "Nước sinh hoạt bị đục",
    ),
    "Y-TE": (
        "Thái độ phục vụ tại bệnh viện",
        "Thanh toán bảo hiểm y tế",
        "Kinh doanh thuốc không rõ nguồn gốc",
    ),
    "GIAO-DUC": (
        "Học phí và các khoản thu đầu năm",
        "Tuyển sinh đầu cấp",
        "Cơ sở vật chất trường học xuống cấp",
    ),
    "HO-TICH": (
        "Thủ tục đăng ký thường trú",
        "Cấp bản sao giấy khai sinh",
        "Xác nhận tình trạng hôn nhân",
    ),
    "THU-TUC": (
        "Chậm giải quyết hồ sơ",
        "Yêu cầu nộp thêm giấy tờ không đúng quy định",
        "Dịch vụ công trực tuyến bị lỗi",
    ),
    "KHAC": ("Cây xanh đổ gãy", "Bán hàng rong", "Kiến nghị về đời sống dân sinh"),
}
# Streets, most frequent first: a case's street is picked with a skew (index = n * r², r uniform:
# the first ~14% of cases, the last ~1%), so that search words range from common to rare.
STREETS = (
    "Hàng Bạc",
    "Kim Mã",
    "Giảng Võ",
    "Láng Hạ",
    "Tây Sơn",
    "Chùa Bộc",
    "Nguyễn Trãi",
    "Cầu Giấy",
    "Xuân Thủy",
    "Trần Duy Hưng",
    "Nguyễn Chí Thanh",
    "Hoàng Quốc Việt",
    "Lê Văn Lương",
    "Khuất Duy Tiến",
    "Giải Phóng",
    "Kim Liên",
    "Xã Đàn",
    "Thái Hà",
    "Bà Triệu",
    "Lò Đúc",
    "Trần Hưng Đạo",
    "Hai Bà Trưng",
    "Phan Chu Trinh",
    "Tràng Tiền",
    "Đinh Tiên Hoàng",
    "Lý Thái Tổ",
    "Hàng Đào",
    "Hàng Ngang",
    "Hàng Buồm",
    "Hàng Mã",
    "Hàng Chiếu",
    "Đồng Xuân",
    "Phùng Hưng",
    "Lý Nam Đế",
    "Cửa Bắc",
    "Quán Thánh",
    "Phan Đình Phùng",
    "Hoàng Hoa Thám",
    "Đội Cấn",
    "Ngọc Hà",
    "Văn Cao",
    "Liễu Giai",
    "Thụy Khuê",
    "Lạc Long Quân",
    "Âu Cơ",
    "Nghi Tàm",
    "Yên Phụ",
    "Hàng Than",
    "Châu Long",
    "Trúc Bạch",
)
OPENINGS = (
    "Kính gửi cơ quan chức năng, tôi xin phản ánh tình trạng",
    "Tôi là người dân sinh sống tại khu vực, xin phản ánh việc",
    "Đề nghị cơ quan có thẩm quyền xem xét về",
    "Nhiều hộ dân trong khu phố rất bức xúc về",
    "Tôi xin kiến nghị về",
)
DETAILS = (
    "Tình trạng này đã kéo dài nhiều tháng nay",
    "Sự việc xảy ra thường xuyên vào buổi tối",
    "Người dân đã nhiều lần báo với tổ dân phố nhưng chưa được giải quyết",
    "Việc này ảnh hưởng lớn đến sinh hoạt và an toàn của người dân",
    "Tôi có gửi kèm hình ảnh để cơ quan tiện kiểm tra",
    "Sự việc gây mất mỹ quan đô thị",
    "Trẻ em đi học qua đây rất nguy hiểm",
    "Khu vực này đã được phản ánh trước đây",
)
REQUESTS = (
    "Đề nghị cơ quan chức năng kiểm tra, xử lý dứt điểm.",
    "Rất mong sớm nhận được phản hồi.",
    "Xin cảm ơn.",
    "Đề nghị xử lý nghiêm các trường hợp vi phạm.",
    "Mong các cơ quan vào cuộc để người dân yên tâm.",
)
FAMILY = ("Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Vũ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô")
MIDDLE = ("Văn", "Thị", "Minh", "Thu", "Đức", "Hữu", "Ngọc", "Thanh")
GIVEN = ("An", "Bình", "Cường", "Dung", "Hà", "Hùng", "Lan", "Mai", "Nam", "Phương", "Tuấn")
OPEN_WEIGHTS = {
    CaseStatus.RECEIVED: 15,
    CaseStatus.TRANSFERRED: 10,
    CaseStatus.PROCESSING: 40,
    CaseStatus.AWAITING_INFO: 10,
    CaseStatus.ANSWER_DRAFTED: 12,
    CaseStatus.ANSWER_APPROVED: 8,
    CaseStatus.ESCALATED: 5,
}
CLOSED_WEIGHTS = {
    CaseStatus.PUBLISHED: 55,
    CaseStatus.ANSWERED: 33,
    CaseStatus.REJECTED: 8,
    CaseStatus.MERGED: 4,
}
# Search words: common ones (in ~3-5% of cases each) and rare ones (a street at the tail, ~1%).
COMMON_WORDS = ("vỉa hè", "rác thải", "mặt đường", "đất đai", "xây dựng không phép")
RARE_WORDS = STREETS[-12:]


def weighted(items: dict[Any, int]) -> list[Any]:
    """Return each item repeated by its weight (for a uniform pick in SQL)."""
    return [item for item, weight in items.items() for _ in range(weight)]


# The seeding, in SQL


CITIZENS_SQL = """
INSERT INTO citizen (id, zalo_user_id, display_name, name, phone, address, email, is_follower,
                     last_interaction_at, consent_at, consent_version, created_at)
SELECT g,
       '7' || lpad(g::text, 18, '0'),
       'Zalo ' || g,
       n.name,
       '09' || lpad(((g::bigint * 7919) % 100000000)::text, 8, '0'),
       'Số ' || (1 + g % 200) || ', phố ' || (:streets)[1 + g % array_length(:streets, 1)],
       CASE WHEN g % 2 = 0 THEN 'nguoidan' || g || '@example.vn' END,
       g % 10 <> 0,
       :end - random() * interval '400 days',
       :start + random() * (:end - :start),
       'v1',
       :start + random() * (:end - :start)
FROM generate_series(1, :citizens) g,
     LATERAL (SELECT (:family)[1 + (g * 7) % array_length(:family, 1)] || ' '
                     || (:middle)[1 + (g * 3) % array_length(:middle, 1)] || ' '
                     || (:given)[1 + (g * 11) % array_length(:given, 1)] AS name) n
"""

# Cases are numbered in order of receipt; each draws its random choices once (`base`), then
# its status from its age (`shaped`); the code's sequence restarts every local day.
CASES_SQL = """
INSERT INTO pakn_case (id, code, kind, status, channel, citizen_id, field_id, unit_id, title,
    content, location_address, latitude, longitude, contact_name, contact_phone, contact_address,
    contact_email, hide_identity, consent_text_version, consent_at, received_at, answer_due_on,
    urgent, classify_due_on, paused_at, paused_days, extended_days, last_progress_at,
    answer_text, answered_at, published_at, reject_reason, resolved, rating, updated_at)
WITH base AS MATERIALIZED (
    SELECT i, received_at, (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day,
           :end - received_at AS age,
           1 + floor(random() * array_length(:field_pick, 1))::int AS fp,
           random() AS r_unit, random() AS r_unit2, random() AS r_open, random() AS r_status,
           random() AS r_topic, random() AS r_street, random() AS r_text, random() AS r_zalo,
           random() AS r_misc, 1 + floor(random() * :citizens)::int AS citizen
    FROM (SELECT i, :start + (i - 1 + random()) * ((:end - :start) / :cases) AS received_at
          FROM generate_series(1, :cases) i) t
), shaped AS (
    SELECT b.*,
           (:field_pick)[b.fp] AS field_pos,
           CASE WHEN b.r_open < CASE WHEN b.age < interval '3 days' THEN 0.97
                                     WHEN b.age < interval '45 days' THEN 0.6
                                     ELSE 0.065 END
                THEN (:open_pick)[1 + floor(b.r_status * array_length(:open_pick, 1))::int]
                ELSE (:closed_pick)[1 + floor(b.r_status * array_length(:closed_pick, 1))::int]
           END AS status,
           (:streets)[1 + floor(b.r_street * b.r_street * array_length(:streets, 1))::int]
               AS street
    FROM base b
), texts AS (
    SELECT s.*,
           (:field_ids)[s.field_pos] AS field_id,
           CASE WHEN s.r_unit < 0.7 THEN (:field_units)[s.field_pos]
                ELSE (:unit_ids)[1 + floor(s.r_unit2 * array_length(:unit_ids, 1))::int]
           END AS unit_id,
           (:topics)[(:topic_first)[s.field_pos]
                     + floor(s.r_topic * (:topic_count)[s.field_pos])::int] AS topic,
           s.r_zalo < 0.9 AS zalo
    FROM shaped s
)
SELECT t.i,
       'PAKN.' || to_char(t.day, 'YYYYMMDD') || '.'
           || lpad((row_number() OVER (PARTITION BY t.day ORDER BY t.i))::text, 4, '0'),
       CASE WHEN t.r_misc < 0.3 THEN 'petition' ELSE 'feedback' END,
       t.status,
       CASE WHEN t.zalo THEN 'zalo' WHEN t.r_misc < 0.5 THEN 'phone' ELSE 'web' END,
       CASE WHEN t.zalo THEN t.citizen END,
       t.field_id,
       t.unit_id,
       t.topic || ' tại phố ' || t.street,
       (:openings)[1 + floor(t.r_text * array_length(:openings, 1))::int] || ' '
           || lower(t.topic) || ' tại số ' || (1 + t.i % 300) || ' phố ' || t.street || '. '
           || (:details)[1 + (t.i * 7) % array_length(:details, 1)] || '. '
           || (:details)[1 + (t.i * 13) % array_length(:details, 1)] || '. '
           || (:requests)[1 + (t.i * 5) % array_length(:requests, 1)],
       CASE WHEN t.r_misc < 0.6 THEN 'Số ' || (1 + t.i % 300) || ' phố ' || t.street END,
       CASE WHEN t.r_misc < 0.4 THEN 21.0 + (t.i % 1000) / 10000.0 END,
       CASE WHEN t.r_misc < 0.4 THEN 105.8 + (t.i % 997) / 10000.0 END,
       (:family)[1 + t.i % array_length(:family, 1)] || ' '
           || (:middle)[1 + (t.i / 11) % array_length(:middle, 1)] || ' '
           || (:given)[1 + (t.i / 7) % array_length(:given, 1)],
       '09' || lpad(((t.i::bigint * 7919) % 100000000)::text, 8, '0'),
       'Số ' || (1 + t.i % 300) || ' phố ' || t.street || ', Hà Nội',
       CASE WHEN t.r_misc < 0.5 THEN 'nguoidan' || t.i || '@example.vn' END,
       t.r_misc > 0.97,
       'v1',
       t.received_at,
       t.received_at,
       t.day + :answer_days,
       t.r_misc < 0.01,
       t.day + 3,
       CASE WHEN t.status = 'awaiting_info'
            THEN least(t.received_at + interval '2 days', :end) END,
       0,
       0,
       CASE WHEN t.status IN ('processing', 'answer_drafted', 'answer_approved')
            THEN least(t.received_at + interval '5 days', :end) END,
       CASE WHEN t.status IN ('answer_drafted', 'answer_approved', 'answered', 'published')
            THEN 'Trả lời: cơ quan đã kiểm tra và xử lý theo quy định.' END,
       CASE WHEN t.status IN ('answered', 'published')
            THEN least(t.received_at + interval '12 days', :end) END,
       CASE WHEN t.status = 'published'
            THEN least(t.received_at + interval '15 days', :end) END,
       CASE WHEN t.status = 'rejected' THEN 'not_in_scope' END,
       CASE WHEN t.status IN ('answered', 'published') AND t.r_misc < 0.3 THEN 'yes' END,
       CASE WHEN t.status IN ('answered', 'published') AND t.r_misc < 0.3
            THEN 3 + (t.i % 3) END,
       least(t.received_at + CASE WHEN t.status IN ('received', 'transferred') THEN interval '0'
                                  ELSE interval '15 days' END, :end)
FROM texts t
"""

EVENTS_SQL = """
INSERT INTO case_event (case_id, at, action, actor, from_status, to_status, visible_to_citizen)
SELECT id, received_at, 'received', 'citizen', NULL, 'received', true FROM pakn_case
"""

DAY_COUNTERS_SQL = """
INSERT INTO case_day_counter (day, last_seq)
SELECT (received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date, count(*) FROM pakn_case GROUP BY 1
"""

# The citizen's last message of the submission, as the webhook stored it.
INBOUND_SQL = """
INSERT INTO inbound_event (dedup_key, event_name, zalo_user_id, body, status, event_time,
                           received_at)
SELECT 'bench-' || c.id, 'user_send_text', z.zalo_user_id,
       json_build_object(
           'app_id', :app_id, 'sender', json_build_object('id', z.zalo_user_id),
           'recipient', json_build_object('id', :oa_id), 'event_name', 'user_send_text',
           'message', json_build_object('msg_id', 'bench' || c.id, 'text', c.content),
           'timestamp', (extract(epoch FROM c.received_at) * 1000)::bigint::text)::text,
       'processed', c.received_at - interval '1 minute', c.received_at - interval '1 minute'
FROM pakn_case c JOIN citizen z ON z.id = c.citizen_id
"""

# The acknowledgement of every Zalo case (~0.6% held, ~0.5% failed), and the answer of every
# answered or published one (~0.3% failed; a delivered answer supersedes a failed acknowledgement).
OUTBOX_SQL = """
INSERT INTO outbox_message (citizen_id, case_id, kind, payload, state, attempts, next_attempt_at,
    queued_at, held_reason, held_since, channel, zalo_message_id, last_error_code, last_error,
    created_at, sent_at, delivered_at, seen_at)
SELECT m.citizen_id, m.case_id, m.kind, jsonb_build_object('text', m.body), m.state,
       CASE WHEN m.state IN ('held', 'pending') THEN 0 ELSE 1 END,
       m.at, m.at,
       CASE WHEN m.state = 'held' THEN 'outside_window' END,
       CASE WHEN m.state = 'held' THEN m.at END,
       CASE WHEN m.state IN ('held', 'pending') THEN NULL ELSE 'consultation' END,
       CASE WHEN m.state IN ('sent', 'delivered', 'seen') THEN 'm' || m.case_id || m.kind END,
       CASE WHEN m.state = 'failed' THEN -230 END,
       CASE WHEN m.state = 'failed' THEN 'Zalo error -230: user has not interacted' END,
       m.at,
       CASE WHEN m.state IN ('sent', 'delivered', 'seen') THEN m.at + interval '1 second' END,
       CASE WHEN m.state IN ('delivered', 'seen') THEN m.at + interval '2 seconds' END,
       CASE WHEN m.state = 'seen' THEN m.at + interval '1 hour' END
FROM (
    SELECT c.citizen_id, c.id AS case_id, 'acknowledgement' AS kind,
           'Đã tiếp nhận phản ánh, kiến nghị mã ' || c.code AS body,
           c.received_at + interval '1 second' AS at,
           CASE WHEN r < 0.006 THEN 'held' WHEN r < 0.011 THEN 'failed'
                WHEN r < 0.4 THEN 'delivered' ELSE 'seen' END AS state
    FROM (SELECT c.*, random() AS r FROM pakn_case c WHERE c.citizen_id IS NOT NULL) c
    UNION ALL
    SELECT c.citizen_id, c.id, 'answer', 'Kết quả trả lời phản ánh, kiến nghị mã ' || c.code,
           c.answered_at,
           CASE WHEN r < 0.003 THEN 'failed' WHEN r < 0.5 THEN 'delivered' ELSE 'seen' END
    FROM (SELECT c.*, random() AS r FROM pakn_case c
          WHERE c.citizen_id IS NOT NULL AND c.status IN ('answered', 'published')) c
) m
"""

NOTICES_SQL = """
INSERT INTO staff_notice (kind, role, unit_id, title, body, dedup_key, created_at)
SELECT 'digest', CASE WHEN g % 2 = 0 THEN 'coordinator' ELSE 'handler' END, NULL,
       'Tổng hợp hằng ngày', 'Có ' || g || ' phản ánh, kiến nghị sắp đến hạn.',
       'bench-digest-' || g, :end - g * interval '1 day'
FROM generate_series(1, 60) g
"""

BULK_TABLES = ("citizen", "pakn_case", "case_event", "inbound_event", "outbox_message")
VACUUMED = (
    "citizen",
    "pakn_case",
    "case_event",
    "case_day_counter",
    "inbound_event",
    "outbox_message",
    "staff_notice",
)
KEPT_TABLES = ("pakn_case", "case_count", "case_count_day")  # written by the rebuilds


def add_units(session: Session) -> None:
    """Add the benchmark's two extra wards, so that the city has 12 units."""
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    for order, (code, name, parent) in enumerate(EXTRA_UNITS, start=len(units) + 1):
        if code not in units:
            session.add(Unit(code=code, name=name, parent=units[parent], sort_order=order * 10))
    session.flush()


def seed_parameters(session: Session, cases: int, end: datetime) -> dict[str, Any]:
    """Return the bound parameters of the seeding statements (ids, word lists, the period)."""
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    fields = {item.code: item for item in session.scalars(select(Field))}
    field_codes = list(FIELD_WEIGHTS)
    topics: list[str] = []
    first: list[int] = []
    for code in field_codes:
        first.append(len(topics) + 1)
        topics.extend(TOPICS[code])
    return {
        "cases": cases,
        "citizens": max(1, cases // 3),
        "start": end - timedelta(days=365 * YEARS),
        "end": end,
        "answer_days": ANSWER_DAYS,
        "field_ids": [fields[code].id for code in field_codes],
        "field_units": [fields[code].default_unit_id for code in field_codes],
        "field_pick": weighted({pos: FIELD_WEIGHTS[c] for pos, c in enumerate(field_codes, 1)}),
        "unit_ids": sorted(unit.id for unit in units.values()),
        "topics": topics,
        "topic_first": first,
        "topic_count": [len(TOPICS[code]) for code in field_codes],
        "open_pick": [status.value for status in weighted(OPEN_WEIGHTS)],
        "closed_pick": [status.value for status in weighted(CLOSED_WEIGHTS)],
        "streets": list(STREETS),
        "openings": list(OPENINGS),
        "details": list(DETAILS),
        "requests": list(REQUESTS),
        "family": list(FAMILY),
        "middle": list(MIDDLE),
        "given": list(GIVEN),
    }


def bind(sql: str, params: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """Return `sql` with its list parameters cast to arrays, and the parameters it uses."""
    used = {}
    for key, value in params.items():
        name = re.compile(rf"(?<![:\w]):{key}\b")
        if not name.search(sql):
            continue
        used[key] = value
        kind = None
        if isinstance(value, list):
            kind = "int[]" if all(isinstance(item, int) for item in value) else "text[]"
        elif isinstance(value, str):
            kind = "text"
        if kind:
            sql = name.sub(f"CAST(:{key} AS {kind})", sql)
    return sql, used


def seed(engine: Engine, url_env: dict[str, str], cases: int, seed_value: float) -> list[str]:
    """Fill the schema with `cases` cases and what goes with them; return timing lines."""
    from cases import counts, undelivered
    from cases.demo import seed_demo

    lines: list[str] = []
    sessions = make_session_factory(engine)
    end = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with sessions() as session, session.begin():
        seed_demo(session)
        add_units(session)
        params = seed_parameters(session, cases, end)
    params["app_id"] = url_env["ZALO_APP_ID"]
    params["oa_id"] = url_env["ZALO_OA_ID"]
    steps = [
        ("citizens", CITIZENS_SQL),
        ("cases", CASES_SQL),
        ("timeline events", EVENTS_SQL),
        ("day counters", DAY_COUNTERS_SQL),
        ("webhook events", INBOUND_SQL),
        ("outbox messages", OUTBOX_SQL),
        ("notices", NOTICES_SQL),
    ]
    with engine.begin() as conn:
        conn.exec_driver_sql("SET LOCAL synchronous_commit = off")
        conn.exec_driver_sql("SET LOCAL maintenance_work_mem = '256MB'")
        conn.exec_driver_sql("SET LOCAL work_mem = '64MB'")
        # A bulk load's usual shortcuts: foreign keys unchecked (the rows are consistent by
        # construction) and secondary indexes built once at the end, from their own definitions.
        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        indexes = conn.scalars(
            text(
                "SELECT i.indexrelid::regclass::text || ';' || pg_get_indexdef(i.indexrelid) "
                "FROM pg_index i WHERE i.indrelid = ANY(CAST(:tables AS regclass[])) "
                "AND NOT i.indisunique AND NOT i.indisprimary"
            ),
            {"tables": list(BULK_TABLES)},
        ).all()
        for entry in indexes:
            conn.exec_driver_sql(f"DROP INDEX {entry.split(';', 1)[0]}")
        conn.execute(text("SELECT setseed(:s)"), {"s": seed_value})
        for name, sql in steps:
            t0 = time.monotonic()
            bound, values = bind(sql, params)
            rows = conn.execute(text(bound), values).rowcount
            lines.append(f"{name}: {rows:,} rows in {time.monotonic() - t0:.1f} s")
            print(f"seed: {lines[-1]}", file=sys.stderr)
        t0 = time.monotonic()
        for entry in indexes:
            conn.exec_driver_sql(entry.split(";", 1)[1])
        lines.append(f"{len(indexes)} secondary indexes built in {time.monotonic() - t0:.1f} s")
        print(f"seed: {lines[-1]}", file=sys.stderr)
        for table in ("citizen", "pakn_case"):
            conn.exec_driver_sql(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"(SELECT max(id) FROM {table}))"
            )
    t0 = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in VACUUMED:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    lines.append(f"VACUUM ANALYZE: {time.monotonic() - t0:.1f} s")
    print(f"seed: {lines[-1]}", file=sys.stderr)
    # The rows were inserted with SQL, around the upkeep of the kept counts and of the cases'
    # delivery flag: rebuild them (after ANALYZE: without statistics the flag's rebuild chose a
    # plan that bitmap-scans every sent row per failed one, 10x slower on 100k cases), then
    # vacuum what they wrote so that it is all-visible too.
    for name, rebuild in (
        ("cases.undelivered.recount_undelivered", undelivered.recount_undelivered),
        ("cases.counts.recount", counts.recount),
    ):
        t0 = time.monotonic()
        with sessions() as session, session.begin():
            rebuild(session)
        lines.append(f"{name}: {time.monotonic() - t0:.1f} s")
        print(f"seed: {lines[-1]}", file=sys.stderr)
    t0 = time.monotonic()
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for table in KEPT_TABLES:
            conn.exec_driver_sql(f"VACUUM (ANALYZE) {table}")
    lines.append(f"VACUUM ANALYZE after the rebuilds: {time.monotonic() - t0:.1f} s")
    print(f"seed: {lines[-1]}", file=sys.stderr)
    return lines


def describe_data(engine: Engine) -> list[str]:
    """Return what was seeded: rows, sizes, and the shares the filters depend on."""
    with engine.connect() as conn:
        total = conn.scalar(text("SELECT count(*) FROM pakn_case")) or 1
        sizes = conn.execute(
            text(
                "SELECT name, pg_size_pretty(pg_table_size(to_regclass(name))), "
                "pg_size_pretty(pg_indexes_size(to_regclass(name))) "
                "FROM unnest(ARRAY['pakn_case', 'outbox_message', 'inbound_event', 'citizen']) "
                "AS name"
            )
        ).all()
        by_status = conn.execute(
            text("SELECT status, count(*) FROM pakn_case GROUP BY 1 ORDER BY 2 DESC")
        ).all()
        today = datetime.now(LOCAL_TZ).date()
        open_values = [s.value for s in OPEN_WEIGHTS]
        overdue = conn.scalar(
            text(
                "SELECT count(*) FROM pakn_case WHERE status = ANY(:open) "
                "AND paused_at IS NULL AND answer_due_on < :today"
            ),
            {"open": open_values, "today": today},
        )
        handler_unit = conn.scalar(
            text(
                "SELECT count(*) FROM pakn_case c JOIN unit u ON u.id = c.unit_id "
                "WHERE u.code = :code"
            ),
            {"code": HANDLER_UNIT},
        )
        undelivered = conn.scalar(
            text(
                "SELECT count(DISTINCT case_id) FROM outbox_message "
                "WHERE state IN ('held', 'failed')"
            )
        )
        units = conn.scalar(text("SELECT count(*) FROM unit"))
        fields = conn.scalar(text("SELECT count(*) FROM field"))
    shares = ", ".join(f"{status} {n / total:.1%}" for status, n in by_status)
    open_share = sum(n for status, n in by_status if status in open_values) / total
    return [
        f"{total:,} cases in {units} units and {fields} fields; open {open_share:.1%}, overdue "
        f"{(overdue or 0) / total:.1%}; the handler's unit ({HANDLER_UNIT}) has "
        f"{handler_unit:,}; cases with a held or failed message: {undelivered:,}",
        f"statuses: {shares}",
        "sizes (table, indexes): "
        + "; ".join(f"{name} {table}, {index}" for name, table, index in sizes),
    ]


# Timing every SQL statement


@dataclass
class Statement:
    """One SQL statement a request ran, and how long the driver took to execute it."""

    seconds: float
    sql: str
    params: Any


class StatementRecorder:
    """Times each SQL statement on an engine while a request is being recorded."""

    def __init__(self, engine: Engine) -> None:
        self.current: list[Statement] | None = None
        event.listen(engine, "before_cursor_execute", self._before)
        event.listen(engine, "after_cursor_execute", self._after)

    def _before(self, conn, _cursor, _statement, _params, _context, _many) -> None:
        conn.info.setdefault("bench_started", []).append(time.perf_counter())

    def _after(self, conn, _cursor, statement, params, _context, _many) -> None:
        started = conn.info["bench_started"].pop()
        if self.current is not None:
            self.current.append(Statement(time.perf_counter() - started, statement, params))

    @contextmanager
    def recording(self) -> Iterator[list[Statement]]:
        """Collect the statements run inside the block."""
        self.current = []
        try:
            yield self.current
        finally:
            self.current = None


IN_LIST = re.compile(r"\(%\(\w+\)s(?:, %\(\w+\)s)*\)")


def statement_key(sql: str) -> str:
    """Return the statement with IN lists collapsed, so that its runs group together."""
    return IN_LIST.sub("(…)", " ".join(sql.split()))


def statement_label(sql: str) -> str:
    """Return a short name for a statement: its first table and its shape."""
    flat = " ".join(sql.split())
    table = re.search(r"\bFROM (\w+)", flat)
    label = table.group(1) if table else flat[:30]
    if "count(" in flat:
        label += " count"
    if "GROUP BY" in flat:
        label += " group"
    if "ILIKE" in flat.upper():
        label += " ilike"
    if " OFFSET " in flat:
        label += " offset"
    elif " LIMIT " in flat:
        label += " page"
    return label


# The pages


@dataclass(frozen=True)
class Scenario:
    """One console page as staff use it: a role, a name, and how to pick each request's URL."""

    role: str
    name: str
    path: Callable[[random.Random], str]
    random_params: bool = True


@dataclass
class Row:
    """The figures of one page."""

    role: str
    page: str
    phase: str
    runs: int
    p50_ms: float
    p95_ms: float
    max_ms: float
    statements: float
    sql_p95_ms: float
    sql_label: str
    db_share: float
    app_cpu_ms: float
    other_cpu: float
    plan: str = ""
    slowest_sql: str = ""

    @property
    def met(self) -> bool:
        """Tell whether the page met the aim (p95 under AIM_MS)."""
        return self.p95_ms < AIM_MS


@dataclass
class Samples:
    """What the sample pages need: codes to open and the data's period."""

    codes: dict[str, list[str]] = field(default_factory=dict)
    unit_ids: list[int] = field(default_factory=list)
    field_ids: list[int] = field(default_factory=list)
    first_day: date = date(2000, 1, 1)
    last_day: date = date(2000, 1, 1)


def load_samples(engine: Engine, rng: random.Random, count: int = 400) -> Samples:
    """Pick random case codes (any unit; the handler's unit) and the ids the filters use."""
    samples = Samples()
    with engine.connect() as conn:
        top = conn.scalar(text("SELECT max(id) FROM pakn_case")) or 1
        ids = [rng.randint(1, top) for _ in range(count)]
        samples.codes["coordinator"] = list(
            conn.scalars(text("SELECT code FROM pakn_case WHERE id = ANY(:ids)"), {"ids": ids})
        )
        samples.codes["handler"] = list(
            conn.scalars(
                text(
                    "SELECT c.code FROM pakn_case c JOIN unit u ON u.id = c.unit_id "
                    "WHERE u.code = :unit AND c.id = ANY(:ids)"
                ),
                {"unit": HANDLER_UNIT, "ids": [rng.randint(1, top) for _ in range(count * 8)]},
            )
        )
        samples.unit_ids = list(conn.scalars(text("SELECT id FROM unit ORDER BY id")))
        samples.field_ids = list(conn.scalars(text("SELECT id FROM field ORDER BY id")))
        first, last = conn.execute(
            text("SELECT min(received_at), max(received_at) FROM pakn_case")
        ).one()
    samples.first_day = first.astimezone(LOCAL_TZ).date()
    samples.last_day = last.astimezone(LOCAL_TZ).date()
    return samples


def month_args(rng: random.Random, samples: Samples) -> str:
    """Return `from`/`to` of a random whole month inside the data's period."""
    months = (samples.last_day.year - samples.first_day.year) * 12 + (
        samples.last_day.month - samples.first_day.month
    )
    offset = rng.randint(1, max(1, months - 1))
    year = samples.first_day.year + (samples.first_day.month - 1 + offset) // 12
    month = (samples.first_day.month - 1 + offset) % 12 + 1
    start = date(year, month, 1)
    end = (start + timedelta(days=32)).replace(day=1) - timedelta(days=1)
    return f"from={start.isoformat()}&to={end.isoformat()}"


def year_args(rng: random.Random, samples: Samples) -> str:
    """Return `from`/`to` of a random 365-day period inside the data's period."""
    span = (samples.last_day - samples.first_day).days - 365
    start = samples.first_day + timedelta(days=rng.randint(0, max(0, span)))
    return f"from={start.isoformat()}&to={(start + timedelta(days=364)).isoformat()}"


def scenarios(samples: Samples) -> list[Scenario]:
    """Return the pages to measure, coordinator's then handler's."""
    statuses = [status.value for status in CaseStatus] + ["open"]

    def queue(args: Callable[[random.Random], str]) -> Callable[[random.Random], str]:
        """Return a picker of queue URLs with the arguments `args` picks."""
        return lambda rng: "/admin/?" + args(rng)

    def word(words: Sequence[str]) -> Callable[[random.Random], str]:
        """Return a picker of searches for one of `words`."""
        return queue(lambda rng: "q=" + rng.choice(words).replace(" ", "+"))

    def case_page(role: str) -> Callable[[random.Random], str]:
        """Return a picker of case pages `role` may see."""
        return lambda rng: "/admin/cases/" + rng.choice(samples.codes[role])

    both = [
        ("queue, default page 1", lambda _rng: "/admin/", False),
        ("filter: status", queue(lambda rng: "status=" + rng.choice(statuses)), True),
        ("filter: field", queue(lambda rng: f"field={rng.choice(samples.field_ids)}"), True),
        ("filter: overdue", queue(lambda _rng: "due=overdue"), False),
        ("filter: due soon", queue(lambda _rng: "due=soon"), False),
        ("filter: a month", queue(lambda rng: month_args(rng, samples)), True),
        ("filter: a year", queue(lambda rng: year_args(rng, samples)), True),
        ("search: common word", word(COMMON_WORDS), True),
        ("search: rare word", word(RARE_WORDS), True),
        ("search: case code", None, True),
        ("filter: undelivered", queue(lambda _rng: "undelivered=1"), False),
        ("deep page (page 200)", queue(lambda _rng: "page=200"), False),
        ("case page", None, True),
    ]
    found: list[Scenario] = []
    for role in ("coordinator", "handler"):
        codes = samples.codes[role]
        for name, path, random_params in both:
            if name == "search: case code":
                path = queue(lambda rng, codes=codes: "q=" + rng.choice(codes))
            elif name == "case page":
                path = case_page(role)
            found.append(Scenario(role, name, path, random_params))
            if role == "coordinator" and name == "filter: status":
                unit = queue(lambda rng: f"unit={rng.choice(samples.unit_ids)}")
                found.append(Scenario(role, "filter: unit", unit))
    return found


def login(client, username: str, password: str) -> None:
    """Log the test client in through the console's login form."""
    page = client.get("/admin/login").get_data(as_text=True)
    match = CSRF_INPUT.search(page)
    if match is None:
        raise RuntimeError("no CSRF field on the login page")
    response = client.post(
        "/admin/login",
        data={"username": username, "password": password, "csrf_token": match.group(1)},
    )
    if response.status_code != 302:
        raise RuntimeError(f"login as {username} failed: HTTP {response.status_code}")


class ConsoleBench:
    """Requests the console's pages through the app and times them and their statements."""

    def __init__(self, app, engine: Engine, args: argparse.Namespace) -> None:
        self.app = app
        self.engine = engine
        self.args = args
        self.recorder = StatementRecorder(engine)
        self.clients = {}
        for role, (username, password) in (("coordinator", COORDINATOR), ("handler", HANDLER)):
            client = app.test_client()
            login(client, username, password)
            self.clients[role] = client

    def request(self, scenario: Scenario, path: str) -> tuple[float, list[Statement]]:
        """GET `path` as the scenario's role; return the seconds taken and the statements."""
        client = self.clients[scenario.role]
        with self.recorder.recording() as statements:
            t0 = time.perf_counter()
            response = client.get(path)
            body = response.get_data()
            elapsed = time.perf_counter() - t0
        if response.status_code != 200 or not body:
            raise RuntimeError(f"GET {path} as {scenario.role}: HTTP {response.status_code}")
        return elapsed, statements

    def db_pids(self) -> list[int]:
        """Return the PostgreSQL backends serving the app (by application name)."""
        with self.engine.connect() as conn:
            return list(
                conn.scalars(
                    text("SELECT pid FROM pg_stat_activity WHERE application_name = :name"),
                    {"name": APPLICATION_NAME},
                )
            )

    def warm_up(self, scenario: Scenario, rng: random.Random) -> None:
        """Request the page a few times (or for a few seconds), unrecorded."""
        deadline = time.monotonic() + self.args.budget / 4
        for _ in range(self.args.warmup):
            self.request(scenario, scenario.path(rng))
            if time.monotonic() > deadline:
                break

    def measure(self, scenario: Scenario, phase: str, seed_value: int) -> Row:
        """Warm the page up, then request it `--runs` times (or for `--budget` seconds)."""
        rng = random.Random(f"{seed_value}:{scenario.role}:{scenario.name}")
        self.warm_up(scenario, rng)
        # The warm-up's queries are done: whatever keeps the machine busy now is someone else's.
        if self.args.quiet_wait > 0:
            deadline = time.monotonic() + self.args.quiet_wait
            while background_cpu(1.0) > self.args.quiet_below and time.monotonic() < deadline:
                pass
        rng = random.Random(f"{seed_value}:{scenario.role}:{scenario.name}:measured")
        timings: list[float] = []
        by_statement: dict[str, list[float]] = defaultdict(list)
        worst: dict[str, Statement] = {}
        statement_counts: list[int] = []
        db_shares: list[float] = []
        pids = [os.getpid(), *self.db_pids()]
        cpu0, (busy0, total0), wall0 = process_cpu(pids), machine_cpu_ticks(), time.monotonic()
        app0 = time.process_time()
        deadline = wall0 + self.args.budget
        while len(timings) < self.args.runs:
            elapsed, statements = self.request(scenario, scenario.path(rng))
            timings.append(elapsed)
            statement_counts.append(len(statements))
            db_shares.append(sum(s.seconds for s in statements) / elapsed)
            for statement in statements:
                key = statement_key(statement.sql)
                by_statement[key].append(statement.seconds)
                if key not in worst or statement.seconds > worst[key].seconds:
                    worst[key] = statement
            if len(timings) >= self.args.min_runs and time.monotonic() > deadline:
                break
        wall = time.monotonic() - wall0
        app_cpu = time.process_time() - app0
        busy1, total1 = machine_cpu_ticks()
        ours = sum(v - cpu0.get(p, 0.0) for p, v in process_cpu(pids).items())
        machine = (busy1 - busy0) / max(1, total1 - total0)
        other = max(0.0, machine - ours / (len(os.sched_getaffinity(0)) * wall))
        slowest_key = max(by_statement, key=lambda key: percentile(by_statement[key], 0.95))
        row = Row(
            role=scenario.role,
            page=scenario.name,
            phase=phase,
            runs=len(timings),
            p50_ms=percentile(timings, 0.50) * 1000,
            p95_ms=percentile(timings, 0.95) * 1000,
            max_ms=percentile(timings, 1.0) * 1000,
            statements=sum(statement_counts) / len(statement_counts),
            sql_p95_ms=percentile(by_statement[slowest_key], 0.95) * 1000,
            sql_label=statement_label(slowest_key),
            db_share=sum(db_shares) / len(db_shares),
            app_cpu_ms=app_cpu * 1000 / len(timings),
            other_cpu=other,
            slowest_sql=slowest_key,
        )
        if not row.met:
            row.plan = self.explain(worst[slowest_key])
        print(
            f"[{phase}] {scenario.role} / {scenario.name}: {row.runs} runs, p50 {row.p50_ms:.1f}"
            f" ms, p95 {row.p95_ms:.1f} ms, max {row.max_ms:.1f} ms; slowest SQL "
            f"{row.sql_label} p95 {row.sql_p95_ms:.1f} ms"
            + (f"; plan: {row.plan}" if row.plan else ""),
            file=sys.stderr,
        )
        return row

    def explain(self, statement: Statement) -> str:
        """Print the EXPLAIN ANALYZE of a slow statement to stderr; return its scans, briefly."""
        with self.engine.connect() as conn:
            lines = [
                line
                for (line,) in conn.exec_driver_sql(
                    "EXPLAIN (ANALYZE, BUFFERS) " + statement.sql, statement.params
                )
            ]
        print("    " + "\n    ".join(lines), file=sys.stderr)
        return summarise_plan(lines)


PLAN_NODE = re.compile(
    r"(Parallel )?(Seq Scan|Index Only Scan|Index Scan|Bitmap Index Scan|Bitmap Heap Scan)"
    r"(?: Backward)?(?: using (\w+))? on (\w+)"
)


PLANNED_TABLES = ("pakn_case", "outbox_message", "case_count", "bench_case_count_day")


def summarise_plan(lines: Sequence[str]) -> str:
    """Return the scans of a plan on the case table, e.g. "Seq Scan pakn_case"."""
    found: list[str] = []
    for line in lines:
        for match in PLAN_NODE.finditer(line):
            parallel, node, index, table = match.groups()
            words = f"{parallel or ''}{node} " + (index or table)
            if table in PLANNED_TABLES and words not in found:
                found.append(words)
    return "; ".join(found)


# Proposed product changes, measured on the same data


OPEN_SQL = ", ".join(f"'{status.value}'" for status in OPEN_WEIGHTS)


@dataclass(frozen=True)
class Proposal:
    """An index proposed for the product (replacing `replaces`, if set), and its pages."""

    name: str
    columns: str
    pages: tuple[str, ...]
    replaces: str | None = None
    trigram: bool = False

    def sql(self, name: str, trigram_schema: str) -> str:
        """Return the CREATE INDEX statement, under `name`."""
        columns = self.columns.replace("gin_trgm_ops", f'"{trigram_schema}".gin_trgm_ops')
        return f"CREATE INDEX {name} ON pakn_case {columns}"


PERIOD_PAGES = ("filter: a month", "filter: a year")
SEARCH_PAGES = ("search: common word", "search: rare word")
PROPOSED: tuple[Proposal, ...] = (
    Proposal(
        "ix_pakn_case_open_due",
        f"(answer_due_on, unit_id, status) WHERE paused_at IS NULL AND status IN ({OPEN_SQL})",
        ("filter: overdue",),
    ),
    Proposal(
        "ix_pakn_case_received",
        "(received_at, id) INCLUDE (status)",
        PERIOD_PAGES,
        replaces="ix_pakn_case_received",
    ),
    Proposal(
        "ix_pakn_case_unit_received",
        "(unit_id, received_at, id) INCLUDE (status)",
        PERIOD_PAGES,
        replaces="ix_pakn_case_unit_received",
    ),
    Proposal(
        "ix_pakn_case_field_unit_status",
        "(field_id, unit_id, status)",
        ("filter: field",),
        replaces="ix_pakn_case_field_status",
    ),
    Proposal("ix_pakn_case_code_trgm", "USING gin (code gin_trgm_ops)", SEARCH_PAGES, trigram=True),
    Proposal(
        "ix_pakn_case_title_trgm", "USING gin (title gin_trgm_ops)", SEARCH_PAGES, trigram=True
    ),
    Proposal(
        "ix_pakn_case_content_trgm", "USING gin (content gin_trgm_ops)", SEARCH_PAGES, trigram=True
    ),
)


def trigram_schema(engine: Engine, schema: str) -> str:
    """Return the schema of pg_trgm, installing it in the benchmark schema if it is missing."""
    with engine.begin() as conn:
        found = conn.scalar(
            text(
                "SELECT n.nspname FROM pg_extension e "
                "JOIN pg_namespace n ON n.oid = e.extnamespace WHERE e.extname = 'pg_trgm'"
            )
        )
        if found is None:
            conn.exec_driver_sql(f'CREATE EXTENSION pg_trgm SCHEMA "{schema}"')
            found = schema
    return found


def apply_proposals(engine: Engine, schema: str) -> list[str]:
    """Create the proposed indexes in the benchmark schema; return how long each took."""
    lines = []
    trigram = trigram_schema(engine, schema)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.exec_driver_sql("SET maintenance_work_mem = '256MB'")
        for proposal in PROPOSED:
            t0 = time.monotonic()
            temporary = proposal.name + "_new"
            conn.exec_driver_sql(proposal.sql(temporary, trigram))
            if proposal.replaces:
                conn.exec_driver_sql(f"DROP INDEX {proposal.replaces}")
            conn.exec_driver_sql(f"ALTER INDEX {temporary} RENAME TO {proposal.name}")
            size = conn.scalar(
                text("SELECT pg_size_pretty(pg_relation_size(CAST(:name AS regclass)))"),
                {"name": proposal.name},
            )
            what = f"replaces {proposal.replaces}" if proposal.replaces else "new"
            lines.append(
                f"{proposal.name} {proposal.columns} ({what}): built in "
                f"{time.monotonic() - t0:.1f} s, {size}"
            )
            print(f"proposed: {lines[-1]}", file=sys.stderr)
        conn.exec_driver_sql("ANALYZE pakn_case")
    return lines


# Proposed query changes, measured as SQL (EXPLAIN ANALYZE) on the same data


@dataclass
class Alternative:
    """A statement the console runs now and the one proposed instead, timed by the server."""

    role: str
    name: str
    current_ms: float
    proposed_ms: float
    current_plan: str
    proposed_plan: str


def server_ms(conn, sql: str, repeat: int) -> tuple[float, str]:
    """Return the median execution time of `sql` (EXPLAIN ANALYZE) and its scans, briefly."""
    times = []
    lines: list[str] = []
    for _ in range(repeat + 1):
        lines = [line for (line,) in conn.exec_driver_sql("EXPLAIN (ANALYZE) " + sql)]
        found = re.search(r"Execution Time: ([\d.]+)", lines[-1])
        times.append(float(found.group(1)) if found else float("nan"))
    return statistics.median(times[1:]), summarise_plan(lines)


def literal(engine: Engine, statement) -> str:
    """Return a SQLAlchemy statement as PostgreSQL text with its values inlined."""
    return str(statement.compile(engine, compile_kwargs={"literal_binds": True}))


def deep_page_statements(session: Session, staff, today: date) -> tuple[object, object]:
    """Return page 200 as the console reads it, and as a deferred join (ids first)."""
    from sqlalchemy.orm import joinedload

    from cases.queue import QueueFilters, filter_clauses, queue_query
    from models import Case

    offset = 199 * 50
    eager = (joinedload(Case.field), joinedload(Case.unit))
    current = queue_query(session, staff, QueueFilters(), today).options(*eager)
    current = current.limit(50).offset(offset)
    order = (Case.received_at.desc(), Case.id.desc())
    ids = (
        select(Case.id)
        .where(*filter_clauses(session, staff, QueueFilters(), today))
        .order_by(*order)
        .limit(50)
        .offset(offset)
    )
    proposed = select(Case).where(Case.id.in_(ids)).options(*eager).order_by(*order)
    return current, proposed


def search_count_statements(
    session: Session, staff, today: date, word: str, cap: int
) -> tuple[object, object]:
    """Return the counts per status of a search, exact (now) and capped at `cap` matches."""
    from cases.queue import QueueFilters, filter_clauses
    from models import Case

    clauses = filter_clauses(session, staff, QueueFilters(q=word), today)
    current = select(Case.status, func.count()).where(*clauses).group_by(Case.status)
    capped = select(Case.status).where(*clauses).limit(cap + 1).subquery()
    proposed = select(capped.c.status, func.count()).group_by(capped.c.status)
    return current, proposed


UNDELIVERED_FLAG_SQL = (
    "ALTER TABLE pakn_case ADD COLUMN undelivered_since timestamptz",
    """
    UPDATE pakn_case c SET undelivered_since = u.since
    FROM (SELECT m.case_id, min(m.queued_at) AS since FROM outbox_message m
          WHERE m.case_id IS NOT NULL AND (m.state = 'held' OR (m.state = 'failed' AND NOT EXISTS (
              SELECT 1 FROM outbox_message l WHERE l.case_id = m.case_id AND l.id > m.id
              AND l.state IN ('sent', 'delivered', 'seen'))))
          GROUP BY m.case_id) u
    WHERE u.case_id = c.id
    """,
    "CREATE INDEX ix_pakn_case_undelivered ON pakn_case (received_at, id) "
    "INCLUDE (status, unit_id) WHERE undelivered_since IS NOT NULL",
    "VACUUM (ANALYZE) pakn_case",
)


KEPT_DAY_COUNTS_SQL = (
    "CREATE TABLE bench_case_count_day AS SELECT unit_id, "
    "(received_at AT TIME ZONE 'Asia/Ho_Chi_Minh')::date AS day, status, count(*)::int AS n "
    "FROM pakn_case GROUP BY 1, 2, 3",
    "ALTER TABLE bench_case_count_day ADD PRIMARY KEY (day, unit_id, status)",
    "VACUUM (ANALYZE) bench_case_count_day",
)


def measure_alternatives(
    engine: Engine, samples: Samples, repeat: int = 5
) -> tuple[list[Alternative], list[str]]:
    """Time the proposed query changes against the statements the console runs now."""
    from sqlalchemy.orm import joinedload

    from cases.access import visible_units
    from cases.queue import QueueFilters, filter_clauses, queue_query
    from models import Case, CaseCount, Staff

    today = datetime.now(LOCAL_TZ).date()
    year_from = samples.first_day + timedelta(days=366)
    year_to = year_from + timedelta(days=364)
    pairs: list[tuple[str, str, str, str]] = []

    def add(role: str, name: str, current: Any, proposed: Any) -> None:
        """Record a pair of statements (SQLAlchemy or text) to time."""
        as_text = [
            sql if isinstance(sql, str) else literal(engine, sql) for sql in (current, proposed)
        ]
        pairs.append((role, name, as_text[0], as_text[1]))

    def counted(session: Session, member: Staff, filters: QueueFilters) -> Any:
        """Return the counts per status under `filters`, as `status_counts` queries them."""
        clauses = filter_clauses(session, member, filters, today)
        return select(Case.status, func.count()).where(*clauses).group_by(Case.status)

    with make_session_factory(engine)() as session:
        biggest_unit = session.scalar(
            select(CaseCount.unit_id)
            .group_by(CaseCount.unit_id)
            .order_by(func.sum(CaseCount.n).desc())
            .limit(1)
        )
        for role, (username, _password) in (("coordinator", COORDINATOR), ("handler", HANDLER)):
            member = session.scalars(select(Staff).where(Staff.username == username)).one()
            units = visible_units(session, member)
            in_units = f" AND unit_id IN ({', '.join(map(str, sorted(units)))})" if units else ""
            if role == "coordinator":
                kept = (
                    select(CaseCount.status, func.sum(CaseCount.n))
                    .where(CaseCount.unit_id.in_([biggest_unit]))
                    .group_by(CaseCount.status)
                )
                add(
                    role,
                    "unit counts from the kept counts",
                    counted(session, member, QueueFilters(unit_id=biggest_unit)),
                    kept,
                )
            add(
                role,
                "a year's counts from kept daily counts",
                counted(
                    session, member, QueueFilters(received_from=year_from, received_to=year_to)
                ),
                "SELECT status, sum(n) FROM bench_case_count_day "
                f"WHERE day BETWEEN '{year_from}' AND '{year_to}'{in_units} GROUP BY status",
            )
            add(role, "deep page 200: ids first", *deep_page_statements(session, member, today))
            for label, word in (("common", COMMON_WORDS[0]), ("rare", RARE_WORDS[0])):
                current, capped = search_count_statements(session, member, today, word, 1000)
                add(role, f"search '{word}' ({label}): counts capped at 1,000", current, capped)
                page = (
                    queue_query(session, member, QueueFilters(q=word), today)
                    .options(joinedload(Case.field), joinedload(Case.unit))
                    .limit(50)
                )
                add(role, f"search '{word}' ({label}): no counts, page query only", current, page)
            filters = QueueFilters(undelivered_only=True)
            flag_where = f"undelivered_since IS NOT NULL{in_units}"
            add(
                role,
                "undelivered counts: kept flag",
                counted(session, member, filters),
                f"SELECT status, count(*) FROM pakn_case WHERE {flag_where} GROUP BY status",
            )
            page = queue_query(session, member, filters, today).limit(50)
            add(
                role,
                "undelivered page: kept flag",
                page,
                f"SELECT * FROM pakn_case WHERE {flag_where} "
                "ORDER BY received_at DESC, id DESC LIMIT 50",
            )
    notes: list[str] = []
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        for label, statements in (
            ("kept undelivered flag (column, backfill, partial index)", UNDELIVERED_FLAG_SQL),
            ("kept daily counts (table from the cases, primary key)", KEPT_DAY_COUNTS_SQL),
        ):
            t0 = time.monotonic()
            for sql in statements:
                conn.exec_driver_sql(sql)
            notes.append(f"{label}: built in {time.monotonic() - t0:.1f} s")
            print(f"alternative: {notes[-1]}", file=sys.stderr)
    found: list[Alternative] = []
    with engine.connect() as conn:
        for role, name, current_sql, proposed_sql in pairs:
            current_ms, current_plan = server_ms(conn, current_sql, repeat)
            proposed_ms, proposed_plan = server_ms(conn, proposed_sql, repeat)
            found.append(
                Alternative(role, name, current_ms, proposed_ms, current_plan, proposed_plan)
            )
            print(
                f"[alternative] {role} / {name}: {current_ms:.1f} ms -> {proposed_ms:.1f} ms "
                f"({current_plan} -> {proposed_plan})",
                file=sys.stderr,
            )
    return found, notes


# Output


def render(rows: Sequence[Row], before: dict[tuple[str, str], Row] | None = None) -> str:
    """Return the result table in Markdown (with the p95 before, when given)."""
    headers = [
        "role",
        "page",
        "runs",
        "p50 ms",
        "p95 ms",
        "max ms",
        "SQL/page",
        "slowest SQL (p95)",
        "SQL p95 ms",
        "in SQL",
        "app CPU ms",
        "other load",
        f"p95 < {AIM_MS:g} ms",
    ]
    if before is not None:
        headers.insert(5, "p95 before")
    table = [
        [
            r.role,
            r.page,
            r.runs,
            f"{r.p50_ms:.1f}",
            f"{r.p95_ms:.1f}",
            f"{r.max_ms:.1f}",
            f"{r.statements:.0f}",
            r.sql_label,
            f"{r.sql_p95_ms:.1f}",
            f"{r.db_share:.0%}",
            f"{r.app_cpu_ms:.1f}",
            f"{r.other_cpu:.0%}",
            "met" if r.met else "NOT met",
        ]
        for r in rows
    ]
    if before is not None:
        for r, line in zip(rows, table, strict=True):
            earlier = before.get((r.role, r.page))
            line.insert(5, f"{earlier.p95_ms:.1f}" if earlier else "-")
    return markdown_table(headers, table)


def render_alternatives(alternatives: Sequence[Alternative]) -> str:
    """Return the query-change table in Markdown."""
    headers = ["role", "change", "now ms", "proposed ms", "now scans", "proposed scans"]
    table = [
        [
            a.role,
            a.name,
            f"{a.current_ms:.1f}",
            f"{a.proposed_ms:.1f}",
            a.current_plan or "-",
            a.proposed_plan or "-",
        ]
        for a in alternatives
    ]
    return markdown_table(headers, table)


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    """Parse the command line."""
    parser = argparse.ArgumentParser(
        prog="python -m bench.console", description=__doc__.split("\n")[0]
    )
    parser.add_argument("--cases", type=int, default=1_000_000, help="cases to seed (1,000,000)")
    parser.add_argument("--runs", type=int, default=50, help="measured requests per page (50)")
    parser.add_argument(
        "--min-runs", type=int, default=10, help="requests per page even past the budget (10)"
    )
    parser.add_argument(
        "--budget", type=float, default=8.0, help="seconds per page, at most, once --min-runs"
    )
    parser.add_argument("--warmup", type=int, default=3, help="unrecorded requests per page (3)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument(
        "--quiet-below",
        type=float,
        default=0.25,
        help="before each page, wait until other load is below this share of the CPUs (0.25)",
    )
    parser.add_argument(
        "--quiet-wait",
        type=float,
        default=3.0,
        help="seconds to wait for that, at most, before each page (3; 0: no wait)",
    )
    parser.add_argument(
        "--no-proposed",
        action="store_true",
        help="do not measure the proposed indexes after the product's own",
    )
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG_URL,
        help=f"PostgreSQL database to create a schema in (default {DEFAULT_PG_URL})",
    )
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    if args.cases < 1000:
        parser.error("--cases must be at least 1000")
    if args.runs < 1 or args.min_runs < 1:
        parser.error("--runs and --min-runs must be positive")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Seed, measure every page, then the proposed indexes; print the tables and the verdicts."""
    from app import create_app
    from handlers.runtime import get_runtime

    args = parse_args(argv)
    started = time.monotonic()
    machine = describe_machine()
    rows: list[Row] = []
    with postgresql_database(args.pg_url) as url, tempfile.TemporaryDirectory() as tmp:
        schema = re.search(r"search_path%3D(\w+)", url).group(1)
        env = app_environment(url, Path(tmp) / "storage")
        busy = background_cpu()
        print(f"CPU busy before the run (other load): {busy:.0%}", file=sys.stderr)
        t0 = time.monotonic()
        engine, how = prepare_database(url, env)
        schema_seconds = time.monotonic() - t0
        try:
            t0 = time.monotonic()
            seed_lines = seed(engine, env, args.cases, (args.seed % 1000) / 1000)
            seed_seconds = time.monotonic() - t0
            data_lines = describe_data(engine)
            for line in data_lines:
                print(f"data: {line}", file=sys.stderr)
            config = {**env, "DATABASE_URL": url + f"&application_name={APPLICATION_NAME}"}
            app = create_app(config)
            bench = ConsoleBench(app, get_runtime(app).engine, args)
            samples = load_samples(engine, random.Random(args.seed))
            pages = scenarios(samples)
            for scenario in pages:
                rows.append(bench.measure(scenario, "product", args.seed))
            proposal_lines: list[str] = []
            alternatives: list[Alternative] = []
            alternative_notes: list[str] = []
            if not args.no_proposed:
                proposal_lines = apply_proposals(engine, schema)
                wanted = {page for proposal in PROPOSED for page in proposal.pages}
                for scenario in pages:
                    if scenario.name in wanted:
                        rows.append(bench.measure(scenario, "proposed", args.seed))
                alternatives, alternative_notes = measure_alternatives(engine, samples)
            get_runtime(app).dispose()
        finally:
            engine.dispose()
    total_seconds = time.monotonic() - started
    print(
        f"machine: {machine['nproc']} CPUs, {machine['cpu']}, Linux {machine['kernel']}, "
        f"Python {machine['python']}"
    )
    print(f"code: {describe_code()}")
    print(f"schema: {how} in {schema_seconds:.1f} s; other load before the run: {busy:.0%}")
    print(f"seeding: {seed_seconds:.0f} s in all")
    for line in seed_lines + data_lines:
        print(f"  {line}")
    print(
        f"measured: {args.runs} requests per page (at least {args.min_runs}, at most "
        f"{args.budget:g} s) after {args.warmup} warm-up requests; whole run "
        f"{total_seconds / 60:.1f} min"
    )
    print()
    print(render([r for r in rows if r.phase == "product"]))
    proposed = [r for r in rows if r.phase == "proposed"]
    if proposed:
        print()
        print("With the proposed indexes:")
        for line in proposal_lines:
            print(f"  {line}")
        print()
        print(render(proposed, before={(r.role, r.page): r for r in rows if r.phase == "product"}))
    if alternatives:
        print()
        print(
            "Proposed query changes (server time, median of 5 EXPLAIN ANALYZE, with the indexes):"
        )
        for line in alternative_notes:
            print(f"  {line}")
        print()
        print(render_alternatives(alternatives))
    print()
    for row in rows:
        if not row.met:
            print(f"NOT met: [{row.phase}] {row.role} / {row.page}: {row.plan}")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "machine": machine,
                    "code": describe_code(),
                    "seeding": seed_lines,
                    "data": data_lines,
                    "proposals": [asdict(p) for p in PROPOSED],
                    "proposal_builds": proposal_lines,
                    "rows": [asdict(r) for r in rows],
                    "alternatives": [asdict(a) for a in alternatives],
                },
                indent=2,
                ensure_ascii=False,
            )
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
