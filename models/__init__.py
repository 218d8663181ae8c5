"""SQLAlchemy models, one aggregate per module; importing this package registers them all."""

from .auth import ApiToken, LoginFailure, PublicLookup
from .base import Base, utcnow
from .case import (
    CLOSED_STATUSES,
    AttachmentState,
    Case,
    CaseAlert,
    CaseAttachment,
    CaseCount,
    CaseDayCounter,
    CaseEvent,
    CaseKind,
    CaseStatus,
)
from .citizen import Citizen, Conversation
from .deadline import CalendarException, DeadlinePolicy
from .event import EventStatus, InboundEvent
from .faq import Faq
from .notice import StaffNotice
from .org import Field, ResponseTemplate, Staff, Unit
from .outbox import HoldReason, MessageKind, OutboxMessage, OutboxState
from .privacy import ContactAccess, ErasureTrigger, PersonalDataErasure
from .report import GeneratedReport, ReportNote
from .sandbox import SandboxFault, SandboxMedia, SandboxRecord, SandboxToken, SandboxUser
from .token import RateBucket, TokenStatus, ZaloToken
from .worker import WorkerHeartbeat

__all__ = [
    "ApiToken",
    "LoginFailure",
    "CLOSED_STATUSES",
    "AttachmentState",
    "CalendarException",
    "Base",
    "Case",
    "CaseAlert",
    "CaseAttachment",
    "CaseCount",
    "CaseDayCounter",
    "CaseEvent",
    "CaseKind",
    "CaseStatus",
    "ContactAccess",
    "Citizen",
    "Conversation",
    "DeadlinePolicy",
    "ErasureTrigger",
    "EventStatus",
    "Faq",
    "Field",
    "GeneratedReport",
    "HoldReason",
    "InboundEvent",
    "MessageKind",
    "OutboxMessage",
    "OutboxState",
    "PersonalDataErasure",
    "PublicLookup",
    "RateBucket",
    "ReportNote",
    "ResponseTemplate",
    "SandboxFault",
    "SandboxMedia",
    "SandboxRecord",
    "SandboxToken",
    "SandboxUser",
    "Staff",
    "StaffNotice",
    "TokenStatus",
    "Unit",
    "WorkerHeartbeat",
    "ZaloToken",
    "utcnow",
]
