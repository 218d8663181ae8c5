"""The periodic PAKN report: figures against a hand-computed fixture, the files read back, personal
data kept out, scope, periods, the coordinators' notes, the worker's job and the CLI.

The fixture is the third quarter of 2026 (01/07–30/09) seen on 05/10/2026. Cases are received
at the edges of the period in local time (00:30 on 01/07 is still 30/06 in UTC; 00:10 on 01/10
is still 30/09 in UTC), so a report counting UTC dates would be caught. Expected numbers are
worked out by hand in the comments next to each case.
"""

from __future__ import annotations

import csv
import io
from datetime import UTC, date, datetime, time
from pathlib import Path

import openpyxl
import pytest
from sqlalchemy import func, select

from bot import worker
from cases import report_files, reports
from cases.access import unit_scope
from cases.clock import LOCAL_TZ
from cases.reports import Counts, Period, PeriodError, parse_period, quarter
from handlers import console_reports
from handlers.console import console_state
from models import (
    CaseStatus,
    GeneratedReport,
    MessageKind,
    OutboxMessage,
    OutboxState,
    ReportNote,
    Staff,
    StaffNotice,
    Unit,
)
from tests import console_helpers
from tests.console_helpers import FakeClock, csrf_from, login, logout, page
from tests.delivery_helpers import make_citizen
from tests.factories import make_case

demo = console_helpers.demo

S = CaseStatus
Q3 = quarter(2026, 3)
TODAY = date(2026, 10, 5)
Q3_ARGS = {"kind": "quarter", "year": "2026", "quarter": "3"}
LATE_TITLE = "PAKN trả lời quá hạn trong kỳ và PAKN đang quá hạn"
# Personal data the cases carry, in their contact fields and in the citizen's own text.
NAME, PHONE, EMAIL, ADDRESS = "Nguyễn Văn An", "0912345678", "an.nguyen@example.vn", "12 Tạm Thương"
OTHER_NAME, OTHER_PHONE, OTHER_EMAIL = "Trần Văn Bình", "0987654321", "binh.tran@example.vn"
CONTENT = (
    f"Tôi là {NAME}, nhà ở {ADDRESS}. Ông {OTHER_NAME} (điện thoại {OTHER_PHONE}, thư "
    f"{OTHER_EMAIL}) xây lấn chiếm vỉa hè trước số 7 phố Lò Sũ."
)
PERSONAL = (
    NAME,
    PHONE,
    EMAIL,
    ADDRESS,
    OTHER_NAME,
    OTHER_PHONE,
    OTHER_EMAIL,
    "Tạm Thương",
    "Lò Sũ",
)


def at(day: date, hour: int, minute: int = 0) -> datetime:
    """`hour:minute` local time on `day`, as an aware UTC datetime."""
    return datetime.combine(day, time(hour, minute), LOCAL_TZ).astimezone(UTC)


def _case(session, field: str, received: datetime, due: date, citizen_id=None, **values):
    case = make_case(
        session,
        citizen_id,
        field=field,
        received_at=received,
        title=f"Phản ánh của {NAME}",
        content=CONTENT,
        contact_name=NAME,
        contact_phone=PHONE,
        contact_address=f"{ADDRESS}, Quận Hoàn Kiếm",
        contact_email=EMAIL,
        commit=False,
    )
    case.answer_due_on = due
    case.status = values.pop("status", S.PROCESSING)
    for name, value in values.items():
        setattr(case, name, value)
    session.commit()
    return case


def _answer_message(session, case, state: OutboxState) -> None:
    session.add(
        OutboxMessage(
            citizen_id=case.citizen_id,
            case_id=case.id,
            kind=MessageKind.ANSWER,
            payload={"text": "Trả lời"},
            state=state,
        )
    )
    session.commit()


@pytest.fixture
def cases(demo):
    """The third quarter of 2026, case by case (received / answered / open as of 05/10)."""
    session = demo
    zalo_b = make_citizen(session, "1000000000000000001")
    zalo_i = make_citizen(session, "1000000000000000002")
    made = {}
    # A — SXD, received 01/07 00:30 (30/06 in UTC), answered on time after 10.5 days; 5, yes.
    made["A"] = _case(
        session,
        "XAY-DUNG",
        at(date(2026, 7, 1), 0, 30),
        date(2026, 7, 21),
        status=S.ANSWERED,
        answered_at=at(date(2026, 7, 11), 12, 30),
        rating=5,
        resolved="yes",
        survey_answered_at=at(date(2026, 7, 15), 9),
    )
    # B — SXD, answered 3 days late after 23.0 days; 2, no; its Zalo answer is held.
    made["B"] = _case(
        session,
        "XAY-DUNG",
        at(date(2026, 7, 10), 8),
        date(2026, 7, 30),
        zalo_b.id,
        status=S.ANSWERED,
        answered_at=at(date(2026, 8, 2), 8),
        rating=2,
        resolved="no",
        survey_answered_at=at(date(2026, 8, 5), 9),
    )
    _answer_message(session, made["B"], OutboxState.HELD)
    # C — STNMT (Đất đai), open and 45 days overdue on 05/10.
    made["C"] = _case(session, "DAT-DAI", at(date(2026, 8, 1), 9), date(2026, 8, 21))
    # D — STNMT (Môi trường), received 30/09 23:30 (the last day), open, not yet due.
    made["D"] = _case(session, "MOI-TRUONG", at(date(2026, 9, 30), 23, 30), date(2026, 10, 20))
    # E — SGTVT, received 01/10 00:10 (30/09 in UTC): after the period, counted nowhere.
    made["E"] = _case(session, "GIAO-THONG", at(date(2026, 10, 1), 0, 10), date(2026, 10, 21))
    # F — SXD, received in June, answered 05/07 on time after 15.0 days; rated in October.
    made["F"] = _case(
        session,
        "XAY-DUNG",
        at(date(2026, 6, 20), 9),
        date(2026, 7, 10),
        status=S.PUBLISHED,
        answered_at=at(date(2026, 7, 5), 9),
        rating=3,
        resolved="yes",
        survey_answered_at=at(date(2026, 10, 2), 9),
    )
    # G — SXD, received 01/09 and rejected.
    made["G"] = _case(
        session, "XAY-DUNG", at(date(2026, 9, 1), 10), date(2026, 9, 21), status=S.REJECTED
    )
    # H — SGTVT, received in May, still open: 137 days overdue on 05/10.
    made["H"] = _case(session, "GIAO-THONG", at(date(2026, 5, 1), 9), date(2026, 5, 21))
    # I — SXD, answered 30/08 23:30 on its due date (16:30 UTC): on time, 20.5625 days; 4,
    # partly; its Zalo answer reached the citizen.
    made["I"] = _case(
        session,
        "XAY-DUNG",
        at(date(2026, 8, 10), 10),
        date(2026, 8, 30),
        zalo_i.id,
        status=S.ANSWERED,
        answered_at=at(date(2026, 8, 30), 23, 30),
        rating=4,
        resolved="partly",
        survey_answered_at=at(date(2026, 9, 2), 9),
    )
    _answer_message(session, made["I"], OutboxState.SENT)
    # J — SXD, received 05/09, answered late on 02/10: after the period.
    made["J"] = _case(
        session,
        "XAY-DUNG",
        at(date(2026, 9, 5), 9),
        date(2026, 9, 25),
        status=S.ANSWERED,
        answered_at=at(date(2026, 10, 2), 9),
    )
    return {key: case.code for key, case in made.items()}


@pytest.fixture
def clock(app) -> FakeClock:
    """The console's clock: 09:00 on 05/10/2026 in Hà Nội."""
    fake = FakeClock(at(TODAY, 9))
    console_state(app).clock = fake
    return fake


def by_name(rows) -> dict[str, Counts]:
    return {row.name: row.counts for row in rows}


# --- figures -----------------------------------------------------------------------------------
def test_figures_match_the_hand_computed_fixture(session, cases):
    figures = reports.compute(session, Q3, None, TODAY)
    total = figures.total

    # Received A B C D G I J; rejected G; answered in Q3: A F I on time, B late.
    assert (total.received, total.rejected) == (7, 1)
    assert (total.answered_on_time, total.answered_late) == (3, 1)
    assert total.on_time_rate == 0.75
    # Open now among those received by 30/09: C D H; overdue: C H.
    assert (total.open, total.late_now) == (3, 2)
    # (10.5 + 23.0 + 15.0 + 20.5625) / 4 and, interpolated, 20.5625 + 0.7 × (23.0 − 20.5625).
    assert total.average_days == pytest.approx(17.265625, abs=1e-6)
    assert figures.p90_days == pytest.approx(22.26875, abs=1e-6)
    assert reports.decimal_text(total.average_days) == "17,3"
    # Surveys answered in Q3: A (5, yes), B (2, no), I (4, partly); F's came in October.
    assert figures.ratings == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}
    assert figures.verdicts == {"yes": 1, "partly": 1, "no": 1}
    assert figures.resolved_rate == pytest.approx(1 / 3)
    # Answers by Zalo in Q3: B (held) and I (sent); A and F had no Zalo citizen.
    assert (figures.answers_by_zalo, figures.answers_undelivered) == (2, 1)
    assert figures.undelivered_share == 0.5

    units = by_name(figures.units)
    assert units["Sở Xây dựng"] == Counts(5, 1, 3, 1, 0, 0, pytest.approx(69.0625, abs=1e-6))
    assert units["Sở Tài nguyên và Môi trường"] == Counts(2, 0, 0, 0, 2, 1, 0.0)
    assert units["Sở Giao thông vận tải"] == Counts(0, 0, 0, 0, 1, 1, 0.0)
    assert units["Sở Y tế"] == Counts()  # every active unit has its row
    assert len(figures.units) == session.scalar(select(func.count()).select_from(Unit))
    fields = by_name(figures.fields)
    assert fields["Đất đai"] == Counts(1, 0, 0, 0, 1, 1, 0.0)
    assert fields["Môi trường"] == Counts(1, 0, 0, 0, 1, 0, 0.0)
    assert fields["Giao thông"] == Counts(0, 0, 0, 0, 1, 1, 0.0)
    assert fields["Xây dựng, trật tự đô thị"].received == 5

    months = [(m.label, m.received, m.answered_on_time, m.answered_late) for m in figures.months]
    assert months == [("07/2026", 2, 2, 0), ("08/2026", 2, 1, 1), ("09/2026", 3, 0, 0)]

    late = [(c.code, c.answered_on, c.days_late) for c in figures.late_cases]
    assert late == [
        (cases["H"], None, 137),
        (cases["B"], date(2026, 8, 2), 3),
        (cases["C"], None, 45),
    ]
    assert figures.late_cases[0].unit == "Sở Giao thông vận tải"
    assert figures.late_cases[0].received_on == date(2026, 5, 1)


def test_a_unit_scope_sees_its_own_cases_only(session, cases):
    handler = session.scalars(select(Staff).where(Staff.username == "canbo.sxd")).one()
    figures = reports.compute(session, Q3, unit_scope(session, handler), TODAY)

    assert (figures.total.received, figures.total.open) == (5, 0)
    assert [row.name for row in figures.units] == ["Sở Xây dựng"]
    assert [row.name for row in figures.fields] == ["Xây dựng, trật tự đô thị"]
    assert [c.code for c in figures.late_cases] == [cases["B"]]
    assert figures.ratings == {5: 1, 4: 1, 3: 0, 2: 1, 1: 0}


def test_percentile_interpolates_like_percentile_cont():
    assert reports.percentile([], 0.9) is None
    assert reports.percentile([4.0], 0.9) == 4.0
    assert reports.percentile([1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0], 0.9) == 9.1


def test_numbers_are_written_the_vietnamese_way():
    assert reports.decimal_text(1234.56) == "1.234,6"
    assert reports.decimal_text(1234, 0) == "1.234"
    assert reports.percent_text(2 / 3) == "66,7%"
    assert reports.percent_text(None) == "—"


# --- periods -----------------------------------------------------------------------------------
def test_periods_and_their_names():
    assert parse_period(Q3_ARGS, TODAY) == Period("quarter", date(2026, 7, 1), date(2026, 9, 30))
    assert Q3.label == "Quý III năm 2026"
    assert reports.half(2026, 1).label == "6 tháng đầu năm 2026"
    assert reports.half(2025, 2).end == date(2025, 12, 31)
    assert reports.whole_year(2025).label == "Năm 2025"
    # A range that is exactly a quarter is that quarter (one note, one name).
    custom = {"kind": "custom", "from": "01/07/2026", "to": "2026-09-30"}
    assert parse_period(custom, TODAY) == Q3
    odd = parse_period({"kind": "custom", "from": "2026-07-15", "to": "2026-08-14"}, TODAY)
    assert odd.label == "Từ ngày 15/07/2026 đến ngày 14/08/2026"
    # Nothing chosen: the current quarter.
    assert parse_period({}, TODAY) == quarter(2026, 4)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        ({"kind": "tuan"}, "Loại kỳ báo cáo không hợp lệ."),
        ({"kind": "quarter", "year": "20x6", "quarter": "3"}, "Năm báo cáo không hợp lệ"),
        ({"kind": "quarter", "year": "2026", "quarter": "5"}, "Quý không hợp lệ"),
        ({"kind": "half", "year": "2026", "half": "3"}, "Kỳ 6 tháng không hợp lệ"),
        ({"kind": "custom", "from": "31/02/2026", "to": "2026-09-30"}, "Ngày bắt đầu không hợp lệ"),
        ({"kind": "custom", "from": "2026-07-01", "to": ""}, "Ngày kết thúc không hợp lệ"),
        ({"kind": "custom", "from": "2026-09-30", "to": "2026-07-01"}, "phải trùng hoặc sau"),
        ({"kind": "custom", "from": "2019-01-01", "to": "2026-07-01"}, "tối đa 5 năm"),
        ({"kind": "quarter", "year": "2026", "quarter": "4"}, None),  # started on 01/10
        ({"kind": "custom", "from": "2026-10-06", "to": "2026-10-31"}, "chưa bắt đầu"),
    ],
)
def test_invalid_periods_are_refused_in_vietnamese(client, demo, clock, args, message):
    if message is None:
        assert parse_period(args, TODAY).start == date(2026, 10, 1)
        return
    with pytest.raises(PeriodError, match=message):
        parse_period(args, TODAY)

    login(client, "coordinator")
    response = client.get("/admin/reports", query_string=args)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert message in html
    for name in ("year", "from", "to"):  # what was typed is shown again
        assert not args.get(name) or f'value="{args[name]}"' in html
    assert client.get("/admin/reports/export", query_string=args).status_code == 422


def test_completed_periods_for_the_worker():
    assert reports.completed_periods(date(2026, 10, 1), 31) == [Q3]
    assert reports.completed_periods(date(2026, 9, 30), 31) == []
    assert reports.completed_periods(date(2027, 1, 1), 31) == [
        quarter(2026, 4),
        reports.half(2026, 2),
        reports.whole_year(2026),
    ]


# --- the dashboard -----------------------------------------------------------------------------
@pytest.mark.parametrize("role", ["coordinator", "handler", "leader"])
def test_case_staff_open_the_dashboard_from_the_menu(client, cases, clock, role):
    login(client, role)

    assert 'href="/admin/reports"' in page(client, "/admin/")
    html = page(client, "/admin/reports?kind=quarter&year=2026&quarter=3")
    assert "Quý III năm 2026" in html
    assert html.count('<svg class="chart"') == 6
    assert html.count("<table") >= 6  # a table under every chart
    assert "<script" not in html


def test_bars_are_scaled_to_the_largest_figure():
    chart = console_reports.bar_chart(
        "c",
        "Thử",
        [console_reports.Series("Tiếp nhận", "#111"), console_reports.Series("Quá hạn", "#222")],
        [
            ("Sở Tài nguyên và Môi trường thành phố Hà Nội", [40, 10], None),
            ("Sở Y tế", [0, 20], None),
        ],
    )

    widths = [[bar.width for bar in row.bars] for row in chart.rows]
    assert widths == [[console_reports.BAR_MAX, console_reports.BAR_MAX // 4], [0, 200]]
    assert [bar.text for bar in chart.rows[0].bars] == ["40", "10"]
    assert chart.rows[0].label.endswith("…") and chart.rows[1].label == "Sở Y tế"
    assert [item.name for item in chart.legend] == ["Tiếp nhận", "Quá hạn"]
    assert chart.rows[1].bars[0].y > chart.rows[0].bars[1].y  # rows do not overlap


def test_admin_without_a_case_role_is_refused(client, demo, clock):
    login(client, "admin")

    assert client.get("/admin/reports").status_code == 403
    assert client.get("/admin/reports/export?format=csv").status_code == 403
    assert 'href="/admin/reports"' not in page(client, "/admin/")


def test_anonymous_visitors_are_sent_to_login(client, demo):
    response = client.get("/admin/reports")

    assert response.status_code == 302
    assert response.headers["Location"].startswith("/admin/login?next=")


def test_the_dashboard_shows_the_unit_scope(client, cases, clock):
    login(client, "handler")
    handler = page(client, "/admin/reports?kind=quarter&year=2026&quarter=3")
    logout(client)
    login(client, "coordinator")
    coordinator = page(client, "/admin/reports?kind=quarter&year=2026&quarter=3")

    assert "Phạm vi số liệu: Sở Xây dựng." in handler
    assert "Sở Tài nguyên và Môi trường" not in handler
    assert cases["B"] in handler and cases["H"] not in handler
    assert "Phạm vi số liệu: Tất cả đơn vị." in coordinator
    assert cases["H"] in coordinator and "Sở Tài nguyên và Môi trường" in coordinator
    assert "Báo cáo đã lập" in coordinator and "Báo cáo đã lập" not in handler
    for html in (handler, coordinator):
        assert not any(value in html for value in PERSONAL)


# --- the files ---------------------------------------------------------------------------------
def _xlsx(client, args=Q3_ARGS):
    response = client.get("/admin/reports/export", query_string={**args, "format": "xlsx"})
    assert response.status_code == 200
    assert response.mimetype == report_files.FORMATS["xlsx"]
    assert "bao-cao-pakn-quy-3-2026.xlsx" in response.headers["Content-Disposition"]
    return openpyxl.load_workbook(io.BytesIO(response.data))


def _csv(client, args=Q3_ARGS) -> tuple[bytes, list[list[str]]]:
    response = client.get("/admin/reports/export", query_string={**args, "format": "csv"})
    assert response.status_code == 200
    assert response.headers["Content-Security-Policy"] == "default-src 'none'; sandbox"
    return response.data, list(csv.reader(io.StringIO(response.data.decode("utf-8-sig"))))


def _values(sheet) -> dict[str, object]:
    """The two-column rows of a sheet as {label: value}."""
    return {row[0]: row[1] for row in sheet.iter_rows(values_only=True) if row[0] and len(row) > 1}


def _table(rows, title: str) -> list[list]:
    """The rows of the table titled `title` (header first), up to the empty line after it."""
    start = next(n for n, row in enumerate(rows) if row and row[0] == title) + 1
    end = next((n for n in range(start, len(rows)) if not any(rows[n])), len(rows))
    return [list(row) for row in rows[start:end]]


def test_the_excel_report_reads_back(client, cases, clock):
    login(client, "coordinator")
    workbook = _xlsx(client)

    assert workbook.sheetnames == [
        "Tổng hợp",
        "Theo đơn vị",
        "Theo lĩnh vực",
        "PAKN trễ hạn",
        "Khó khăn và đề xuất",
    ]
    summary = workbook["Tổng hợp"]
    assert summary["A1"].value.startswith("BÁO CÁO TÌNH HÌNH TIẾP NHẬN")
    assert "Quý III năm 2026 (01/07/2026 – 30/09/2026)" in summary["A2"].value
    values = _values(summary)
    assert values["Tổng số PAKN tiếp nhận trong kỳ"] == 7
    assert values["– Trả lời đúng hạn"] == 3
    assert values["– Trả lời quá hạn"] == 1
    assert values["Tỷ lệ trả lời đúng hạn"] == 0.75
    assert values["Trong đó: quá hạn"] == 2
    assert values["Thời gian xử lý trung bình (ngày, từ tiếp nhận đến trả lời)"] == 17.3
    assert values["90% số PAKN được trả lời trong vòng (ngày)"] == 22.3
    assert values["Tỷ lệ trả lời chưa đến được người dân"] == 0.5
    header = next(row for row in summary.iter_rows() if row[0].value == "Chỉ tiêu")
    assert header[0].font.bold and header[1].font.bold
    assert summary.column_dimensions["A"].width >= 60

    units = list(workbook["Theo đơn vị"].iter_rows(values_only=True))
    table = _table(units, "Số liệu theo đơn vị xử lý")
    assert table[0][:4] == ["Đơn vị", "Tiếp nhận", "Từ chối tiếp nhận", "Trả lời đúng hạn"]
    sxd = next(row for row in table if row[0] == "Sở Xây dựng")
    assert sxd[1:8] == [5, 1, 3, 1, 0.75, 0, 0]
    assert table[-1][:2] == ["Tổng cộng", 7]

    late = _table(list(workbook["PAKN trễ hạn"].iter_rows(values_only=True)), LATE_TITLE)
    assert [row[0] for row in late[1:]] == [cases["H"], cases["B"], cases["C"]]
    b_row = late[2]
    assert b_row[3].date() == date(2026, 7, 10) and b_row[6] == 3
    assert late[1][5] == "Chưa trả lời"


def test_the_csv_report_parses_back(client, cases, clock):
    login(client, "coordinator")
    raw, rows = _csv(client)

    assert raw.startswith(b"\xef\xbb\xbf")  # UTF-8 BOM: Excel reads the diacritics
    indicators = dict(row for row in _table(rows, "Số liệu tổng hợp")[1:])
    assert indicators["Tổng số PAKN tiếp nhận trong kỳ"] == "7"
    assert indicators["Tỷ lệ trả lời đúng hạn"] == "75,0%"
    assert indicators["Thời gian xử lý trung bình (ngày, từ tiếp nhận đến trả lời)"] == "17,3"
    assert indicators["Tỷ lệ đã giải quyết (theo đánh giá của người dân)"] == "33,3%"
    months = _table(rows, "Theo tháng")
    assert months[1:] == [
        ["07/2026", "2", "2", "0"],
        ["08/2026", "2", "1", "1"],
        ["09/2026", "3", "0", "0"],
    ]
    fields = _table(rows, "Số liệu theo lĩnh vực")
    assert ["Đất đai", "1", "0", "0", "0", "—", "1", "1", "—"] in [
        [cell or "—" for cell in row] for row in fields
    ]
    late = _table(rows, LATE_TITLE)
    assert late[1] == [
        cases["H"],
        "Giao thông",
        "Sở Giao thông vận tải",
        "01/05/2026",
        "21/05/2026",
        "Chưa trả lời",
        "137",
    ]
    assert _table(rows, "Khó khăn, vướng mắc và đề xuất") == [["(Chưa có nội dung.)"]]


@pytest.mark.parametrize("role", ["handler", "leader", "coordinator"])
def test_no_export_contains_personal_data(client, cases, clock, role, session):
    note = (
        f"Ông {OTHER_NAME} gọi số {OTHER_PHONE}, thư {OTHER_EMAIL}, phản ánh nhiều lần; "
        "đề nghị bổ sung biên chế."
    )
    coordinator = session.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    reports.save_note(session, Q3, note, coordinator.id, at(TODAY, 8))
    session.commit()
    login(client, role)

    raw, rows = _csv(client)
    text = raw.decode("utf-8-sig")
    cells = [
        str(value)
        for sheet in _xlsx(client).worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    ]
    assert cases["B"] in text and cases["B"] in cells  # the late list is there...
    for value in PERSONAL:  # ...but no name, phone, e-mail, address or citizen text
        assert value not in text, value
        assert not any(value in cell for cell in cells), value
    assert "đề nghị bổ sung biên chế" in text  # the note itself, redacted


def test_a_unit_export_holds_the_unit_only(client, cases, clock):
    login(client, "handler")
    _raw, rows = _csv(client)

    units = _table(rows, "Số liệu theo đơn vị xử lý")
    assert [row[0] for row in units[1:]] == ["Sở Xây dựng", "Tổng cộng"]
    assert [row[0] for row in _table(rows, LATE_TITLE)[1:]] == [cases["B"]]
    assert any("Phạm vi: Sở Xây dựng" in row[0] for row in rows if row)


def test_text_that_looks_like_a_formula_stays_text(client, cases, clock, session):
    coordinator = session.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    reports.save_note(
        session, Q3, '=HYPERLINK("http://x.example","bấm")', coordinator.id, at(TODAY, 8)
    )
    session.commit()
    login(client, "coordinator")

    cell = _xlsx(client)["Khó khăn và đề xuất"]["A2"]
    assert cell.data_type == "s" and cell.value.startswith("=HYPERLINK")
    _raw, rows = _csv(client)
    assert _table(rows, "Khó khăn, vướng mắc và đề xuất")[0][0].startswith("'=HYPERLINK")


def test_an_unknown_format_is_refused(client, cases, clock):
    login(client, "coordinator")
    response = client.get("/admin/reports/export", query_string={**Q3_ARGS, "format": "pdf"})

    assert response.status_code == 422
    assert "Định dạng tệp không hợp lệ" in response.get_data(as_text=True)


# --- the coordinators' notes -------------------------------------------------------------------
def _post_note(client, text: str, args=Q3_ARGS, **extra):
    form = {**args, "text": text, "csrf_token": csrf_from(client, "/admin/reports"), **extra}
    return client.post("/admin/reports/note", data=form)


def test_coordinators_write_the_difficulties_and_proposals(client, cases, clock, session):
    login(client, "coordinator")
    response = _post_note(client, "  Thiếu cán bộ xử lý đất đai.\r\nĐề nghị bổ sung.  ")

    assert response.status_code == 302
    assert response.headers["Location"].endswith("/admin/reports?kind=quarter&year=2026&quarter=3")
    note = session.scalars(select(ReportNote)).one()
    coordinator = session.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    assert (note.period_kind, note.period_start, note.period_end) == ("quarter", Q3.start, Q3.end)
    assert note.text == "Thiếu cán bộ xử lý đất đai.\nĐề nghị bổ sung."
    assert note.updated_by_id == coordinator.id and note.updated_at == clock.now
    html = page(client, "/admin/reports?kind=quarter&year=2026&quarter=3")
    assert "Đã lưu mục “Khó khăn, vướng mắc và đề xuất” của kỳ Quý III năm 2026." in html
    assert "Thiếu cán bộ xử lý đất đai." in html
    _raw, rows = _csv(client)
    assert _table(rows, "Khó khăn, vướng mắc và đề xuất") == [
        ["Thiếu cán bộ xử lý đất đai.\nĐề nghị bổ sung."]
    ]

    _post_note(client, "Đã bổ sung cán bộ.")  # a second save replaces the text
    session.expire_all()
    assert [n.text for n in session.scalars(select(ReportNote))] == ["Đã bổ sung cán bộ."]


def test_a_too_long_note_is_refused_and_kept_on_the_page(client, cases, clock, session):
    login(client, "coordinator")
    text = "Khó khăn " * 1200  # 10,800 characters
    response = _post_note(client, text)
    html = response.get_data(as_text=True)

    assert response.status_code == 422
    assert "vượt quá giới hạn 10.000 ký tự" in html
    assert text.strip() in html  # nothing typed is lost
    assert session.scalar(select(func.count()).select_from(ReportNote)) == 0


def test_only_coordinators_write_notes(client, cases, clock, session):
    login(client, "handler")

    assert _post_note(client, "Ý kiến của đơn vị.").status_code == 403
    response = client.post("/admin/reports/note", data={**Q3_ARGS, "text": "Không có CSRF"})
    assert response.status_code == 400
    assert session.scalar(select(func.count()).select_from(ReportNote)) == 0


def test_the_note_escapes_what_was_written(client, cases, clock):
    login(client, "coordinator")
    _post_note(client, console_helpers.XSS)

    html = page(client, "/admin/reports?kind=quarter&year=2026&quarter=3")
    assert console_helpers.XSS not in html and "&lt;script&gt;" in html


# --- stored reports: the worker's job, the coordinators' copies ---------------------------------
def _run_job(app, monkeypatch, moment: datetime):
    monkeypatch.setattr(worker, "utcnow", lambda: moment)
    with app.app_context():
        return worker.period_reports(app)


def test_the_worker_stores_each_period_report_once(app, client, cases, clock, session, monkeypatch):
    assert "period-report" in {job.id for job in worker.jobs(app.config)}
    # 01/10 07:00, before the daily hour (08:00): nothing yet.
    assert _run_job(app, monkeypatch, at(date(2026, 10, 1), 7)) is False
    assert session.scalar(select(func.count()).select_from(GeneratedReport)) == 0

    assert _run_job(app, monkeypatch, at(date(2026, 10, 1), 9)) == 1  # Q3 just ended
    assert _run_job(app, monkeypatch, at(date(2026, 10, 1), 10)) == 0  # not again
    assert _run_job(app, monkeypatch, at(date(2026, 10, 2), 9)) == 0

    stored = session.scalars(select(GeneratedReport)).one()
    assert (stored.period_kind, stored.period_start, stored.period_end) == (
        "quarter",
        Q3.start,
        Q3.end,
    )
    assert stored.generated_by_id is None
    path = Path(stored.file_path)
    assert path.is_file() and path.is_relative_to(Path(app.config["STORAGE_DIR"]).resolve())
    workbook = openpyxl.load_workbook(path)
    assert _values(workbook["Tổng hợp"])["Tổng số PAKN tiếp nhận trong kỳ"] == 7
    notices = session.scalars(select(StaffNotice).where(StaffNotice.kind == "period_report")).all()
    assert [(n.role, n.title) for n in notices] == [
        ("coordinator", "Đã lập báo cáo PAKN Quý III năm 2026")
    ]
    assert "7 PAKN tiếp nhận" in notices[0].body

    # The coordinators download it from the dashboard; unit staff may not.
    login(client, "coordinator")
    html = page(client, "/admin/reports")
    assert "Hệ thống (tự động cuối kỳ)" in html
    response = client.get(f"/admin/reports/files/{stored.id}")
    assert response.status_code == 200 and response.data == path.read_bytes()
    logout(client)
    login(client, "handler")
    assert client.get(f"/admin/reports/files/{stored.id}").status_code == 403


def test_the_year_end_brings_the_quarter_half_and_year_reports(app, cases, session, monkeypatch):
    assert _run_job(app, monkeypatch, at(date(2027, 1, 1), 9)) == 3
    assert _run_job(app, monkeypatch, at(date(2027, 1, 1), 12)) == 0

    kinds = sorted(session.scalars(select(GeneratedReport.period_kind)))
    assert kinds == ["half", "quarter", "year"]
    assert (
        session.scalar(
            select(func.count()).select_from(StaffNotice).where(StaffNotice.kind == "period_report")
        )
        == 3
    )


def test_coordinators_archive_a_copy_with_their_note(client, cases, clock, session):
    login(client, "coordinator")
    _post_note(client, "Đề nghị tăng cường phối hợp giữa các sở.")
    form = {**Q3_ARGS, "csrf_token": csrf_from(client, "/admin/reports")}

    response = client.post("/admin/reports/archive", data=form)

    assert response.status_code == 302
    stored = session.scalars(select(GeneratedReport)).one()
    coordinator = session.scalars(select(Staff).where(Staff.username == "dieuphoi")).one()
    assert stored.generated_by_id == coordinator.id and stored.dedup_key is None
    workbook = openpyxl.load_workbook(
        io.BytesIO(client.get(f"/admin/reports/files/{stored.id}").data)
    )
    assert workbook["Khó khăn và đề xuất"]["A2"].value == "Đề nghị tăng cường phối hợp giữa các sở."
    assert "Trần Thị Mai" in page(client, "/admin/reports")  # who archived it


def test_a_stored_file_outside_the_storage_folder_is_not_served(
    client, cases, clock, session, tmp_path
):
    outside = tmp_path / "elsewhere.xlsx"
    outside.write_bytes(b"PK")
    row = GeneratedReport(
        period_kind="quarter",
        period_start=Q3.start,
        period_end=Q3.end,
        file_path=str(outside),
        file_name="x.xlsx",
        generated_at=at(TODAY, 8),
    )
    session.add(row)
    session.commit()
    login(client, "coordinator")

    assert client.get(f"/admin/reports/files/{row.id}").status_code == 404
    assert client.get("/admin/reports/files/999999").status_code == 404


# --- the command line --------------------------------------------------------------------------
def _report_command(app, *args: str):
    return app.test_cli_runner().invoke(args=["report", *args])


def test_the_report_command_writes_the_file(app, cases, tmp_path):
    out, csv_out = tmp_path / "bao-cao.xlsx", tmp_path / "bao-cao.csv"
    q3 = ("--from", "2026-07-01", "--to", "2026-09-30")

    result = _report_command(app, *q3, "--format", "xlsx", "--out", str(out))

    assert result.exit_code == 0, result.output
    assert "Quý III năm 2026" in result.output
    values = _values(openpyxl.load_workbook(out)["Tổng hợp"])
    assert values["Tổng số PAKN tiếp nhận trong kỳ"] == 7
    result = _report_command(app, *q3, "--format", "csv", "--out", str(csv_out))
    assert result.exit_code == 0, result.output
    content = csv_out.read_bytes()
    assert content.startswith(b"\xef\xbb\xbf")
    assert content.decode("utf-8-sig").startswith('"BÁO CÁO TÌNH HÌNH TIẾP NHẬN')


def test_the_report_command_refuses_a_bad_period(app, demo, tmp_path):
    out = tmp_path / "x.xlsx"
    result = _report_command(app, "--from", "2026-09-30", "--to", "2026-07-01", "--out", str(out))

    assert result.exit_code != 0
    assert "Ngày kết thúc phải trùng hoặc sau ngày bắt đầu." in result.output
    assert not out.exists()
