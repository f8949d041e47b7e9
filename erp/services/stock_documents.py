"""Count sheets and transfers: stock documents posted through the stock service.

A count sheet is made for a warehouse (optionally one category): one line per stocked
product (active, or archived with stock there) with the on-hand quantity at that moment
(`expected`), at most MAX_LINES. Counts are entered on screen (a blank count: not
counted, left as it is). Posting it, in one transaction, adjusts every counted line to
its count (one `adjustment` movement each, referring to the line): the posted sheet is
the adjustment document. The levels are locked and re-read first: when stock moved since
the sheet was made (on hand is no longer `expected`), the post is refused naming those
lines (StockMoved, nothing written), for the user to check the counts and "Update
expected" (`refresh_count`), then post. A count below what orders hold reserved is
refused too, naming the line.

A transfer moves its lines from one warehouse to another when posted: two movements per
line, all or nothing; every line without enough stock is named, and nothing moves.

Staff make and change drafts and cancel them; a manager posts (the models' workflows).
Every service commits.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from sqlalchemy import func, insert, literal, or_, select
from sqlalchemy.orm import selectinload
from sqlalchemy.orm.attributes import set_committed_value

from erp.extensions import db
from erp.formatting import plural
from erp.formatting import quantity as fmt
from erp.models import Category, Product, StockLevel, User
from erp.models.base import ZERO, AwareDateTime, utcnow
from erp.models.core import company_today
from erp.models.stock_documents import (NOTES_MAX, StockCount, StockCountLine, StockTransfer,
                                        StockTransferLine)
from erp.parsing import parse_id
from erp.services import InvalidTransition, NotFound, ValidationError, atomic, audit, stock
from erp.services.inventory import document_warehouse
from erp.services.sequences import next_number
from erp.services.validation import add_error, checked, clean_text, company_record, raise_errors
from erp.i18n import _

COUNT_SERIES = "SC"
TRANSFER_SERIES = "TR"
MAX_LINES = 500  # a sheet one can count, print and show on one page
MAX_TRANSFER_LINES = 200
SHOWN = 5  # lines named in a refusal


class StockMoved(ValidationError):
    """Stock of some counted lines moved since the sheet was made (or last updated)."""


def _lock(model, company_id: int, document_id: int, noun: str):
    """The document row, locked until the transaction ends, with its lines re-read."""
    document = db.session.scalar(
        select(model).where(model.id == document_id, model.company_id == company_id)
        .with_for_update(of=model).execution_options(populate_existing=True))
    if document is None:
        raise NotFound(_('No such %(noun)s.', noun=noun))
    line_model = model.lines.property.mapper.class_
    key = StockCountLine.count_id if model is StockCount else StockTransferLine.transfer_id
    lines = db.session.scalars(
        select(line_model).where(key == document.id).options(selectinload(line_model.product))
        .order_by(line_model.id).execution_options(populate_existing=True)).all()
    set_committed_value(document, "lines", list(lines))
    return document


def _line(document, line_id: int):
    for line in document.lines:
        if line.id == line_id:
            return line
    raise NotFound(_("No such line."))


def _line_name(document, line) -> str:
    return f"line {document.lines.index(line) + 1} ({line.product.sku})"


def _stocked_product(company_id: int, product_id: int | None) -> Product:
    """A stocked product of the company; ValidationError on `product` otherwise."""
    if product_id is None:
        raise ValidationError(field_errors={"product": ["No such product: type its SKU or "
                                                        "barcode, or pick it from the list."]})
    product = company_record(Product, company_id, product_id)
    if product is None:
        raise ValidationError(field_errors={"product": ["Choose a product of this company."]})
    if not product.stocked:
        raise ValidationError(field_errors={"product": [f"{product.sku} is a service and "
                                                        "carries no stock."]})
    return product


def _on_hand(company_id: int, warehouse_id: int, product_id: int) -> Decimal:
    return db.session.scalar(select(StockLevel.on_hand).where(
        StockLevel.company_id == company_id, StockLevel.warehouse_id == warehouse_id,
        StockLevel.product_id == product_id)) or ZERO


def _status(document, user: User | None, old: str, what: str, record_type: str) -> None:
    audit.record(company_id=document.company_id, user=user, action="status",
                 record_type=record_type, record_id=document.id,
                 summary=f"{document.number} {what}", changes={"status": (old, document.status)})


# --- count sheets ---------------------------------------------------------------------------

def _sheet_products(company_id: int, warehouse_id: int, category_id: int | None):
    """(product id, on hand) of what a sheet lists: stocked products, active ones and
    archived ones that still hold stock in the warehouse, by SKU."""
    on_hand = func.coalesce(StockLevel.on_hand, 0)
    stmt = (select(Product.id, on_hand)
            .outerjoin(StockLevel, (StockLevel.product_id == Product.id)
                       & (StockLevel.warehouse_id == warehouse_id)
                       & (StockLevel.company_id == company_id))
            .where(Product.company_id == company_id, Product.kind != "service",
                   or_(Product.active.is_(True), on_hand != 0)))
    if category_id is not None:
        stmt = stmt.where(Product.category_id == category_id)
    return stmt.order_by(Product.sku, Product.id)


def create_count(*, company_id: int, user: User | None, warehouse_id, category_id=None,
                 count_date: date | None = None, notes: str = "") -> StockCount:
    """A draft count sheet of the warehouse (an active one of the company), of one
    category of the company when given, listing its products with their on-hand stock now.
    ValidationError (fields `warehouse_id`, `category_id`, `notes`) for a bad choice, no
    product to count, or more than MAX_LINES (choose a category). Commits."""
    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    with atomic():
        warehouse = document_warehouse(company_id, warehouse_id, errors)
        category = None
        if category_id not in (None, ""):
            category = company_record(Category, company_id, parse_id(str(category_id)))
            if category is None:
                add_error(errors, "category_id", _("Choose a category of this company."))
        if warehouse is not None and "category_id" not in errors:
            products = _sheet_products(company_id, warehouse.id,
                                       category.id if category else None)
            found = db.session.scalar(select(func.count()).select_from(
                products.order_by(None).limit(MAX_LINES + 1).subquery()))
            if not found:
                add_error(errors, "category_id", _("There is no stocked product to count here."))
            elif found > MAX_LINES:
                add_error(errors, "category_id",
                          _('More than %(MAX_LINES)s products: choose a category, one sheet each.', MAX_LINES=MAX_LINES))
        if errors:
            raise ValidationError(field_errors=errors)
        count = StockCount(company_id=company_id, number=next_number(company_id, COUNT_SERIES),
                           warehouse_id=warehouse.id, category_id=category.id if category else None,
                           count_date=count_date or company_today(company_id), status="draft",
                           notes=notes, created_by_id=user.id if user is not None else None)
        db.session.add(count)
        db.session.flush()
        now = literal(utcnow(), AwareDateTime())
        source = products.add_columns(literal(company_id), literal(count.id), now, now)
        db.session.execute(insert(StockCountLine).from_select(
            ["product_id", "expected", "company_id", "count_id", "created_at", "updated_at"],
            source))
        audit.record(company_id=company_id, user=user, action="create",
                     record_type="stock_count", record_id=count.id,
                     summary=f"Count sheet {count.number} for {warehouse.code}"
                             + (f", category {category.name}" if category else "")
                             + f": {plural(found, 'product')}")
    return count


def _counted(value, field: str = "counted") -> Decimal | None:
    if value is None or str(value).strip() == "":
        return None
    return stock.to_quantity(value, field=field, allow_zero=True)


def add_count_line(*, company_id: int, user: User | None, count_id: int,
                   product_id: int | None, counted) -> StockCountLine:
    """Count a product on a draft sheet (a scan or a pick): its line's count is set, or a
    line is added (expected: its on-hand stock now) for a product the sheet did not list.
    Staff. ValidationError, InvalidTransition. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        StockCount.workflow.begin_edit(count, user)
        errors: dict[str, list[str]] = {}
        product = checked(errors, _stocked_product, company_id, product_id)
        try:
            quantity = _counted(counted)
            if quantity is None:
                add_error(errors, "counted", _("Enter the counted quantity."))
        except ValidationError as error:
            errors.update(error.field_errors)
        raise_errors(errors)
        line = next((line for line in count.lines if line.product_id == product.id), None)
        if line is None:
            if len(count.lines) >= MAX_LINES:
                raise ValidationError(field_errors={"product": [
                    f"A sheet holds at most {MAX_LINES} lines: make another sheet."]})
            line = StockCountLine(company_id=company_id, product_id=product.id,
                                  expected=_on_hand(company_id, count.warehouse_id, product.id))
            count.lines.append(line)
        line.counted = quantity
        db.session.flush()
        line.product = product
    return line


def update_count_line(*, company_id: int, user: User | None, count_id: int, line_id: int,
                      counted) -> StockCountLine:
    """Set a line's count (blank: not counted). Staff, on a draft. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        StockCount.workflow.begin_edit(count, user)
        line = _line(count, line_id)
        line.counted = _counted(counted)
    return line


def remove_count_line(*, company_id: int, user: User | None, count_id: int,
                      line_id: int) -> None:
    """Take a product off a draft sheet (it will not be adjusted). Staff. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        StockCount.workflow.begin_edit(count, user)
        count.lines.remove(_line(count, line_id))


def _locked_levels(count: StockCount, lines: list[StockCountLine]) -> dict[int, tuple]:
    """{product id: (on hand, reserved)} of the lines' levels in the sheet's warehouse,
    created when missing and locked until the transaction ends."""
    for line in lines:
        stock.ensure_level(count.company_id, line.product_id, count.warehouse_id)
    rows = db.session.execute(
        select(StockLevel.product_id, StockLevel.on_hand, StockLevel.reserved)
        .where(StockLevel.company_id == count.company_id,
               StockLevel.warehouse_id == count.warehouse_id,
               StockLevel.product_id.in_([line.product_id for line in lines]))
        .order_by(StockLevel.id).with_for_update())
    return {product_id: (on_hand, reserved) for product_id, on_hand, reserved in rows}


def _named(problems: list[str]) -> str:
    shown = "; ".join(problems[:SHOWN])
    return shown + (f"; and {len(problems) - SHOWN} more" if len(problems) > SHOWN else "")


def post_count(*, company_id: int, count_id: int, user: User | None) -> StockCount:
    """draft -> posted: every counted line's on-hand becomes its count (see the module).
    A manager. Refuses (nothing written): no counted line, an archived warehouse, stock
    that moved since the sheet was made (StockMoved), a count below what is reserved.
    Replay no-op. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        if not StockCount.workflow.begin(count, "post", user):
            return count
        warehouse = count.warehouse
        if not warehouse.active:
            raise InvalidTransition(_('%(archived_message)s %(number)s cannot be posted; cancel it.', archived_message=warehouse.archived_message, number=count.number))
        lines = [line for line in count.lines if line.counted is not None]
        if not lines:
            raise ValidationError(_('%(number)s: enter a counted quantity on at least one line first.', number=count.number))
        levels = _locked_levels(count, lines)
        moved = [f"{line.product.sku} expected {fmt(line.expected)}, now "
                 f"{fmt(levels[line.product_id][0])}" for line in lines
                 if levels[line.product_id][0] != line.expected]
        if moved:
            raise StockMoved(
                _('Stock moved in %(code)s since %(number)s was made: %(value)s. Check those counts, choose "Update expected", then post again. Nothing was adjusted.', code=warehouse.code, number=count.number, value=_named(moved)))
        reserved = [f"{line.product.sku}: {fmt(levels[line.product_id][1])} reserved, "
                    f"{fmt(line.counted)} counted" for line in lines
                    if line.counted < levels[line.product_id][1]]
        if reserved:
            raise ValidationError(
                _('Counts below what orders hold reserved in %(code)s: %(value)s. Release the reservations first (ship or cancel the orders). Nothing was adjusted.', code=warehouse.code, value=_named(reserved)))
        changed = 0
        for line in lines:
            line.adjusted = line.counted - levels[line.product_id][0]
            if line.adjusted:
                changed += 1
                stock.move(company_id=company_id, product_id=line.product_id,
                           warehouse_id=count.warehouse_id, quantity=line.adjusted,
                           kind="adjustment", user=user, protect_reserved=False,
                           note=f"Count {count.number}",
                           source=stock.Source("stock_count_line", line.id, count.number))
        count.status, count.posted_at = "posted", utcnow()
        db.session.flush()
        _status(count, user, "draft", f"posted: {plural(changed, 'line')} adjusted of "
                f"{plural(len(lines), 'counted line')}", "stock_count")
    return count


def refresh_count(*, company_id: int, count_id: int, user: User | None) -> StockCount:
    """Set every line's expected quantity to the on-hand stock now (after stock moved
    while counting); the counts stay. Staff, on a draft. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        StockCount.workflow.begin(count, "refresh", user)
        current = dict(db.session.execute(
            select(StockLevel.product_id, StockLevel.on_hand)
            .where(StockLevel.company_id == company_id,
                   StockLevel.warehouse_id == count.warehouse_id,
                   StockLevel.product_id.in_([line.product_id for line in count.lines]))).all())
        changed = []
        for line in count.lines:
            now = current.get(line.product_id, ZERO)
            if now != line.expected:
                changed.append(f"{line.product.sku} {fmt(line.expected)} -> {fmt(now)}")
                line.expected = now
        if changed:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="stock_count", record_id=count.id,
                         summary=f"{count.number}: expected updated ({_named(changed)})"[:300])
    return count


def cancel_count(*, company_id: int, count_id: int, user: User | None) -> StockCount:
    """draft -> cancelled (nothing moved). Staff. Replay no-op. Commits."""
    with atomic():
        count = _lock(StockCount, company_id, count_id, "count sheet")
        if StockCount.workflow.begin(count, "cancel", user):
            audit.cancelled(count, company_id=company_id, user=user, record_type="stock_count")
    return count


# --- transfers ------------------------------------------------------------------------------

def _transfer_values(company_id: int, from_warehouse_id, to_warehouse_id, notes: str) -> dict:
    errors: dict[str, list[str]] = {}
    notes = clean_text(notes, "notes", NOTES_MAX, errors)
    source = document_warehouse(company_id, from_warehouse_id, errors, field="from_warehouse_id")
    target = document_warehouse(company_id, to_warehouse_id, errors, field="to_warehouse_id")
    if source is not None and target is not None and source.id == target.id:
        add_error(errors, "to_warehouse_id", _("Choose another warehouse than the one the "
                                             "stock comes from."))
    if errors:
        raise ValidationError(field_errors=errors)
    return {"from_warehouse_id": source.id, "to_warehouse_id": target.id, "notes": notes}


def create_transfer(*, company_id: int, user: User | None, from_warehouse_id, to_warehouse_id,
                    transfer_date: date | None = None, notes: str = "") -> StockTransfer:
    """A draft transfer between two active warehouses of the company. ValidationError
    (fields `from_warehouse_id`, `to_warehouse_id`, `notes`). Staff. Commits."""
    with atomic():
        values = _transfer_values(company_id, from_warehouse_id, to_warehouse_id, notes)
        transfer = StockTransfer(company_id=company_id, number=next_number(company_id, TRANSFER_SERIES),
                                 transfer_date=transfer_date or company_today(company_id),
                                 status="draft", created_by_id=user.id if user else None,
                                 **values)
        audit.created(transfer, company_id=company_id, user=user, record_type="stock_transfer",
                      summary=f"Transfer {transfer.number}")
    return transfer


def update_transfer(*, company_id: int, transfer_id: int, user: User | None, from_warehouse_id,
                    to_warehouse_id, transfer_date: date | None = None,
                    notes: str = "") -> StockTransfer:
    """Change a draft transfer's warehouses, date or notes. Staff. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        StockTransfer.workflow.begin_edit(transfer, user)
        values = _transfer_values(company_id, from_warehouse_id, to_warehouse_id, notes)
        values["transfer_date"] = transfer_date or transfer.transfer_date
        audit.updated(transfer, values, company_id=company_id, user=user,
                      record_type="stock_transfer", summary=lambda r: f"Updated {r.number}")
    return transfer


def add_transfer_line(*, company_id: int, user: User | None, transfer_id: int,
                      product_id: int | None, quantity) -> StockTransferLine:
    """Add a product to a draft transfer; a product already on it gets the quantity added
    to its line (a second scan). Staff. ValidationError, InvalidTransition. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        StockTransfer.workflow.begin_edit(transfer, user)
        errors: dict[str, list[str]] = {}
        product = checked(errors, _stocked_product, company_id, product_id)
        qty = checked(errors, stock.to_quantity, quantity)
        raise_errors(errors)
        line = next((line for line in transfer.lines if line.product_id == product.id), None)
        if line is None:
            if len(transfer.lines) >= MAX_TRANSFER_LINES:
                raise ValidationError(field_errors={"product": [
                    f"A transfer holds at most {MAX_TRANSFER_LINES} lines."]})
            line = StockTransferLine(company_id=company_id, product_id=product.id, quantity=qty)
            transfer.lines.append(line)
        else:
            total = line.quantity + qty
            if total > stock.MAX_QUANTITY:
                raise ValidationError(field_errors={"quantity": ["The number is too large."]})
            line.quantity = total
        db.session.flush()
        line.product = product
    return line


def update_transfer_line(*, company_id: int, user: User | None, transfer_id: int,
                         line_id: int, quantity) -> StockTransferLine:
    """Change a draft transfer line's quantity. Staff. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        StockTransfer.workflow.begin_edit(transfer, user)
        line = _line(transfer, line_id)
        line.quantity = stock.to_quantity(quantity)
    return line


def remove_transfer_line(*, company_id: int, user: User | None, transfer_id: int,
                         line_id: int) -> None:
    """Take a line off a draft transfer. Staff. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        StockTransfer.workflow.begin_edit(transfer, user)
        transfer.lines.remove(_line(transfer, line_id))


def post_transfer(*, company_id: int, transfer_id: int, user: User | None) -> StockTransfer:
    """draft -> posted: each line leaves the source warehouse and enters the target (two
    movements referring to the line), in one transaction. A manager. Refuses, nothing
    moved: no line, an archived warehouse (InvalidTransition), and every line without
    enough stock (not counting what is reserved), named at once (InsufficientStock).
    Replay no-op. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        if not StockTransfer.workflow.begin(transfer, "post", user):
            return transfer
        for warehouse in (transfer.from_warehouse, transfer.to_warehouse):
            if not warehouse.active:
                raise InvalidTransition(_('%(archived_message)s %(number)s cannot be posted; change it or cancel it.', archived_message=warehouse.archived_message, number=transfer.number))
        if not transfer.lines:
            raise ValidationError(_('%(number)s has no lines: add what moves first.', number=transfer.number))
        short = []
        source, target = transfer.from_warehouse, transfer.to_warehouse
        for line in transfer.lines:
            try:
                out = stock.move(company_id=company_id, product_id=line.product_id,
                                 warehouse_id=source.id, quantity=-line.quantity,
                                 kind="transfer_out", user=user, note=f"to {target.code}",
                                 source=stock.Source("stock_transfer_line", line.id,
                                                     transfer.number))
            except stock.InsufficientStock as error:
                name = _line_name(transfer, line)
                short.append(f"{name[0].upper()}{name[1:]}: {error}")
                continue
            stock.move(company_id=company_id, product_id=line.product_id,
                       warehouse_id=target.id, quantity=line.quantity, kind="transfer_in",
                       user=user, note=f"from {source.code}",
                       source=stock.Source("stock_transfer_line", line.id, transfer.number),
                       unit_cost=out.unit_cost, value=-out.value)
        if short:
            raise stock.InsufficientStock(_('%(number)s cannot be posted: %(value)s Nothing was moved.', number=transfer.number, value=' '.join(short)))
        transfer.status, transfer.posted_at = "posted", utcnow()
        db.session.flush()
        _status(transfer, user, "draft", f"posted: {plural(len(transfer.lines), 'line')} from "
                f"{source.code} to {target.code}", "stock_transfer")
    return transfer


def cancel_transfer(*, company_id: int, transfer_id: int, user: User | None) -> StockTransfer:
    """draft -> cancelled (nothing moved). Staff. Replay no-op. Commits."""
    with atomic():
        transfer = _lock(StockTransfer, company_id, transfer_id, "transfer")
        if StockTransfer.workflow.begin(transfer, "cancel", user):
            audit.cancelled(transfer, company_id=company_id, user=user,
                            record_type="stock_transfer")
    return transfer
