"""The channel plan: how a message can reach a citizen right now.

Inside Zalo's 7-day window (counted from the citizen's last interaction) a consultation message;
outside it, a template message by Zalo user id when the OA has a template for this kind of
notification, else a template message to the phone the citizen gave with consent; otherwise the
message is held until the citizen writes again. Templates are configuration
(`ZALO_TEMPLATES`, JSON), documented in `.env.example` and `docs/operations.md`.
"""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from models import Citizen, MessageKind

WINDOW = timedelta(days=7)
# Stop using the consultation channel a little before Zalo does (clock skew, slow queues).
WINDOW_MARGIN = timedelta(minutes=30)
# A chat reply answers what the citizen just wrote: it never goes as a template.
NEVER_TEMPLATED = frozenset({MessageKind.REPLY})


class Channel(enum.StrEnum):
    CONSULTATION = "consultation"
    TEMPLATE = "template"
    PHONE = "phone"
    HOLD = "hold"


@dataclass(frozen=True)
class Template:
    """One notification kind's templates and how to fill their parameters."""

    uid_template_id: str | None = None
    phone_template_id: str | None = None
    data: dict[str, str] = field(default_factory=dict)  # parameter -> "{placeholder}" format

    def render(self, context: dict[str, Any]) -> dict[str, str]:
        """Fill the template parameters from the message's context (missing values empty)."""
        values = _Blank({k: "" if v is None else str(v) for k, v in context.items()})
        return {name: fmt.format_map(values) for name, fmt in self.data.items()}


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


class TemplateConfigError(ValueError):
    """ZALO_TEMPLATES is not valid."""


def load_templates(raw: str | None) -> dict[MessageKind, Template]:
    """Parse ZALO_TEMPLATES: {"answer": {"uid": "...", "phone": "...", "data": {...}}, ...}."""
    if not raw:
        return {}
    try:
        parsed = json.loads(raw)
        templates = {}
        for kind, spec in parsed.items():
            templates[MessageKind(kind)] = Template(
                uid_template_id=spec.get("uid") or None,
                phone_template_id=spec.get("phone") or None,
                data={str(k): str(v) for k, v in (spec.get("data") or {}).items()},
            )
    except (ValueError, AttributeError, TypeError) as error:
        raise TemplateConfigError(f"ZALO_TEMPLATES is not valid: {error}") from None
    return templates


@dataclass(frozen=True)
class Plan:
    channel: Channel
    template: Template | None = None


def in_window(citizen: Citizen, now: datetime) -> bool:
    """True while a consultation message is still allowed."""
    last = citizen.last_interaction_at
    return last is not None and now - last < WINDOW - WINDOW_MARGIN


def plan(
    kind: MessageKind,
    citizen: Citizen,
    now: datetime,
    templates: dict[MessageKind, Template],
    window_closed: bool = False,
) -> Plan:
    """Choose the channel for one message to `citizen` now."""
    reachable_in_chat = citizen.unreachable_reason is None
    if reachable_in_chat and not window_closed and in_window(citizen, now):
        return Plan(Channel.CONSULTATION)
    template = None if kind in NEVER_TEMPLATED else templates.get(kind)
    if template is not None:
        if template.uid_template_id and reachable_in_chat:
            return Plan(Channel.TEMPLATE, template)
        if template.phone_template_id and citizen.phone and citizen.consent_at:
            return Plan(Channel.PHONE, template)
    return Plan(Channel.HOLD)
