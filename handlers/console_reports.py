"""The reports dashboard under /admin/reports: figures, charts, the report files, the notes.

`/admin/reports` shows a period's figures (`cases.reports.compute`) for the staff member's cases —
coordinators all units, handlers and leaders their unit's (`cases.access.visible_units`); staff
without a case role are refused like on every case page. The period is a quarter, a half-year, a
year or any range of dates; an invalid choice is shown again with the error in Vietnamese (422).
Charts are inline SVG drawn here (no script, nothing from elsewhere: the console's
Content-Security-Policy allows neither), each followed by a table with the same figures.

`/admin/reports/export?format=xlsx|csv` downloads the report of the same period and scope
(`cases.report_files`). Coordinators also write the period's "difficulties and proposals"
(`/admin/reports/note`), archive a copy of the report (`/admin/reports/archive`) and download the
stored reports, including those the worker made at each period's end
(`/admin/reports/files/<id>`, all-units reports: coordinators only).
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from flask import abort, current_app, flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from cases import access
from cases.redaction import redact
from cases.report_files import CSV, FORMATS, XLSX, file_name, render, store_report
from cases.reports import (
    NOTE_MAX_CHARS,
    PERIOD_KINDS,
    RATING_LABELS,
    RATINGS,
    ROMAN,
    VERDICT_LABELS,
    VERDICTS,
    Figures,
    NoteError,
    Period,
    PeriodError,
    compute,
    decimal_text,
    note_for,
    parse_period,
    percent_text,
    save_note,
    scope_label,
)
from handlers.console import console_blueprint, login_required, now, today
from handlers.console_cases import content_disposition
from handlers.console_intake import coordinator_required
from handlers.runtime import db
from models import GeneratedReport, Staff

log = logging.getLogger(__name__)

bp = console_blueprint("console_reports", __name__)

CASE_ROLES = access.ALL_UNITS_ROLES | access.OWN_UNIT_ROLES
LATE_SHOWN = 100
STORED_SHOWN = 20
BAD_FORMAT = "Định dạng tệp không hợp lệ: chọn Excel (.xlsx) hoặc CSV (.csv)."
NOTE_SAVED = "Đã lưu mục “Khó khăn, vướng mắc và đề xuất” của kỳ {label}."
ARCHIVED = "Đã lưu bản báo cáo {label} vào danh sách báo cáo đã lập."
PERIOD_FIELDS = ("kind", "year", "quarter", "half", "from", "to")

# Chart geometry, in SVG user units (static/reports.css scales the drawing to the page).
CHART_WIDTH = 720
LABEL_RIGHT = 224  # labels end here, right-aligned
BAR_LEFT = 232
BAR_MAX = 400
BAR_HEIGHT = 12
BAR_GAP = 2
ROW_GAP = 10
LEGEND_HEIGHT = 26
LABEL_CHARS = 34
BLUE, GREEN, RED, ORANGE, GREY = "#0b5cad", "#2e7d32", "#c62828", "#e65100", "#78909c"
RATING_COLOURS = {5: "#1b5e20", 4: "#43a047", 3: GREY, 2: "#ef6c00", 1: RED}
VERDICT_COLOURS = {"yes": GREEN, "partly": ORANGE, "no": RED}


def case_staff_required(view: Callable) -> Callable:
    """Like `login_required`, and answer 403 to staff without a case role (administrators)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        if not g.staff.role_set & CASE_ROLES:
            log.warning("reports page refused: staff_id=%s path=%s", g.staff.id, request.path)
            abort(403)
        return view(*args, **kwargs)

    return login_required(wrapped)


# --- charts ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Bar:
    """One bar: where it is drawn, its colour, and the figure it stands for."""

    y: int
    width: int
    colour: str
    series: str
    text: str

    @property
    def text_x(self) -> int:
        """Where the figure is written, just after the bar."""
        return BAR_LEFT + self.width + 4


@dataclass(frozen=True)
class ChartRow:
    """A label and its bars (one per series)."""

    label: str
    y: int
    bars: list[Bar]


@dataclass(frozen=True)
class LegendItem:
    """A series' colour swatch and name at the top of the chart."""

    x: int
    colour: str
    name: str


@dataclass(frozen=True)
class Chart:
    """A horizontal bar chart ready to draw."""

    id: str
    title: str
    height: int
    rows: list[ChartRow]
    legend: list[LegendItem]
    width: int = CHART_WIDTH
    label_right: int = LABEL_RIGHT
    bar_left: int = BAR_LEFT
    bar_height: int = BAR_HEIGHT


@dataclass(frozen=True)
class Series:
    """A kind of bar: its name and colour (None: each row gives its own colour)."""

    name: str
    colour: str | None = None


def _short(label: str) -> str:
    return label if len(label) <= LABEL_CHARS else label[: LABEL_CHARS - 1].rstrip() + "…"


def bar_chart(
    chart_id: str,
    title: str,
    series: Sequence[Series],
    rows: Sequence[tuple[str, Sequence[float], Sequence[str] | None]],
    show: Callable[[float], str] = lambda value: decimal_text(value, 0),
) -> Chart:
    """Lay out a horizontal bar chart: `rows` are (label, one value per series, colours or None);
    bars are scaled to the largest value."""
    largest = max((value for _label, values, _colours in rows for value in values), default=0)
    legend, x = [], BAR_LEFT
    if len(series) > 1:
        for item in series:
            legend.append(LegendItem(x, item.colour or GREY, item.name))
            x += 24 + 7 * len(item.name)
    y = LEGEND_HEIGHT if legend else 6
    laid = []
    for label, values, colours in rows:
        bars = []
        for n, (item, value) in enumerate(zip(series, values, strict=True)):
            width = round(BAR_MAX * value / largest) if largest else 0
            colour = colours[n] if colours else item.colour or GREY
            bars.append(Bar(y + n * (BAR_HEIGHT + BAR_GAP), width, colour, item.name, show(value)))
        block = len(bars) * (BAR_HEIGHT + BAR_GAP) - BAR_GAP
        laid.append(ChartRow(_short(label), y + block // 2 + 4, bars))
        y += block + ROW_GAP
    return Chart(chart_id, title, y, laid, legend)


COUNT_SERIES = (
    Series("Tiếp nhận", BLUE),
    Series("Trả lời đúng hạn", GREEN),
    Series("Trả lời quá hạn", RED),
    Series("Đang quá hạn", ORANGE),
)


def charts(figures: Figures) -> dict[str, Chart]:
    """Every chart of the dashboard."""
    total = figures.total
    overview = bar_chart(
        "chart-overview",
        "Tình hình tiếp nhận, xử lý trong kỳ",
        [Series("Số PAKN")],
        [
            ("Tiếp nhận", [total.received], [BLUE]),
            ("Trả lời đúng hạn", [total.answered_on_time], [GREEN]),
            ("Trả lời quá hạn", [total.answered_late], [RED]),
            ("Đang xử lý", [total.open], [GREY]),
            ("Đang quá hạn", [total.late_now], [ORANGE]),
        ],
    )
    months = bar_chart(
        "chart-months",
        "Theo tháng",
        COUNT_SERIES[:3],
        [
            (m.label, [m.received, m.answered_on_time, m.answered_late], None)
            for m in figures.months
        ],
    )

    def by(rows) -> list:
        return [
            (
                row.name,
                [
                    row.counts.received,
                    row.counts.answered_on_time,
                    row.counts.answered_late,
                    row.counts.late_now,
                ],
                None,
            )
            for row in rows
            if not row.counts.is_empty
        ]

    rated = sum(figures.ratings.values())
    return {
        "overview": overview,
        "months": months,
        "units": bar_chart("chart-units", "Theo đơn vị", COUNT_SERIES, by(figures.units)),
        "fields": bar_chart("chart-fields", "Theo lĩnh vực", COUNT_SERIES, by(figures.fields)),
        "ratings": bar_chart(
            "chart-ratings",
            f"Mức độ hài lòng ({rated} ý kiến)",
            [Series("Số ý kiến")],
            [(RATING_LABELS[r], [figures.ratings[r]], [RATING_COLOURS[r]]) for r in RATINGS],
        ),
        "verdicts": bar_chart(
            "chart-verdicts",
            f"Kết quả giải quyết theo đánh giá của người dân ({figures.surveys} ý kiến)",
            [Series("Số ý kiến")],
            [(VERDICT_LABELS[v], [figures.verdicts[v]], [VERDICT_COLOURS[v]]) for v in VERDICTS],
        ),
    }


# --- pages -------------------------------------------------------------------------------------
def _is_coordinator() -> bool:
    return bool(g.staff.role_set & access.ALL_UNITS_ROLES)


def _form_values(period: Period | None, values: Mapping[str, str]) -> dict[str, str]:
    """What the period selector shows: what was typed, else the period's own values."""
    shown = dict(period.as_args()) if period else {}
    shown.update({name: values[name] for name in PERIOD_FIELDS if values.get(name)})
    shown.setdefault("kind", "quarter")
    shown.setdefault("year", str(today().year))
    return shown


def _stored_reports() -> list[tuple[GeneratedReport, Period, str]]:
    rows = db().execute(
        select(GeneratedReport, Staff.full_name)
        .outerjoin(Staff, Staff.id == GeneratedReport.generated_by_id)
        .order_by(GeneratedReport.generated_at.desc(), GeneratedReport.id.desc())
        .limit(STORED_SHOWN)
    )
    return [
        (
            report,
            Period(report.period_kind, report.period_start, report.period_end),
            name or "Hệ thống (tự động cuối kỳ)",
        )
        for report, name in rows
    ]


def _page(
    period: Period | None,
    values: Mapping[str, str],
    status: int = 200,
    error: str | None = None,
    note_error: str | None = None,
    note_text: str | None = None,
):
    session = db()
    scope = access.visible_units(session, g.staff)
    coordinator = _is_coordinator()
    figures = note = None
    if period is not None:
        figures = compute(session, period, scope, today(), late_limit=LATE_SHOWN)
        note = note_for(session, period)
    if note_text is None:
        note_text = note.text if note else ""
    page = render_template(
        "console/reports.html",
        figures=figures,
        charts=charts(figures) if figures else {},
        period=period,
        period_args=period.as_args() if period else {},
        form=_form_values(period, values),
        max_year=today().year,
        kinds=PERIOD_KINDS,
        roman=ROMAN,
        scope=scope_label(session, scope),
        error=error,
        coordinator=coordinator,
        note=note,
        note_text=note_text if coordinator else redact(note_text),
        note_error=note_error,
        note_max=NOTE_MAX_CHARS,
        late_shown=LATE_SHOWN,
        stored=_stored_reports() if coordinator else [],
        number=lambda value: decimal_text(value, 0),
        decimal=decimal_text,
        percent=percent_text,
        rating_labels=RATING_LABELS,
        ratings=RATINGS,
        verdict_labels=VERDICT_LABELS,
        verdicts=VERDICTS,
        formats={XLSX: "Tải báo cáo Excel (.xlsx)", CSV: "Tải báo cáo CSV (.csv)"},
    )
    return page, status


def with_period(view: Callable) -> Callable:
    """Pass the view the period chosen (query string, or form for a POST); an invalid choice is
    answered with the page, its error and what was typed (422)."""

    @functools.wraps(view)
    def wrapped(*args, **kwargs):
        values = request.form if request.method == "POST" else request.args
        try:
            period = parse_period(values, today())
        except PeriodError as error:
            return _page(None, values, 422, error=str(error))
        return view(period, *args, **kwargs)

    return wrapped


@bp.get("/reports")
@case_staff_required
@with_period
def dashboard(period: Period):
    """Show the chosen period's figures and charts (the current quarter by default)."""
    return _page(period, request.args)


@bp.get("/reports/export")
@case_staff_required
@with_period
def export(period: Period):
    """Download the report of the chosen period, for the staff member's units, as xlsx or csv."""
    fmt = request.args.get("format", "")
    if fmt not in FORMATS:
        return _page(period, request.args, 422, error=BAD_FORMAT)
    session = db()
    scope = access.visible_units(session, g.staff)
    figures = compute(session, period, scope, today())
    note = note_for(session, period)
    content = render(figures, scope_label(session, scope), note.text if note else "", now(), fmt)
    log.info(
        "report exported: staff_id=%s period=%s format=%s all_units=%s",
        g.staff.id,
        period.key,
        fmt,
        scope is None,
    )
    return _file(content, FORMATS[fmt], file_name(period, fmt))


def _file(content: bytes, mimetype: str, name: str):
    response = current_app.response_class(content, mimetype=mimetype)
    response.headers["Content-Disposition"] = content_disposition("attachment", name)
    response.headers["Content-Security-Policy"] = "default-src 'none'; sandbox"
    return response


@bp.post("/reports/note")
@coordinator_required
@with_period
def save_report_note(period: Period):
    """Save the period's "difficulties and proposals" (coordinators)."""
    text = request.form.get("text", "")
    try:
        saved = save_note(db(), period, text, g.staff.id, now())
    except NoteError as error:
        db().rollback()
        return _page(period, request.form, 422, note_error=str(error), note_text=text)
    db().commit()
    log.info(
        "report note saved: staff_id=%s period=%s chars=%s", g.staff.id, period.key, len(saved.text)
    )
    flash(NOTE_SAVED.format(label=period.label))
    return redirect(url_for("console_reports.dashboard", **period.as_args()))


@bp.post("/reports/archive")
@coordinator_required
@with_period
def archive(period: Period):
    """Store a copy of the period's all-units report in the list of reports (coordinators)."""
    storage = Path(current_app.config["STORAGE_DIR"])
    report = store_report(db(), period, now(), storage, staff_id=g.staff.id)
    db().commit()
    log.info(
        "report archived: staff_id=%s period=%s report_id=%s",
        g.staff.id,
        period.key,
        report.id if report else None,
    )
    flash(ARCHIVED.format(label=period.label))
    return redirect(url_for("console_reports.dashboard", **period.as_args()))


@bp.get("/reports/files/<int:report_id>")
@coordinator_required
def stored_file(report_id: int):
    """Serve a stored report (all units: coordinators only)."""
    report = db().get(GeneratedReport, report_id)
    if report is None or not report.file_path:
        abort(404)
    root = Path(current_app.config["STORAGE_DIR"]).resolve()
    path = Path(report.file_path).resolve()
    # Serve only files inside the storage folder, whatever a row says.
    if not path.is_relative_to(root) or not path.is_file():
        abort(404)
    log.info("stored report served: staff_id=%s report_id=%s", g.staff.id, report.id)
    return _file(path.read_bytes(), FORMATS[XLSX], report.file_name)
