"""Writing audit entries, inside the caller's transaction."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from erp.extensions import db
from erp.models import AuditEntry, User


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return value


def record(*, company_id: int, user: User | None, action: str, record_type: str,
           record_id: int | None = None, summary: str = "",
           changes: dict[str, tuple[Any, Any]] | None = None,
           ip_address: str | None = None) -> AuditEntry:
    """Add an audit entry to the current transaction (flushes nothing, commits nothing)."""
    entry = AuditEntry(
        company_id=company_id,
        user_id=user.id if user is not None else None,
        user_name=user.email if user is not None else "",
        action=action,
        record_type=record_type,
        record_id=record_id,
        summary=summary[:300],
        changes={k: [_plain(old), _plain(new)] for k, (old, new) in (changes or {}).items()},
        ip_address=ip_address,
    )
    db.session.add(entry)
    return entry


def diff(obj: Any, values: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    """Set `values` on `obj` and return the fields that really changed as (old, new)."""
    changed = {}
    for name, new in values.items():
        old = getattr(obj, name)
        if old != new:
            changed[name] = (old, new)
            setattr(obj, name, new)
    return changed
