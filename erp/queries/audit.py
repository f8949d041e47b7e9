"""Reads of the audit trail: the filtered list (page and CSV) and a record's history."""
from __future__ import annotations

import re

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone

from sqlalchemy import Select, func, select

from erp.extensions import db
from erp.models import AuditEntry

HISTORY_LIMIT = 50


def parse_date(text: str | None) -> date | None:
    try:
        return date.fromisoformat((text or "").strip()[:10]) if text else None
    except ValueError:
        return None


def parse_int(text: str | None) -> int | None:
    try:
        value = int((text or "").strip())
    except ValueError:
        return None
    return value if 0 < value < 2**31 else None


@dataclass
class AuditFilters:
    """The list's filters, parsed; anything unparsable is simply not applied."""

    user: str = ""  # part of the user's name as recorded in the entry (survives deletion)
    action: str = ""
    record_type: str = ""
    record_id: int | None = None
    date_from: date | None = None
    date_to: date | None = None

    @classmethod
    def from_params(cls, values: dict[str, str]) -> "AuditFilters":
        return cls(user=values.get("user", "")[:100], action=values.get("action", "")[:40],
                   record_type=values.get("record_type", "")[:60],
                   record_id=parse_int(values.get("record_id")),
                   date_from=parse_date(values.get("date_from")),
                   date_to=parse_date(values.get("date_to")))


def audit_select(company_id: int, filters: AuditFilters) -> Select:
    """The company's entries matching `filters`, newest first (served by (company, time))."""
    stmt = select(AuditEntry).where(AuditEntry.company_id == company_id)
    if filters.user:
        stmt = stmt.where(func.lower(AuditEntry.user_name).contains(filters.user.lower(),
                                                                     autoescape=True))
    if filters.action:
        stmt = stmt.where(AuditEntry.action == filters.action)
    if filters.record_type:
        stmt = stmt.where(AuditEntry.record_type == filters.record_type)
    if filters.record_id is not None:
        stmt = stmt.where(AuditEntry.record_id == filters.record_id)
    if filters.date_from:
        start = datetime.combine(filters.date_from, time.min, tzinfo=timezone.utc)
        stmt = stmt.where(AuditEntry.created_at >= start)
    if filters.date_to:
        end = datetime.combine(filters.date_to + timedelta(days=1), time.min, tzinfo=timezone.utc)
        stmt = stmt.where(AuditEntry.created_at < end)
    return stmt.order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())


def record_history(company_id: int, record_type: str, record_id: int,
                   *, limit: int = HISTORY_LIMIT) -> list[AuditEntry]:
    """The latest entries about one record of the company (index: company, type, id)."""
    stmt = (select(AuditEntry)
            .where(AuditEntry.company_id == company_id, AuditEntry.record_type == record_type,
                   AuditEntry.record_id == record_id)
            .order_by(AuditEntry.created_at.desc(), AuditEntry.id.desc())
            .limit(limit))
    return list(db.session.scalars(stmt))


def model_for(record_type: str):
    """The model a record type names: its class name (`User`) or its snake_case form
    (`sales_order` for SalesOrder), as the services write them."""
    for mapper in db.Model.registry.mappers:
        name = mapper.class_.__name__
        if record_type in (name, re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()):
            return mapper.class_
    return None


def record_in_company(record_type: str, record_id: int, company_id: int) -> bool | None:
    """True/False whether the record exists in the company; None for an unknown type."""
    model = model_for(record_type)
    if model is None or not hasattr(model, "company_id"):
        return None
    return db.session.scalar(
        select(model.id).where(model.id == record_id, model.company_id == company_id)) is not None


# Common actions, offered as suggestions in the filter (any action can be typed).
KNOWN_ACTIONS = ["create", "update", "delete", "status", "import", "login", "login_failed",
                 "activate", "deactivate", "unlock", "confirm", "cancel", "ship", "receive"]
