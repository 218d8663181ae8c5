"""Downloading the citizen's photos and files from Zalo's CDN into our storage (worker job).

Zalo's attachment URLs are not permanent, so the worker fetches each one promptly. Only URLs
that came in a webhook event are fetched, only over http(s) from the configured hosts, streamed
with a size cap; a failure is retried a few times and then recorded for staff to see.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

import requests
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from models import AttachmentState, CaseAttachment

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 3
CHUNK = 64 * 1024
_UNSAFE = re.compile(r"[^A-Za-z0-9._-]+")
SAFE_TYPES = {
    "image/jpeg": ".jpg",
    "image/png": ".png",
    "image/gif": ".gif",
    "image/webp": ".webp",
    "application/pdf": ".pdf",
}


class DownloadError(Exception):
    """The attachment could not be fetched or was refused."""


@dataclass(frozen=True)
class DownloadPolicy:
    """Where and how much the worker may download."""

    storage_dir: Path
    max_bytes: int
    allowed_hosts: tuple[str, ...]
    timeout: float = 20

    def allows(self, url: str) -> bool:
        """True when `url` is http(s) on an allowed host (or a subdomain of one)."""
        parts = urlsplit(url)
        host = (parts.hostname or "").lower()
        if parts.scheme not in ("http", "https") or not host:
            return False
        return any(host == h or host.endswith("." + h) for h in self.allowed_hosts)


def safe_file_name(name: str | None, fallback: str) -> str:
    """A file name safe to use on disk and in a Content-Disposition header."""
    cleaned = _UNSAFE.sub("_", (name or "").strip()).strip("._")
    return (cleaned or fallback)[:120]


def download(
    policy: DownloadPolicy, attachment: CaseAttachment, session: requests.Session | None = None
) -> tuple[Path, int, str | None]:
    """Stream one attachment into storage; return (path, size, content type)."""
    if not policy.allows(attachment.source_url):
        raise DownloadError("URL not on an allowed host")
    http = session or requests.Session()
    try:
        with http.get(
            attachment.source_url, stream=True, timeout=policy.timeout, allow_redirects=False
        ) as response:
            if response.status_code != 200:
                raise DownloadError(f"HTTP {response.status_code}")
            declared = int(response.headers.get("Content-Length") or 0)
            if declared > policy.max_bytes:
                raise DownloadError(f"too large ({declared} bytes)")
            content_type = (response.headers.get("Content-Type") or "").split(";")[
                0
            ].strip() or None
            folder = policy.storage_dir / "cases" / str(attachment.case_id)
            folder.mkdir(parents=True, exist_ok=True)
            fallback = f"file{SAFE_TYPES.get(content_type or '', '')}"
            path = folder / f"{attachment.id}-{safe_file_name(attachment.file_name, fallback)}"
            size = 0
            with path.open("wb") as out:
                for chunk in response.iter_content(CHUNK):
                    size += len(chunk)
                    if size > policy.max_bytes:
                        out.close()
                        path.unlink(missing_ok=True)
                        raise DownloadError(f"too large (over {policy.max_bytes} bytes)")
                    out.write(chunk)
    except requests.RequestException as error:
        raise DownloadError(f"transport error: {type(error).__name__}") from error
    return path, size, content_type


def download_pending(
    sessions: sessionmaker[Session], policy: DownloadPolicy, limit: int = 20
) -> int:
    """Fetch attachments not stored yet; return how many were stored."""
    with sessions() as session:
        ids = session.scalars(
            select(CaseAttachment.id)
            .where(CaseAttachment.state == AttachmentState.PENDING)
            .order_by(CaseAttachment.id)
            .limit(limit)
        ).all()
    stored = 0
    for attachment_id in ids:
        with sessions() as session, session.begin():
            attachment = session.get(CaseAttachment, attachment_id)
            if attachment is None or attachment.state is not AttachmentState.PENDING:
                continue
            attachment.attempts += 1
            try:
                path, size, content_type = download(policy, attachment)
            except DownloadError as error:
                permanent = "allowed host" in str(error) or "too large" in str(error)
                attachment.error = str(error)
                if permanent or attachment.attempts >= MAX_ATTEMPTS:
                    attachment.state = AttachmentState.FAILED
                log.warning("attachment %s not stored: %s", attachment_id, error)
                continue
            attachment.storage_path = str(path)
            attachment.stored_size = size
            attachment.content_type = content_type
            attachment.state = AttachmentState.STORED
            attachment.error = None
            stored += 1
    return stored
