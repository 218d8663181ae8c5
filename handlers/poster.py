"""The public poster `/poster`: the OA's QR code and three steps, printable on one A4 page as is.

Agencies print it for their reception desks and notice boards (guiding citizens to Zalo is part of
the Hanoi directive). Everything on it comes from the configuration: the agency's name, the
hotline, the OA (in sandbox mode the sandbox OA, and the poster says it is a test copy) and the
public lookup address. The QR code is an inline SVG drawn by `segno`, so the page needs nothing
from another host and prints sharp at any size.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import segno
from flask import Blueprint, current_app, render_template, url_for
from markupsafe import Markup

bp = Blueprint("poster", __name__)

OA_CHAT_BASE = "https://zalo.me/"
CACHE_SECONDS = 300


def oa_chat_url(config: Mapping[str, Any]) -> str:
    """Return the link that opens a chat with the configured OA in Zalo."""
    return OA_CHAT_BASE + str(config["ZALO_OA_ID"])


def qr_code(data: str) -> segno.QRCode:
    """Return `data` as a QR code, medium error correction (survives a smudged print)."""
    return segno.make(data, error="m", micro=False)


def qr_svg(code: segno.QRCode) -> Markup:
    """Return the QR code as inline SVG, sized by CSS (no width or height of its own)."""
    svg = code.svg_inline(
        border=4, dark="#000", light="#fff", omitsize=True, svgclass="qr", lineclass=None
    )
    # segno writes only its own elements and attributes (the data is encoded as modules, never
    # as text), so the markup is safe to embed.
    return Markup(svg)  # noqa: S704


@bp.get("/poster")
def poster():
    """Show the printable A4 poster guiding citizens to the OA."""
    config = current_app.config
    chat_url = oa_chat_url(config)
    page = render_template(
        "poster.html",
        chat_url=chat_url,
        chat_text=chat_url.removeprefix("https://"),
        qr=qr_svg(qr_code(chat_url)),
        lookup_url=config["PUBLIC_BASE_URL"] + url_for("public.lookup"),
        sandbox=config["SANDBOX"],
    )
    headers = {
        "Cache-Control": f"public, max-age={CACHE_SECONDS}",
        "Content-Security-Policy": (
            "default-src 'none'; style-src 'self'; img-src 'self'; "
            "base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
        ),
        "X-Content-Type-Options": "nosniff",
    }
    return page, 200, headers
