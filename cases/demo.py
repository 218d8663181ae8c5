"""Demo and reference data: a city's units, the usual fields (lĩnh vực), one account per role,
and a handful of frequently asked questions for the bot.

Both entry points are idempotent: rows are looked up by their code or username and only missing
ones are created, so running them again changes nothing (and never overwrites what an
administrator edited). Nothing here commits; the caller does.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from cases.staff import create_staff
from models import Faq, Field, Staff, Unit


@dataclass(frozen=True)
class DemoUnit:
    """A unit of the demo city; `parent` is the parent unit's code."""

    code: str
    name: str
    parent: str | None = None
    is_coordinator: bool = False


@dataclass(frozen=True)
class DemoField:
    """A field (lĩnh vực) with the code of the unit that receives it by default."""

    code: str
    name: str
    unit: str


@dataclass(frozen=True)
class DemoAccount:
    """A demo staff account and its (public, fixed) password."""

    username: str
    password: str
    roles: str
    full_name: str
    unit_code: str


# Parents come before their children so one pass can resolve `parent`.
UNITS = (
    DemoUnit("VP-UBND", "Văn phòng UBND thành phố", is_coordinator=True),
    DemoUnit("SXD", "Sở Xây dựng", "VP-UBND"),
    DemoUnit("STNMT", "Sở Tài nguyên và Môi trường", "VP-UBND"),
    DemoUnit("SGTVT", "Sở Giao thông vận tải", "VP-UBND"),
    DemoUnit("SYT", "Sở Y tế", "VP-UBND"),
    DemoUnit("SGDDT", "Sở Giáo dục và Đào tạo", "VP-UBND"),
    DemoUnit("Q-HK", "Quận Hoàn Kiếm", "VP-UBND"),
    DemoUnit("Q-BD", "Quận Ba Đình", "VP-UBND"),
    DemoUnit("P-HB", "Phường Hàng Bạc", "Q-HK"),
    DemoUnit("P-DB", "Phường Điện Biên", "Q-BD"),
)

FIELDS = (
    DemoField("DAT-DAI", "Đất đai", "STNMT"),
    DemoField("XAY-DUNG", "Xây dựng, trật tự đô thị", "SXD"),
    DemoField("GIAO-THONG", "Giao thông", "SGTVT"),
    DemoField("MOI-TRUONG", "Môi trường", "STNMT"),
    DemoField("Y-TE", "Y tế", "SYT"),
    DemoField("GIAO-DUC", "Giáo dục", "SGDDT"),
    DemoField("HO-TICH", "Hộ tịch, cư trú", "VP-UBND"),
    DemoField("THU-TUC", "Thủ tục hành chính", "VP-UBND"),
    DemoField("KHAC", "Lĩnh vực khác", "VP-UBND"),
)

# The passwords are public on purpose: this is demo data, never production data.
ACCOUNTS = (
    DemoAccount("admin", "demo-admin-2026", "admin", "Quản trị viên hệ thống", "VP-UBND"),
    DemoAccount("dieuphoi", "demo-coordinator-2026", "coordinator", "Trần Thị Mai", "VP-UBND"),
    DemoAccount("canbo.sxd", "demo-handler-2026", "handler", "Lê Văn Hùng", "SXD"),
    DemoAccount("lanhdao.sxd", "demo-leader-2026", "leader", "Phạm Minh Tuấn", "SXD"),
)


@dataclass(frozen=True)
class DemoFaq:
    """A frequently asked question, its answer and its keywords."""

    question: str
    answer: str
    keywords: str


FAQS = (
    DemoFaq(
        "Gửi PAKN qua Zalo có mất phí không?",
        "Không. Gửi phản ánh, kiến nghị qua Zalo này hoàn toàn miễn phí. Cơ quan không bao giờ "
        "đề nghị Ông/Bà chuyển tiền hay cung cấp mật khẩu, mã OTP.",
        "mất phí, lệ phí, chi phí, miễn phí, mất tiền, tốn phí",
    ),
    DemoFaq(
        "Bao lâu thì có kết quả trả lời?",
        "Ngày trả lời dự kiến được báo cho Ông/Bà ngay khi tiếp nhận, cùng mã PAKN. Khi cơ quan "
        'đề nghị bổ sung thông tin, thời hạn tạm dừng đến khi Ông/Bà bổ sung. Gõ "tra cứu" để '
        "xem tiến độ.",
        "bao lâu, khi nào có kết quả, bao giờ có kết quả, mấy ngày, lâu không",
    ),
    DemoFaq(
        "Có thể gửi PAKN mà không nêu tên không?",
        "Theo quy định, cơ quan không tiếp nhận PAKN không rõ họ tên, địa chỉ, số điện thoại của "
        "người gửi. Ông/Bà có thể chọn ẩn họ tên và thông tin liên hệ khi kết quả được công khai.",
        "ẩn danh, giấu tên, không nêu tên, không ghi tên, nặc danh",
    ),
    DemoFaq(
        "Có gửi PAKN ngoài giờ hành chính được không?",
        "Ông/Bà có thể gửi PAKN qua Zalo bất cứ lúc nào, kể cả ngoài giờ hành chính và ngày nghỉ. "
        "PAKN gửi ngoài giờ được xử lý từ ngày làm việc tiếp theo.",
        "giờ làm việc, ngoài giờ, ngày nghỉ, thứ bảy, chủ nhật, buổi tối, ban đêm",
    ),
    DemoFaq(
        "Khiếu nại, tố cáo thì gửi ở đâu?",
        "Khiếu nại, tố cáo được giải quyết theo Luật Khiếu nại và Luật Tố cáo, không qua kênh PAKN. "
        "Ông/Bà vui lòng gửi đơn trực tiếp đến cơ quan có thẩm quyền hoặc Ban Tiếp công dân.",
        "khiếu nại, tố cáo, đơn khiếu nại, đơn tố cáo",
    ),
    DemoFaq(
        "Làm sao để bổ sung thông tin cho PAKN đã gửi?",
        "Ông/Bà nhắn nội dung hoặc gửi ảnh ngay trong Zalo này rồi chọn bổ sung vào PAKN đang "
        "xử lý. Khi cơ quan đề nghị bổ sung, các tin nhắn tiếp theo của Ông/Bà được chuyển thẳng "
        "đến cán bộ xử lý.",
        "bổ sung, thêm thông tin, gửi thêm ảnh, bổ sung hồ sơ",
    ),
)


def seed_faqs(session: Session) -> None:
    """Create the demo FAQ entries, only while there are none (administrators own them after)."""
    if session.scalar(select(Faq.id).limit(1)) is not None:
        return
    for order, spec in enumerate(FAQS, start=1):
        session.add(
            Faq(
                question=spec.question,
                answer=spec.answer,
                keywords=spec.keywords,
                sort_order=order * 10,
            )
        )
    session.flush()


def seed_reference_data(session: Session) -> None:
    """Create the demo city's units and fields that do not exist yet."""
    units = {unit.code: unit for unit in session.scalars(select(Unit))}
    for order, spec in enumerate(UNITS, start=1):
        if spec.code in units:
            continue
        unit = Unit(
            code=spec.code,
            name=spec.name,
            parent=units[spec.parent] if spec.parent else None,
            is_coordinator=spec.is_coordinator,
            sort_order=order * 10,
        )
        session.add(unit)
        units[spec.code] = unit
    existing_fields = set(session.scalars(select(Field.code)))
    for order, spec in enumerate(FIELDS, start=1):
        if spec.code in existing_fields:
            continue
        session.add(
            Field(
                code=spec.code,
                name=spec.name,
                default_unit=units[spec.unit],
                sort_order=order * 10,
            )
        )
    session.flush()


def seed_demo(session: Session) -> list[DemoAccount]:
    """Create the reference data, one staff account per role and the demo FAQ entries; return the
    accounts' credentials."""
    seed_reference_data(session)
    existing = set(session.scalars(select(Staff.username)))
    for account in ACCOUNTS:
        if account.username not in existing:
            create_staff(
                session,
                account.username,
                account.full_name,
                account.unit_code,
                [account.roles],
                account.password,
            )
    seed_faqs(session)
    return list(ACCOUNTS)
