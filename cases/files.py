"""Files staff attach to an answer: checked, stored under STORAGE_DIR, recorded on the case."""

from __future__ import annotations

import secrets
from datetime import datetime
from pathlib import Path

from sqlalchemy.orm import Session

from models import AttachmentState, Case, CaseAttachment

ALLOWED_TYPES = {
    ".pdf": "application/pdf",
    ".doc": "application/msword",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    ".xls": "application/vnd.ms-excel",
    ".xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
}
SIGNATURES = {
    "application/pdf": (b"%PDF",),
    "image/jpeg": (b"\xff\xd8\xff",),
    "image/png": (b"\x89PNG\r\n\x1a\n",),
    # Office files: old binary format, or a zip container.
    "application/msword": (b"\xd0\xcf\x11\xe0",),
    "application/vnd.ms-excel": (b"\xd0\xcf\x11\xe0",),
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": (b"PK\x03\x04",),
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": (b"PK\x03\x04",),
}


class FileRejectedError(ValueError):
    """The file is not accepted; the message is Vietnamese, for the form or the API."""


def store_answer_file(
    session: Session,
    case: Case,
    file_name: str,
    content: bytes,
    storage_dir: Path,
    max_bytes: int,
    now: datetime,
) -> CaseAttachment:
    """Check and store a file attached to the case's answer."""
    suffix = Path(file_name).suffix.lower()
    content_type = ALLOWED_TYPES.get(suffix)
    if content_type is None:
        raise FileRejectedError("Chỉ nhận tệp PDF, Word, Excel, JPG hoặc PNG.")
    if not content:
        raise FileRejectedError("Tệp rỗng.")
    if len(content) > max_bytes:
        raise FileRejectedError(f"Tệp quá lớn (tối đa {max_bytes // (1024 * 1024)} MB).")
    if not content.startswith(SIGNATURES[content_type]):
        raise FileRejectedError("Nội dung tệp không đúng định dạng của tên tệp.")
    safe_name = "".join(c if c.isalnum() or c in "._-" else "_" for c in Path(file_name).name)
    folder = storage_dir / "answers" / str(case.id)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{secrets.token_hex(8)}-{safe_name[-100:]}"
    path.write_bytes(content)
    attachment = CaseAttachment(
        case_id=case.id,
        media_type="image" if content_type.startswith("image/") else "file",
        origin="answer",
        source_url=f"staff-upload:{safe_name}",
        file_name=Path(file_name).name[:255],
        declared_size=len(content),
        stored_size=len(content),
        content_type=content_type,
        storage_path=str(path),
        state=AttachmentState.STORED,
        created_at=now,
    )
    session.add(attachment)
    session.flush()
    return attachment
