"""The periodic PAKN report as files — an Excel workbook and a CSV — and the stored reports.

Both formats are written from one description of the report (`sheets`): the sheets "Tổng hợp",
"Theo đơn vị", "Theo lĩnh vực", "PAKN trễ hạn" and "Khó khăn và đề xuất", each a list of titled
tables. The workbook gives every table a bold header row and every sheet column widths; numbers,
shares and dates are real cells with a display format. The CSV is one file with the same tables
one after another (title line, header, rows, an empty line), UTF-8 with a BOM so that Excel reads
Vietnamese correctly; decimals are written as Vietnamese write them ("12,5").

The report holds no personal data: no names, phones, e-mails or addresses and no citizen text
(`cases.reports` selects none); the coordinators' "difficulties and proposals" go through
`cases.redaction.redact` in case they quote a citizen. Text that a spreadsheet would run as a
formula is written as text.

`generate_due_reports` is the worker's job: after each quarter, half-year and year it stores the
report of the period just ended once (a unique key per period, claimed before the file is
written) and tells the coordinators with a staff notice. `store_report` also keeps a copy that a
coordinator chose to archive.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font, PatternFill
from openpyxl.utils import get_column_letter
from sqlalchemy import update
from sqlalchemy.orm import Session

from cases.clock import format_date, format_datetime, local_date
from cases.notices import post_notice
from cases.redaction import redact
from cases.reports import (
    ALL_UNITS,
    RATING_LABELS,
    RATINGS,
    VERDICT_LABELS,
    VERDICTS,
    Counts,
    Figures,
    Period,
    completed_periods,
    compute,
    decimal_text,
    note_for,
    percent_text,
)
from models import GeneratedReport
from models.db import insert_for

XLSX = "xlsx"
CSV = "csv"
FORMATS = {
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    CSV: "text/csv; charset=utf-8",
}
REPORTS_FOLDER = "reports"
# A worker that was down at a period's end still makes its report within this many days.
CATCH_UP_DAYS = 31
TITLE = "BÁO CÁO TÌNH HÌNH TIẾP NHẬN, XỬ LÝ PHẢN ÁNH, KIẾN NGHỊ"
NOTE_TITLE = "Khó khăn, vướng mắc và đề xuất"
NO_NOTE = "(Chưa có nội dung.)"
NOT_ANSWERED = "Chưa trả lời"
NOTICE_TITLE = "Đã lập báo cáo PAKN {label}"
NOTICE_BODY = (
    "Báo cáo tình hình tiếp nhận, xử lý PAKN {label} ({dates}) đã được lập tự động: "
    "{received} PAKN tiếp nhận; {answered} đã trả lời ({on_time} đúng hạn, {late} quá hạn); "
    "{open} đang xử lý, trong đó {late_now} quá hạn.\n"
    "Tải báo cáo tại trang Báo cáo, thống kê. Đề nghị cán bộ đầu mối bổ sung mục "
    "“Khó khăn, vướng mắc và đề xuất” rồi lưu bản báo cáo chính thức."
)
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
HEADER_FILL = PatternFill("solid", fgColor="DDE5F0")


class Days(float):
    """A number of days, shown with one decimal."""


class Share(float):
    """A share (0–1), shown as a percentage with one decimal."""


@dataclass(frozen=True)
class Table:
    """A titled table: a header row (may be empty) and rows of cells."""

    title: str
    header: Sequence[str]
    rows: list[list[object]]
    widths: Sequence[int] = ()


@dataclass(frozen=True)
class Sheet:
    """A worksheet of the workbook (a run of sections in the CSV)."""

    name: str
    tables: list[Table]


def _days(value: float | None) -> Days | None:
    return None if value is None else Days(round(value, 1))


def _share(value: float | None) -> Share | None:
    return None if value is None else Share(value)


COUNT_HEADER = (
    "Tiếp nhận",
    "Từ chối tiếp nhận",
    "Trả lời đúng hạn",
    "Trả lời quá hạn",
    "Tỷ lệ đúng hạn",
    "Đang xử lý",
    "Trong đó quá hạn",
    "Thời gian xử lý trung bình (ngày)",
)
COUNT_WIDTHS = (12, 12, 14, 14, 12, 12, 12, 18)


def _count_cells(counts: Counts) -> list[object]:
    return [
        counts.received,
        counts.rejected,
        counts.answered_on_time,
        counts.answered_late,
        _share(counts.on_time_rate),
        counts.open,
        counts.late_now,
        _days(counts.average_days),
    ]


def _summary(figures: Figures, scope: str, generated_at: datetime) -> Sheet:
    total = figures.total
    head = Table(
        TITLE,
        (),
        [
            [f"Kỳ báo cáo: {figures.period.label} ({figures.period.dates})"],
            [f"Phạm vi: {scope}"],
            [
                "Số PAKN đang xử lý, quá hạn tính đến ngày "
                f"{format_date(figures.today)}; lập lúc {format_datetime(generated_at)}."
            ],
        ],
    )
    indicators = Table(
        "Số liệu tổng hợp",
        ("Chỉ tiêu", "Số liệu"),
        [
            ["Tổng số PAKN tiếp nhận trong kỳ", total.received],
            ["Trong đó: từ chối tiếp nhận (không đủ điều kiện xử lý)", total.rejected],
            ["Số PAKN đã trả lời trong kỳ", total.answered],
            ["– Trả lời đúng hạn", total.answered_on_time],
            ["– Trả lời quá hạn", total.answered_late],
            ["Tỷ lệ trả lời đúng hạn", _share(total.on_time_rate)],
            ["Số PAKN đang xử lý", total.open],
            ["Trong đó: quá hạn", total.late_now],
            [
                "Thời gian xử lý trung bình (ngày, từ tiếp nhận đến trả lời)",
                _days(total.average_days),
            ],
            ["90% số PAKN được trả lời trong vòng (ngày)", _days(figures.p90_days)],
            ["Số trả lời gửi người dân qua Zalo trong kỳ", figures.answers_by_zalo],
            ["Trong đó: chưa đến được người dân", figures.answers_undelivered],
            ["Tỷ lệ trả lời chưa đến được người dân", _share(figures.undelivered_share)],
            ["Số ý kiến đánh giá của người dân trong kỳ", figures.surveys],
            ["Tỷ lệ đã giải quyết (theo đánh giá của người dân)", _share(figures.resolved_rate)],
        ],
        (62, 16),
    )
    months = Table(
        "Theo tháng",
        ("Tháng", "Tiếp nhận", "Trả lời đúng hạn", "Trả lời quá hạn"),
        [[m.label, m.received, m.answered_on_time, m.answered_late] for m in figures.months],
        (62, 16, 16, 16),
    )
    rated = sum(figures.ratings.values())
    ratings = Table(
        "Mức độ hài lòng của người dân",
        ("Mức độ", "Số ý kiến", "Tỷ lệ"),
        [
            [
                RATING_LABELS[r],
                figures.ratings[r],
                _share(figures.ratings[r] / rated if rated else None),
            ]
            for r in RATINGS
        ],
        (62, 16, 16),
    )
    verdicts = Table(
        "Kết quả giải quyết theo đánh giá của người dân",
        ("Đánh giá", "Số ý kiến", "Tỷ lệ"),
        [
            [
                VERDICT_LABELS[v],
                figures.verdicts[v],
                _share(figures.verdicts[v] / figures.surveys if figures.surveys else None),
            ]
            for v in VERDICTS
        ],
        (62, 16, 16),
    )
    return Sheet("Tổng hợp", [head, indicators, months, ratings, verdicts])


def _by(name: str, title: str, column: str, figures: Figures, rows) -> Sheet:
    body = [[row.name, *_count_cells(row.counts)] for row in rows]
    body.append(["Tổng cộng", *_count_cells(figures.total)])
    return Sheet(name, [Table(title, (column, *COUNT_HEADER), body, (40, *COUNT_WIDTHS))])


def _late(figures: Figures) -> Sheet:
    rows: list[list[object]] = [
        [
            case.code,
            case.field,
            case.unit,
            case.received_on,
            case.due_on,
            case.answered_on or NOT_ANSWERED,
            case.days_late,
        ]
        for case in figures.late_cases
    ]
    if not rows:
        rows = [["Không có PAKN trễ hạn."]]
    header = (
        "Mã PAKN",
        "Lĩnh vực",
        "Đơn vị xử lý",
        "Ngày tiếp nhận",
        "Hạn trả lời",
        "Ngày trả lời",
        "Số ngày trễ hạn",
    )
    title = "PAKN trả lời quá hạn trong kỳ và PAKN đang quá hạn"
    return Sheet("PAKN trễ hạn", [Table(title, header, rows, (22, 30, 30, 14, 14, 14, 14))])


def sheets(figures: Figures, scope: str, note: str, generated_at: datetime) -> list[Sheet]:
    """The whole report, sheet by sheet (the same tables for the workbook and the CSV)."""
    text = redact(note).strip() or NO_NOTE
    return [
        _summary(figures, scope, generated_at),
        _by("Theo đơn vị", "Số liệu theo đơn vị xử lý", "Đơn vị", figures, figures.units),
        _by("Theo lĩnh vực", "Số liệu theo lĩnh vực", "Lĩnh vực", figures, figures.fields),
        _late(figures),
        Sheet("Khó khăn và đề xuất", [Table(NOTE_TITLE, (), [[text]], (120,))]),
    ]


# --- the workbook ------------------------------------------------------------------------------
def _put(cell, value: object) -> None:
    if value is None:
        cell.value = "—"
    elif isinstance(value, Share):
        cell.value = float(value)
        cell.number_format = "0.0%"
    elif isinstance(value, Days):
        cell.value = float(value)
        cell.number_format = "0.0"
    elif isinstance(value, date):
        cell.value = value
        cell.number_format = "DD/MM/YYYY"
    elif isinstance(value, str):
        cell.value = value
        cell.data_type = "s"  # never a formula, whatever the text starts with
        if "\n" in value:
            cell.alignment = Alignment(wrap_text=True, vertical="top")
    else:
        cell.value = value


def xlsx_bytes(figures: Figures, scope: str, note: str, generated_at: datetime) -> bytes:
    """The report as an Excel workbook."""
    workbook = Workbook()
    workbook.remove(workbook.active)
    workbook.properties.title = f"{TITLE} — {figures.period.label}"
    workbook.properties.creator = "PAKN Bot"
    for sheet in sheets(figures, scope, note, generated_at):
        worksheet = workbook.create_sheet(sheet.name)
        widths: dict[int, int] = {}
        line = 1
        for table in sheet.tables:
            worksheet.cell(line, 1, table.title).font = Font(bold=True, size=12)
            line += 1
            if table.header:
                for column, text in enumerate(table.header, 1):
                    cell = worksheet.cell(line, column, text)
                    cell.font = Font(bold=True)
                    cell.fill = HEADER_FILL
                    cell.alignment = Alignment(wrap_text=True, vertical="center")
                line += 1
            for row in table.rows:
                for column, value in enumerate(row, 1):
                    _put(worksheet.cell(line, column), value)
                line += 1
            line += 1
            for column, width in enumerate(table.widths, 1):
                widths[column] = max(widths.get(column, 0), width)
        for column, width in widths.items():
            worksheet.column_dimensions[get_column_letter(column)].width = width
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


# --- the CSV -----------------------------------------------------------------------------------
def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, Share):
        return percent_text(value)
    if isinstance(value, Days):
        return decimal_text(value)
    if isinstance(value, date):
        return format_date(value)
    text = str(value)
    # A cell starting like a formula is run by spreadsheets: make it plain text.
    return f"'{text}" if text.startswith(FORMULA_STARTS) else text


def csv_bytes(figures: Figures, scope: str, note: str, generated_at: datetime) -> bytes:
    """The report as one CSV (UTF-8 with BOM): its tables one after another."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    for sheet in sheets(figures, scope, note, generated_at):
        for table in sheet.tables:
            writer.writerow([table.title])
            if table.header:
                writer.writerow(table.header)
            writer.writerows([_text(value) for value in row] for row in table.rows)
            writer.writerow([])
    return ("\ufeff" + buffer.getvalue()).encode("utf-8")


def file_name(period: Period, fmt: str) -> str:
    """The report's file name: "bao-cao-pakn-quy-3-2026.xlsx"."""
    return f"bao-cao-pakn-{period.slug}.{fmt}"


def render(figures: Figures, scope: str, note: str, generated_at: datetime, fmt: str) -> bytes:
    """The report in format `fmt` (XLSX or CSV)."""
    write = xlsx_bytes if fmt == XLSX else csv_bytes
    return write(figures, scope, note, generated_at)


# --- stored reports ----------------------------------------------------------------------------
def _write(storage_dir: Path, report_id: int, name: str, content: bytes) -> Path:
    folder = storage_dir / REPORTS_FOLDER
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{report_id}-{name}"  # the id keeps every stored copy apart
    partial = path.with_name(path.name + ".part")
    partial.write_bytes(content)
    partial.replace(path)  # readers never see half a file
    return path.resolve()


def store_report(
    session: Session,
    period: Period,
    now: datetime,
    storage_dir: Path,
    staff_id: int | None = None,
) -> GeneratedReport | None:
    """Write the all-units report of `period` under `storage_dir` and record it; flushes only.

    The worker (`staff_id` None) first claims the period's key, so a period gets one stored
    report whoever runs the job and however often (None when it already had it); a coordinator's
    archived copy is recorded alongside, as many times as they archive.
    """
    name = file_name(period, XLSX)
    values = {
        "period_kind": period.kind,
        "period_start": period.start,
        "period_end": period.end,
        "file_path": "",
        "file_name": name,
        "generated_at": now,
        "generated_by_id": staff_id,
        "dedup_key": period.key if staff_id is None else None,
    }
    stmt = insert_for(session)(GeneratedReport).values(**values)
    if staff_id is None:
        stmt = stmt.on_conflict_do_nothing(index_elements=[GeneratedReport.dedup_key])
    report_id = session.execute(stmt.returning(GeneratedReport.id)).scalar_one_or_none()
    if report_id is None:
        return None
    figures = compute(session, period, None, local_date(now))
    note = note_for(session, period)
    content = xlsx_bytes(figures, ALL_UNITS, note.text if note else "", now)
    path = _write(storage_dir, report_id, name, content)
    session.execute(
        update(GeneratedReport).where(GeneratedReport.id == report_id).values(file_path=str(path))
    )
    if staff_id is None:
        total = figures.total
        post_notice(
            session,
            "period_report",
            "coordinator",
            NOTICE_TITLE.format(label=period.label),
            NOTICE_BODY.format(
                label=period.label,
                dates=period.dates,
                received=total.received,
                answered=total.answered,
                on_time=total.answered_on_time,
                late=total.answered_late,
                open=total.open,
                late_now=total.late_now,
            ),
            now,
            dedup_key=f"period_report:{period.key}",
        )
    session.flush()
    return session.get(GeneratedReport, report_id)


def generate_due_reports(session: Session, now: datetime, storage_dir: Path) -> int:
    """Store the report of each quarter, half-year and year just ended, once; return how many."""
    periods = completed_periods(local_date(now), CATCH_UP_DAYS)
    return sum(store_report(session, period, now, storage_dir) is not None for period in periods)
