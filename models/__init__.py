"""SQLAlchemy models, one aggregate per module; importing this package registers them all."""

from .base import Base, utcnow
from .case import (
    CLOSED_STATUSES,
    AttachmentState,
    Case,
    CaseAttachment,
    CaseDayCounter,
    CaseEvent,
    CaseKind,
    CaseStatus,
)
from .citizen import Citizen, Conversation
from .event import EventStatus, InboundEvent
from .org import Field, Staff, Unit
from .outbox import MessageKind, OutboxMessage, OutboxState
from .sandbox import SandboxMedia, SandboxRecord
from .worker import WorkerHeartbeat

__all__ = [
    "CLOSED_STATUSES",
    "AttachmentState",
    "Base",
    "Case",
    "CaseAttachment",
    "CaseDayCounter",
    "CaseEvent",
    "CaseKind",
    "CaseStatus",
    "Citizen",
    "Conversation",
    "EventStatus",
    "Field",
    "InboundEvent",
    "MessageKind",
    "OutboxMessage",
    "OutboxState",
    "SandboxMedia",
    "SandboxRecord",
    "Staff",
    "Unit",
    "WorkerHeartbeat",
    "utcnow",
]
