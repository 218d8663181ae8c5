"""Administration of the bot's frequently asked questions under /admin/faq (administrators only).

An entry is a question, its answer (sent to the citizen as one Zalo message, under the question)
and keywords, phrases separated by commas or lines, that `bot.faq` looks for in what citizens
type outside a flow. Forms follow `handlers.admin`: everything is validated first, an invalid
form comes back with the message next to the field and HTTP 422 having changed nothing, a valid
change is committed once, logged with the administrator's staff id, and redirected to the list.
An entry may be switched off (kept, no longer answered) or deleted. The list page can also try a
question against the active entries, so administrators can check their keywords.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import flash, g, redirect, render_template, request, url_for
from sqlalchemy import select

from bot import faq as matching
from bot.texts import MAX_MESSAGE, number
from handlers.admin import (
    REQUIRED,
    Entity,
    FormResult,
    _audit,
    _create,
    _flag,
    _get_or_404,
    _order,
    _text,
    _update,
)
from handlers.console import admin_required, console_blueprint, now
from handlers.runtime import db
from models import Faq

bp = console_blueprint("admin_faq", __name__)

MAX_QUESTION = 200
# The question, a line break and the answer go out as one Zalo message.
MAX_ANSWER = MAX_MESSAGE - MAX_QUESTION - 1
MAX_KEYWORD = 60
MAX_KEYWORDS = 500
MAX_PROBE = 500
FAQ = Entity(Faq, "faq", "câu hỏi", "admin_faq.faqs", "console/admin_faq.html", "question")


def _read_answer(form: Mapping[str, str], result: FormResult) -> str:
    answer = str(form.get("answer", "")).replace("\r\n", "\n").strip()
    result.values["answer"] = answer
    if not answer:
        result.errors["answer"] = REQUIRED.format(what="câu trả lời")
    elif len(answer) > MAX_ANSWER:
        result.errors["answer"] = f"Tối đa {number(MAX_ANSWER)} ký tự (một tin nhắn Zalo)."
    return answer


def _read_keywords(form: Mapping[str, str], result: FormResult) -> str:
    raw = str(form.get("keywords", ""))
    phrases = [" ".join(phrase.split()) for phrase in matching.split_keywords(raw)]
    keywords = ", ".join(phrases)
    result.values["keywords"] = keywords if phrases else raw.strip()
    too_long = next((p for p in phrases if len(p) > MAX_KEYWORD), None)
    useless = next((p for p in phrases if not matching.is_searchable(p)), None)
    if not phrases:
        result.errors["keywords"] = "Vui lòng nhập ít nhất một từ khóa."
    elif too_long is not None:
        result.errors["keywords"] = f"Mỗi từ khóa tối đa {MAX_KEYWORD} ký tự: “{too_long[:80]}”."
    elif useless is not None:
        result.errors["keywords"] = (
            f"Từ khóa “{useless}” chỉ gồm từ thông dụng nên không giúp nhận ra câu hỏi; "
            "vui lòng dùng từ có nghĩa (ví dụ: lệ phí, thời hạn)."
        )
    elif len(keywords) > MAX_KEYWORDS:
        result.errors["keywords"] = f"Tổng độ dài các từ khóa tối đa {MAX_KEYWORDS} ký tự."
    return keywords


def _read_faq(form: Mapping[str, str], existing: bool) -> tuple[FormResult, dict[str, Any]]:
    result = FormResult()
    data: dict[str, Any] = {
        "question": _text(form, "question", "câu hỏi", result, maximum=MAX_QUESTION),
        "answer": _read_answer(form, result),
        "keywords": _read_keywords(form, result),
        "sort_order": _order(form, result),
        "active": _flag(form, "active", result) if existing else True,
        "updated_by_id": g.staff.id,
        "updated_at": now(),
    }
    return result, data


def _faqs_page(result: FormResult | None = None, status: int = 200):
    items = db().scalars(select(Faq).order_by(Faq.sort_order, Faq.id)).all()
    probe = request.args.get("thu", "").strip()[:MAX_PROBE]
    page = render_template(
        "console/admin_faqs.html",
        items=items,
        probe=probe,
        probe_match=matching.find(db(), probe) if probe else None,
        form=result or FormResult(values={"sort_order": "0"}),
        limits={"question": MAX_QUESTION, "answer": MAX_ANSWER},
    )
    return page, status


@bp.get("/faq")
@admin_required
def faqs():
    """List the FAQ entries, try a question against them, and offer the form adding one."""
    return _faqs_page()


@bp.post("/faq")
@admin_required
def create_faq():
    """Add an FAQ entry."""
    return _create(FAQ, *_read_faq(request.form, existing=False), _faqs_page)


@bp.route("/faq/<int:faq_id>", methods=["GET", "POST"])
@admin_required
def edit_faq(faq_id: int):
    """Show or save one FAQ entry (switching it off keeps it but stops answering with it)."""
    item = _get_or_404(FAQ, faq_id)
    context = {"item": item, "limits": {"question": MAX_QUESTION, "answer": MAX_ANSWER}}
    if request.method == "GET":
        values = {
            "question": item.question,
            "answer": item.answer,
            "keywords": item.keywords,
            "sort_order": str(item.sort_order),
            "active": item.active,
        }
        return render_template(FAQ.edit_template, form=FormResult(values), **context)
    return _update(FAQ, item, *_read_faq(request.form, existing=True), **context)


@bp.post("/faq/<int:faq_id>/delete")
@admin_required
def delete_faq(faq_id: int):
    """Delete an FAQ entry."""
    item = _get_or_404(FAQ, faq_id)
    question = item.question
    db().delete(item)
    db().commit()
    _audit("faq deleted", faq_id=faq_id)
    flash(f"Đã xóa câu hỏi “{question}”.")
    return redirect(url_for("admin_faq.faqs"))
