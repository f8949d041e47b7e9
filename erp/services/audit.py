"""Writing audit entries, inside the caller's transaction."""
from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Callable

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


def created(obj: Any, *, company_id: int, user: User | None, record_type: str,
            summary: str | Callable[[Any], str]) -> None:
    """Add a new record to the session, flush it for its id and add its "create" entry;
    `summary` may be a function of the flushed record (flushes, commits nothing)."""
    db.session.add(obj)
    db.session.flush()
    record(company_id=company_id, user=user, action="create", record_type=record_type,
           record_id=obj.id, summary=summary(obj) if callable(summary) else summary)


def updated(obj: Any, values: dict[str, Any], *, company_id: int, user: User | None,
            record_type: str, summary: str | Callable[[Any], str]) -> dict[str, tuple[Any, Any]]:
    """Set `values` on a record (`diff`) and, when a field really changed, add its "update"
    entry; `summary` may be a function of the changed record. Returns the changes (flushes,
    commits nothing)."""
    changes = diff(obj, values)
    if changes:
        record(company_id=company_id, user=user, action="update", record_type=record_type,
               record_id=obj.id, summary=summary(obj) if callable(summary) else summary,
               changes=changes)
    return changes


def cancelled(document: Any, *, company_id: int, user: User | None, record_type: str,
              summary: str | None = None) -> None:
    """A draft document -> cancelled (its workflow's "cancel" checked by the caller),
    audited as a status change ("<number> cancelled" unless `summary`). Flushes nothing."""
    document.status = "cancelled"
    record(company_id=company_id, user=user, action="status", record_type=record_type,
           record_id=document.id, summary=summary or f"{document.number} cancelled",
           changes={"status": ("draft", "cancelled")})
