"""Warehouses: create, change, archive and delete. Stock itself changes only through
`erp.services.stock`."""
from __future__ import annotations

from decimal import Decimal

from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError

from erp.extensions import db
from erp.models import StockLevel, StockMovement, User, Warehouse
from erp.models import production, purchasing, sales
from erp.models.inventory import WAREHOUSE_TEXT
from erp.models.production import ProductionOrder
from erp.models.purchasing import PurchaseOrder
from erp.models.sales import SalesOrder
from erp.services import ValidationError, atomic, audit, validation
from erp.services.catalog import InUse, _delete, _get, _record_active
from erp.services.defaults import choose_default
from erp.services.validation import clean_texts
from erp.i18n import _, ngettext


def _warehouse_values(company_id: int, values: dict, *, warehouse_id: int | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, WAREHOUSE_TEXT, errors)
    clean["code"] = clean["code"].upper()
    if clean["code"] and "code" not in errors:
        stmt = select(Warehouse.id).where(Warehouse.company_id == company_id,
                                          func.upper(Warehouse.code) == clean["code"])
        if warehouse_id is not None:
            stmt = stmt.where(Warehouse.id != warehouse_id)
        if db.session.scalar(stmt) is not None:
            errors.setdefault("code", []).append(_('Code %(value)s is taken.', value=clean['code']))
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


def create_warehouse(*, company_id: int, user: User | None, **values) -> Warehouse:
    """Create a warehouse (code unique per company, stored upper-case). Commits."""
    try:
        with atomic():
            warehouse = Warehouse(company_id=company_id, **_warehouse_values(company_id, values))
            audit.created(warehouse, company_id=company_id, user=user, record_type="warehouse",
                          summary=f"Created warehouse {warehouse.code}")
    except IntegrityError:
        raise ValidationError(field_errors={"code": ["This code is taken."]}) from None
    return warehouse


def update_warehouse(*, company_id: int, warehouse_id: int, user: User | None,
                     **values) -> Warehouse:
    """Change a warehouse's code, name or address. NotFound for another company's. Commits."""
    try:
        with atomic():
            warehouse = _get(Warehouse, company_id, warehouse_id, "warehouse")
            changes = audit.diff(warehouse, _warehouse_values(company_id, values,
                                                              warehouse_id=warehouse.id))
            if changes:
                audit.record(company_id=company_id, user=user, action="update",
                             record_type="warehouse", record_id=warehouse.id,
                             summary=f"Updated warehouse {warehouse.code}", changes=changes)
    except IntegrityError:
        raise ValidationError(field_errors={"code": ["This code is taken."]}) from None
    return warehouse


def default_warehouse_of(company_id: int) -> Warehouse | None:
    """The warehouse a new document starts in unless another is chosen: the company's
    default (company settings), else its only active warehouse, else its first active one
    by name."""
    return db.session.scalar(
        select(Warehouse).where(Warehouse.company_id == company_id, Warehouse.active.is_(True))
        .order_by(Warehouse.is_default.desc(), Warehouse.name, Warehouse.code, Warehouse.id)
        .limit(1))


def choose_default_warehouse(company_id: int, warehouse_id: int | None,
                             errors: dict) -> dict:
    """Make `warehouse_id` (an active warehouse of the company, or None for none) the
    company's default, inside the caller's transaction. Returns the audit change
    ({} when unchanged); a bad choice goes into `errors` and changes nothing."""
    return choose_default(Warehouse, company_id, warehouse_id, errors,
                          field="default_warehouse_id",
                          message=_("Choose an active warehouse of this company."),
                          label=lambda warehouse: warehouse.code)


def set_warehouse_active(*, company_id: int, warehouse_id: int, active: bool,
                         user: User | None) -> Warehouse:
    """Archive or reactivate a warehouse (archived ones leave the stock forms and take no
    documents, see `document_warehouse`). A warehouse that holds stock (on hand or
    reserved) is not archived: InUse, nothing written. Commits."""
    with atomic():
        warehouse = _get(Warehouse, company_id, warehouse_id, "warehouse")
        if not active and warehouse.active:
            _refuse_archiving_stock(company_id, warehouse)
            _refuse_archiving_open_documents(company_id, warehouse)
            warehouse.is_default = False  # an archived warehouse takes no documents
        _record_active(warehouse, active, company_id=company_id, user=user,
                       record_type="warehouse", label=warehouse.code)
    return warehouse


def _refuse_archiving_stock(company_id: int, warehouse: Warehouse) -> None:
    products, reserved = db.session.execute(
        select(func.count(StockLevel.id), func.coalesce(func.sum(StockLevel.reserved), 0))
        .where(StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse.id,
               (StockLevel.on_hand != 0) | (StockLevel.reserved != 0))).one()
    if products:
        held = (_(" (some of it reserved for orders: ship or cancel them)")
                if Decimal(str(reserved)) != 0 else "")
        raise InUse(ngettext(
            "%(code)s still holds stock of %(num)d product%(held)s. Move the stock first (a "
            "transfer to another warehouse, or an issue), then archive it.",
            "%(code)s still holds stock of %(num)d products%(held)s. Move the stock first (a "
            "transfer to another warehouse, or an issue), then archive it.", products,
            code=warehouse.code, held=held))


def _refuse_archiving_open_documents(company_id: int, warehouse: Warehouse) -> None:
    """Open orders still ship from, receive into or produce in the warehouse: InUse naming
    a few of them (an archived warehouse takes no documents, so they would be stranded)."""
    kinds = ((SalesOrder, sales.OPEN_STATUSES, (SalesOrder.warehouse_id,)),
             (PurchaseOrder, purchasing.OPEN_STATUSES, (PurchaseOrder.warehouse_id,)),
             (ProductionOrder, production.OPEN_STATUSES,
              (ProductionOrder.component_warehouse_id, ProductionOrder.output_warehouse_id)))
    numbers: list[str] = []
    for model, statuses, columns in kinds:
        numbers += db.session.scalars(
            select(model.number).where(model.company_id == company_id,
                                       model.status.in_(statuses),
                                       or_(*(column == warehouse.id for column in columns)))
            .order_by(model.id).limit(3))
    if numbers:
        raise InUse(_('%(code)s is the warehouse of open orders (%(value)s%(value2)s): finish, cancel or change them first, then archive it.', code=warehouse.code, value=', '.join(numbers), value2=', ...' if len(numbers) >= 3 else ''))


def document_warehouse(company_id: int, warehouse_id, errors: dict[str, list[str]], *,
                       field: str = "warehouse_id") -> Warehouse | None:
    """The warehouse a document (sales, purchase or production order, a stock count,
    transfer, receipt or issue) is created or changed to: the company's, and active. Adds
    the field's message to `errors` and returns None otherwise (an id in any form: a
    direct POST may send anything)."""
    try:
        number = int(warehouse_id) if warehouse_id not in (None, "") else None
    except (TypeError, ValueError):
        number = None
    # beyond 64 bits SQLite's driver raises
    warehouse = (validation.company_record(Warehouse, company_id, number)
                 if number is not None and 0 < number < 2**63 else None)
    if warehouse is None:
        validation.add_error(errors, field, _("Choose a warehouse."))
    elif not warehouse.active:
        validation.add_error(errors, field, warehouse.archived_message)
        return None
    return warehouse


def delete_warehouse(*, company_id: int, warehouse_id: int, user: User | None) -> None:
    """Delete a warehouse that never held stock; InUse otherwise (nothing written). Commits."""
    warehouse = _get(Warehouse, company_id, warehouse_id, "warehouse")
    reason = None
    if db.session.scalar(select(StockMovement.id).where(
            StockMovement.company_id == company_id,
            StockMovement.warehouse_id == warehouse.id).limit(1)) is not None:
        reason = _("This warehouse has stock movements, so it cannot be deleted. Deactivate it instead.")
    elif db.session.scalar(select(StockLevel.id).where(
            StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse.id,
            (StockLevel.on_hand != 0) | (StockLevel.reserved != 0)).limit(1)) is not None:
        reason = _("This warehouse holds stock, so it cannot be deleted. Deactivate it instead.")
    if reason:
        raise InUse(reason)
    label = warehouse.code
    with atomic():
        warehouse = _get(Warehouse, company_id, warehouse_id, "warehouse")
        db.session.execute(StockLevel.__table__.delete().where(
            StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse.id))
        _delete(warehouse, company_id=company_id, user=user, record_type="warehouse", label=label)


def active_warehouses(company_id: int, *, limit: int = 200) -> list[Warehouse]:
    """Warehouses for the stock forms' selects (few per company; bounded anyway)."""
    return list(db.session.scalars(
        select(Warehouse).where(Warehouse.company_id == company_id, Warehouse.active.is_(True))
        .order_by(Warehouse.code, Warehouse.id).limit(limit)))
