"""Reads of the audit trail: the filtered list (page and CSV) and a record's history."""
from __future__ import annotations

import re


from sqlalchemy import Select, select

from erp.collation import fold, folded
from erp.extensions import db
from erp.i18n import N_
from erp.lists import Csv, Filter, attrs, date_range, id_filter, newest_first
from erp.models import AuditEntry

HISTORY_LIMIT = 50


def _user_filter(stmt: Select, value: str) -> Select:
    """Part of the user's name as recorded in the entry (survives deletion)."""
    return stmt.where(folded(AuditEntry.user_name).contains(fold(value), autoescape=True))


def _changes_text(changes: dict | None) -> str:
    return "; ".join(f"{name}: {pair[0]} -> {pair[1]}"
                     if isinstance(pair, list) and len(pair) == 2 else f"{name}: {pair}"
                     for name, pair in (changes or {}).items())


# the company's entries, newest first (served by (company, time)); anything unparsable
# in a filter is simply not applied
ENTRIES = newest_first(
    AuditEntry,
    filters=[Filter("user", _user_filter),
             Filter("action", lambda stmt, value: stmt.where(AuditEntry.action == value[:40])),
             Filter("record_type", lambda stmt, value: stmt.where(
                 AuditEntry.record_type == value[:60])),
             id_filter("record_id", AuditEntry.record_id),
             *date_range(AuditEntry.created_at, day=True)],
    csv=Csv("audit", [
        ("id", AuditEntry.id), ("time", AuditEntry.created_at), ("user", AuditEntry.user_name),
        *attrs(AuditEntry, "action", "record_type", "record_id", "summary", "changes",
               "ip_address")],
        row=lambda r: [*r[:7], _changes_text(r[7]), r[8]]),
)


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
KNOWN_ACTIONS = [N_("create"), N_("update"), N_("delete"), N_("status"), N_("import"),
                 N_("login"), N_("login_failed"), N_("activate"), N_("deactivate"), N_("unlock"),
                 N_("confirm"), N_("cancel"), N_("ship"), N_("receive")]
