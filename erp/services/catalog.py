"""Catalog use cases: categories, products, suppliers, and a product's cost.

Moving-average cost: whatever puts stock in at a known unit cost (a purchase receipt, a
production order's output) goes through `receive_at_cost`, so the product's cost price
becomes (max(on-hand before, 0) x old cost + quantity x unit cost) / (on-hand before +
quantity), on-hand being the total over all warehouses just before, rounded half-up to
cents.
"""
from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal

from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError

from erp.collation import same_text
from erp.extensions import db
from erp.models import (PRODUCT_KINDS, Category, Product, StockLevel, StockMovement, Supplier,
                        User)
from erp.services import stock, valuation
from erp.models.base import ZERO
from erp.models.catalog import CATEGORY_TEXT, PRODUCT_TEXT, SUPPLIER_TEXT, TRACKING, UNITS
from erp.models.money import TaxCode
from erp.formatting import quantity as fmt_quantity
from erp.services import (DomainError, NotFound, PermissionDenied, ValidationError, atomic,
                          audit, pickers)
from erp.services import validation
from erp.services.validation import clean_texts
from erp.i18n import _

# ASCII digits, at most 18 (\d would take "²" and "١", which int() refuses or maps; more
# digits than a BIGINT holds overflow SQLite's driver)


def find_product(company_id: int, text: str | None) -> Product | None:
    """The product a picker value names: its SKU (case-insensitive), its barcode (exactly,
    when no SKU matches), or 'anything [#id]'. Every product picker resolves here."""
    return pickers.resolve(Product, company_id, text, Product.sku,
                           key=lambda value: value.split(" · ")[0].strip(),
                           exact=(Product.barcode,))


# --- Create, update, archive and delete -------------------------------------------------
#
# Every use case below is one transaction (`atomic()`), checks the company itself, writes
# an audit entry, and raises ValidationError with all field problems at once.

MAX_MONEY = Decimal("999999999999.99")
MONEY_STEP = Decimal("0.01")


class InUse(DomainError):
    """A record that other records refer to: it can be deactivated, not deleted."""


def _decimal(values: dict, name: str, errors: dict, *, step: Decimal, maximum: Decimal) -> Decimal:
    if validation.blank(values.get(name)):
        return ZERO
    try:
        return validation.number(values.get(name), step=step, maximum=maximum,
                                 too_large="The number is too large.")
    except validation.BadValue as problem:
        validation.add_error(errors, name, str(problem))
        return ZERO


def _reference_id(values: dict, name: str, errors: dict, model, company_id: int,
                  message: str) -> int | None:
    raw = values.get(name)
    if raw in (None, "", 0, "0"):
        return None
    try:
        record_id = int(raw)
    except (TypeError, ValueError):
        record_id = None
    if record_id is None or not 0 < record_id < 2**63:  # beyond 64 bits SQLite's driver raises
        errors.setdefault(name, []).append(message)
        return None
    exists = db.session.scalar(
        select(model.id).where(model.id == record_id, model.company_id == company_id))
    if exists is None:
        errors.setdefault(name, []).append(message)
        return None
    return record_id


def _get(model, company_id: int, record_id: int, what: str):
    record = validation.company_record(model, company_id, record_id)
    if record is None:
        raise NotFound(_('No such %(what)s.', what=what))
    return record


def _delete(record, *, company_id: int, user: User | None, record_type: str, label: str,
            in_use: str | None = None) -> None:
    """Delete `record`; the database's RESTRICT foreign keys decide whether it is in use.

    Whatever tables other modules add, a referenced row makes the DELETE fail with an
    IntegrityError: the transaction is rolled back and InUse raised (deactivate instead).
    """
    if in_use:
        raise InUse(in_use)
    record_id = record.id
    try:
        with atomic():
            db.session.delete(record)
            db.session.flush()
            audit.record(company_id=company_id, user=user, action="delete",
                         record_type=record_type, record_id=record_id,
                         summary=f"Deleted {record_type} {label}")
    except IntegrityError:
        raise InUse(_('%(label)s is in use by other records and cannot be deleted. Deactivate it instead.', label=label)) from None


def _named_by(model, column, company_id: int, record_id: int, message: str) -> str | None:
    """`message` when a record of `model` in the company names `record_id` in `column`
    (why the record cannot be deleted), else None."""
    named = db.session.scalar(select(model.id).where(model.company_id == company_id,
                                                     column == record_id).limit(1))
    return message if named is not None else None


def _set_active(get, active: bool, *, company_id: int, user: User | None, record_type: str,
                label: str = "name"):
    """Archive (`active` false) or reactivate the record `get()` reads (NotFound for
    another company's), audited with its `label` attribute. Commits; returns the record."""
    with atomic():
        record = get()
        _record_active(record, active, company_id=company_id, user=user,
                       record_type=record_type, label=getattr(record, label))
    return record


def _record_active(record, active: bool, *, company_id: int, user: User | None,
                   record_type: str, label: str) -> None:
    with atomic():
        changes = audit.diff(record, {"active": bool(active)})
        if changes:
            audit.record(company_id=company_id, user=user,
                         action="activate" if active else "deactivate",
                         record_type=record_type, record_id=record.id,
                         summary=f"{'Reactivated' if active else 'Deactivated'} {label}",
                         changes=changes)


# Cost

def moving_average_cost(on_hand_before: Decimal, old_cost: Decimal, quantity: Decimal,
                        unit_cost: Decimal) -> Decimal:
    """The product's new cost price after receiving `quantity` at `unit_cost`.

    new cost = (max(on_hand_before, 0) * old_cost + quantity * unit_cost)
               / (max(on_hand_before, 0) + quantity), rounded half-up to cents.
    `on_hand_before` is the product's on-hand total over all warehouses before the receipt.
    """
    before = max(Decimal(on_hand_before), ZERO)
    denominator = before + quantity
    value = (Decimal(unit_cost) if denominator <= 0
             else (before * Decimal(old_cost) + quantity * Decimal(unit_cost)) / denominator)
    return value.quantize(MONEY_STEP, rounding=ROUND_HALF_UP)


def on_hand_total(company_id: int, product_id: int) -> Decimal:
    """The product's on-hand quantity summed over its warehouses."""
    total = db.session.scalar(select(func.coalesce(func.sum(StockLevel.on_hand), 0)).where(
        StockLevel.company_id == company_id, StockLevel.product_id == product_id))
    return Decimal(str(total)).quantize(stock.QUANTITY_STEP)


def _locked_product(company_id: int, product_id: int) -> Product:
    """The product row, locked until the transaction ends (its cost is read and written in
    turn), with fresh values; NotFound for another company's."""
    product = db.session.scalar(
        select(Product).where(Product.id == product_id, Product.company_id == company_id)
        .with_for_update().execution_options(populate_existing=True))
    if product is None:
        raise NotFound(_("No such product."))
    return product


def receive_at_cost(*, company_id: int, user: User | None, product_id: int, warehouse_id: int,
                    quantity: Decimal, unit_cost: Decimal, kind: str, source: stock.Source,
                    lot_id: int | None = None, value: Decimal | None = None) -> StockMovement:
    """Put `quantity` into stock (movement `kind`, from `source`) valued at `unit_cost`: the
    product's cost price moves by moving average, with an audit entry when it changes.

    The product row is locked first, so concurrent receipts of one product update its cost
    in turn. The movement (and its warehouse's stock value) is valued at `unit_cost`, or at
    exactly `value` when given (production output: what its components left with). Raises
    what `stock.move` raises. Flushes only: the caller's transaction.
    """
    product = _locked_product(company_id, product_id)
    on_hand_before = on_hand_total(company_id, product.id)
    movement = stock.move(company_id=company_id, product_id=product.id,
                          warehouse_id=warehouse_id, quantity=quantity, kind=kind, user=user,
                          source=source, lot_id=lot_id, unit_cost=unit_cost, value=value)
    new_cost = moving_average_cost(on_hand_before, product.cost_price, quantity, unit_cost)
    if new_cost != product.cost_price:
        audit.record(company_id=company_id, user=user, action="update", record_type="product",
                     record_id=product.id,
                     summary=f"Cost of {product.sku} by moving average after {source.reference}",
                     changes={"cost_price": (product.cost_price, new_cost)})
        product.cost_price = new_cost
    return movement


# Products

PRODUCT_FIELDS = ("sku", "name", "kind", "category_id", "unit", "sale_price", "cost_price",
                  "min_stock", "barcode", "description", "preferred_supplier_id",
                  "tax_code_id")


def _product_values(company_id: int, values: dict, *, product_id: int | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, PRODUCT_TEXT, errors) | {
        "sale_price": _decimal(values, "sale_price", errors, step=MONEY_STEP, maximum=MAX_MONEY),
        "cost_price": _decimal(values, "cost_price", errors, step=MONEY_STEP, maximum=MAX_MONEY),
        "min_stock": _decimal(values, "min_stock", errors, step=Decimal("0.001"),
                              maximum=Decimal("99999999999")),
        "category_id": _reference_id(values, "category_id", errors, Category, company_id,
                                     "Choose a category of this company."),
        "preferred_supplier_id": _reference_id(values, "preferred_supplier_id", errors, Supplier,
                                               company_id, "Choose a supplier of this company."),
    }
    if "tax_code_id" in values:  # left out (an import): unchanged
        clean["tax_code_id"] = _reference_id(values, "tax_code_id", errors, TaxCode,
                                             company_id, "Choose a tax code of this company.")
    if "tracking" in values:  # left out (an import, the API): unchanged
        clean["tracking"] = values.get("tracking") or "none"
        if clean["tracking"] not in TRACKING:
            errors.setdefault("tracking", []).append(_("Choose how the product is tracked."))
        elif clean["tracking"] != "none" and values.get("kind") == "service":
            errors.setdefault("tracking", []).append(_("A service carries no stock to track."))
    kind = values.get("kind") or "finished_good"
    if kind not in PRODUCT_KINDS:
        errors.setdefault("kind", []).append(_("Choose a kind."))
    clean["kind"] = kind
    unit = values.get("unit") or "pcs"
    if unit not in UNITS:
        errors.setdefault("unit", []).append(_("Choose a unit."))
    clean["unit"] = unit
    if clean["sku"] and "sku" not in errors:
        stmt = select(Product.id).where(Product.company_id == company_id,
                                        func.lower(Product.sku) == clean["sku"].lower())
        if product_id is not None:
            stmt = stmt.where(Product.id != product_id)
        if db.session.scalar(stmt) is not None:
            errors.setdefault("sku", []).append(_('SKU %(value)s is taken.', value=clean['sku']))
    if clean.get("barcode") and "barcode" not in errors:
        _check_barcode(company_id, clean["barcode"], product_id, errors)
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


def _check_barcode(company_id: int, barcode: str, product_id: int | None, errors: dict) -> None:
    """A barcode names one product of the company: not another's barcode, nor another's SKU
    (a scan resolves the SKU first, so that product would be picked instead)."""
    others = select(Product.sku).where(Product.company_id == company_id)
    if product_id is not None:
        others = others.where(Product.id != product_id)
    taken = db.session.scalar(others.where(Product.barcode == barcode).limit(1))
    if taken is not None:
        errors.setdefault("barcode", []).append(_('Barcode %(barcode)s is taken by %(taken)s.', barcode=barcode, taken=taken))
        return
    taken = db.session.scalar(others.where(func.lower(Product.sku) == barcode.lower()).limit(1))
    if taken is not None:
        errors.setdefault("barcode", []).append(
            _('%(barcode)s is the SKU of %(taken)s: a scan would pick that product.', barcode=barcode, taken=taken))


def _taken(error: IntegrityError) -> ValidationError:
    """A concurrent create or change took the SKU or the barcode."""
    if "barcode" in str(error.orig).lower():
        return ValidationError(field_errors={"barcode": ["This barcode is taken."]})
    return ValidationError(field_errors={"sku": ["This SKU is taken."]})


def create_product(*, company_id: int, user: User | None, **values) -> Product:
    """Create a product; a taken SKU, bad number or foreign reference is a ValidationError.
    Commits."""
    try:
        with atomic():
            clean = _product_values(company_id, values)
            product = Product(company_id=company_id, **clean)
            audit.created(product, company_id=company_id, user=user, record_type="product",
                          summary=f"Created product {product.sku}")
    except IntegrityError as error:  # a concurrent create took the SKU or the barcode
        raise _taken(error) from None
    return product


def update_product(*, company_id: int, product_id: int, user: User | None, **values) -> Product:
    """Change a product's fields (all validated as on create). NotFound for another
    company's product. The unit of a product with stock movements does not change; the
    cost of one with stock on hand changes only for a manager, recorded as a revaluation
    (ValidationError for the others). Commits."""
    try:
        with atomic():
            product = _locked_product(company_id, product_id)
            clean = _product_values(company_id, values, product_id=product.id)
            if "kind" in clean and clean["kind"] == "service" and product.kind != "service":
                held = db.session.scalar(select(func.count()).select_from(StockLevel).where(
                    StockLevel.product_id == product.id, StockLevel.on_hand != 0))
                if held:
                    raise ValidationError(field_errors={
                        "kind": ["This product has stock; a service carries none."]})
            if clean.get("tracking", product.tracking) != product.tracking:
                _check_tracking_change(company_id, product)
            on_hand = (on_hand_total(company_id, product.id)
                       if clean["cost_price"] != product.cost_price else ZERO)
            _check_unit_and_cost(company_id, product, clean, user, on_hand)
            if on_hand:
                # a manager (checked above): the cost change is a revaluation of the stock
                _revalue(company_id, product, clean.pop("cost_price"), user, on_hand,
                         reason="changed on the product form")
            if clean.get("category_id", product.category_id) != product.category_id:
                valuation.recategorize(company_id=company_id, product_id=product.id,
                                       old=product.category_id, new=clean["category_id"])
            audit.updated(product, clean, company_id=company_id, user=user,
                          record_type="product", summary=lambda r: f"Updated product {r.sku}")
    except IntegrityError as error:
        raise _taken(error) from None
    return product


def _check_tracking_change(company_id: int, product: Product) -> None:
    """How a product is tracked changes only while it has no stock: the stock on hand was
    moved under the old rule (with or without lots), so it would not add up under the new."""
    on_hand = on_hand_total(company_id, product.id)
    if on_hand:
        raise ValidationError(field_errors={"tracking": [
            f"{product.sku} has {fmt_quantity(on_hand)} {product.unit} on hand: its tracking "
            "changes only once it has no stock."]})


def _check_unit_and_cost(company_id: int, product: Product, clean: dict,
                         user: User | None, on_hand: Decimal) -> None:
    """The unit of a product with stock movements never changes (every quantity in the
    ledger is in it); the cost of a product with stock on hand (`on_hand`, read when the
    cost changes) changes only by a manager's revaluation. ValidationError names both
    problems at once."""
    errors: dict[str, list[str]] = {}
    if clean["unit"] != product.unit and db.session.scalar(select(StockMovement.id).where(
            StockMovement.company_id == company_id,
            StockMovement.product_id == product.id).limit(1)) is not None:
        errors["unit"] = [f"{product.sku} has stock movements in {product.unit}: its unit "
                          "cannot change. Create a new product for the new unit."]
    if on_hand and not (user and user.has_role("manager")):
        errors["cost_price"] = [
            f"{product.sku} has {fmt_quantity(on_hand)} {product.unit} on hand: only a "
            "manager can change its cost, as a revaluation of that stock."]
    if errors:
        raise ValidationError(field_errors=errors)


def _revalue(company_id: int, product: Product, cost: Decimal, user: User | None,
             on_hand: Decimal, *, reason: str) -> None:
    """Set the cost of a product (locked by the caller: `_locked_product`) and record the
    revaluation: the old and new cost, the quantity `on_hand` and the value it changes.
    The stock on hand in every warehouse is valued at the new cost (a "revaluation"
    movement per warehouse, erp.services.stock.revalue). Flushes."""
    stock.revalue(company_id=company_id, product=product, cost=cost, user=user,
                  note=f"Revaluation: {reason}")
    old, product.cost_price = product.cost_price, cost
    change = ((cost - old) * on_hand).quantize(MONEY_STEP, rounding=ROUND_HALF_UP)
    audit.record(company_id=company_id, user=user, action="revalue", record_type="product",
                 record_id=product.id,
                 summary=f"Revalued {product.sku}: {fmt_quantity(on_hand)} {product.unit} on "
                         f"hand from {old} to {cost} a unit ({'+' if change >= 0 else ''}"
                         f"{change}): {reason}",
                 changes={"cost_price": (old, cost), "on_hand": (on_hand, on_hand),
                          "stock_value": ((old * on_hand).quantize(MONEY_STEP),
                                          (cost * on_hand).quantize(MONEY_STEP))})


def revalue_product(*, company_id: int, product_id: int, user: User | None, cost_price,
                    reason: str) -> Product:
    """A manager sets the cost of a product, typically one with stock on hand: a recorded
    revaluation (audit entry `revalue` with the old and new cost, the quantity on hand and
    the stock value before and after). Raises PermissionDenied, NotFound, ValidationError
    (a bad cost, no reason, the same cost). Commits."""
    if user is None or not user.has_role("manager"):
        raise PermissionDenied(_("Only a manager may revalue a product's cost."))
    errors: dict[str, list[str]] = {}
    cost = _decimal({"cost_price": cost_price}, "cost_price", errors, step=MONEY_STEP,
                    maximum=MAX_MONEY)
    if validation.blank(cost_price):
        errors.setdefault("cost_price", []).append(_("Enter the new cost."))
    reason = validation.clean_text(reason, "reason", 200, errors, "Say why the cost changes.")
    with atomic():
        product = _locked_product(company_id, product_id)
        if not product.stocked:
            errors.setdefault("cost_price", []).append(
                _("A service carries no stock to revalue: edit the product instead."))
        elif "cost_price" not in errors and cost == product.cost_price:
            errors.setdefault("cost_price", []).append(_('The cost is %(cost)s already.', cost=cost))
        if errors:
            raise ValidationError(field_errors=errors)
        _revalue(company_id, product, cost, user, on_hand_total(company_id, product.id),
                 reason=reason)
    return product


def set_product_active(*, company_id: int, product_id: int, active: bool,
                       user: User | None) -> Product:
    """Archive (deactivate) or reactivate a product; archived ones leave pickers. Commits."""
    return _set_active(lambda: _get(Product, company_id, product_id, "product"), active,
                       company_id=company_id, user=user, record_type="product", label="sku")


def product_in_use(company_id: int, product_id: int) -> str | None:
    """Why a product cannot be deleted (known references), or None: the stock ledger and
    levels holding stock. Documents of other modules are caught by the foreign keys."""
    moved = db.session.scalar(select(StockMovement.id).where(
        StockMovement.company_id == company_id, StockMovement.product_id == product_id).limit(1))
    if moved is not None:
        return _("This product has stock movements, so it cannot be deleted. Deactivate it instead.")
    held = db.session.scalar(select(StockLevel.id).where(
        StockLevel.company_id == company_id, StockLevel.product_id == product_id,
        (StockLevel.on_hand != 0) | (StockLevel.reserved != 0)).limit(1))
    if held is not None:
        return _("This product holds stock, so it cannot be deleted. Deactivate it instead.")
    return None


def delete_product(*, company_id: int, product_id: int, user: User | None) -> None:
    """Delete an unreferenced product; InUse if anything refers to it (nothing is written).
    Empty stock level rows (no movement ever) go with it. Commits."""
    product = _get(Product, company_id, product_id, "product")
    reason = product_in_use(company_id, product.id)
    label = product.sku
    if reason is None:
        try:
            with atomic():
                product = _get(Product, company_id, product_id, "product")
                db.session.execute(delete(StockLevel).where(
                    StockLevel.company_id == company_id, StockLevel.product_id == product.id))
                _delete(product, company_id=company_id, user=user, record_type="product",
                        label=label)
        except IntegrityError:
            reason = (_('%(label)s is in use by other records and cannot be deleted. Deactivate it instead.', label=label))
    if reason:
        raise InUse(reason)


# Categories

def _category_values(company_id: int, values: dict, *, category_id: int | None = None) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, CATEGORY_TEXT, errors) | {
        "parent_id": _reference_id(values, "parent_id", errors, Category, company_id,
                                   "Choose a category of this company."),
    }
    if clean["name"] and "name" not in errors:
        stmt = select(Category.id).where(Category.company_id == company_id,
                                         same_text(Category.name, clean["name"]))
        if category_id is not None:
            stmt = stmt.where(Category.id != category_id)
        if db.session.scalar(stmt) is not None:
            errors.setdefault("name", []).append(_('A category named %(value)s exists.', value=clean['name']))
    if category_id is not None and clean["parent_id"] is not None:
        # walk up from the new parent: reaching this category would make a loop
        seen, current = set(), clean["parent_id"]
        while current is not None and current not in seen:
            if current == category_id:
                errors.setdefault("parent_id", []).append(
                    _("A category cannot be inside itself or one of its subcategories."))
                break
            seen.add(current)
            current = db.session.scalar(select(Category.parent_id).where(Category.id == current))
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


def create_category(*, company_id: int, user: User | None, **values) -> Category:
    """Create a category (name unique per company). Commits."""
    try:
        with atomic():
            category = Category(company_id=company_id, **_category_values(company_id, values))
            audit.created(category, company_id=company_id, user=user, record_type="category",
                          summary=f"Created category {category.name}")
    except IntegrityError:
        raise ValidationError(field_errors={"name": ["This name is taken."]}) from None
    return category


def update_category(*, company_id: int, category_id: int, user: User | None,
                    **values) -> Category:
    """Rename or move a category (never into itself). Commits."""
    try:
        with atomic():
            category = _get(Category, company_id, category_id, "category")
            clean = _category_values(company_id, values, category_id=category.id)
            audit.updated(category, clean, company_id=company_id, user=user,
                          record_type="category", summary=lambda r: f"Updated category {r.name}")
    except IntegrityError:
        raise ValidationError(field_errors={"name": ["This name is taken."]}) from None
    return category


def set_category_active(*, company_id: int, category_id: int, active: bool,
                        user: User | None) -> Category:
    """Archive or reactivate a category. Commits."""
    return _set_active(lambda: _get(Category, company_id, category_id, "category"), active,
                       company_id=company_id, user=user, record_type="category")


def delete_category(*, company_id: int, category_id: int, user: User | None) -> None:
    """Delete a category no product or subcategory uses; InUse otherwise. Commits."""
    category = _get(Category, company_id, category_id, "category")
    reason = (_named_by(Product, Product.category_id, company_id, category.id,
                        _("Products belong to this category, so it cannot be deleted. Deactivate it instead."))
              or _named_by(Category, Category.parent_id, company_id, category.id,
                           _("This category has subcategories, so it cannot be deleted. Deactivate it instead.")))
    _delete(category, company_id=company_id, user=user, record_type="category",
            label=category.name, in_use=reason)


# Suppliers

def _supplier_values(company_id: int, values: dict) -> dict:
    errors: dict[str, list[str]] = {}
    clean = clean_texts(values, SUPPLIER_TEXT, errors)
    if clean["email"] and "email" not in errors and not EMAIL.match(clean["email"]):
        errors.setdefault("email", []).append(_("Enter a valid email address."))
    if "payment_terms_id" in values:  # left out (an import): unchanged
        clean["payment_terms_id"] = validation.payment_terms_id(
            company_id, values["payment_terms_id"], errors)
    if errors:
        raise ValidationError(field_errors=errors)
    return clean


EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def create_supplier(*, company_id: int, user: User | None, **values) -> Supplier:
    """Create a supplier. Commits."""
    with atomic():
        supplier = Supplier(company_id=company_id, **_supplier_values(company_id, values))
        audit.created(supplier, company_id=company_id, user=user, record_type="supplier",
                      summary=f"Created supplier {supplier.name}")
    return supplier


def update_supplier(*, company_id: int, supplier_id: int, user: User | None,
                    **values) -> Supplier:
    """Change a supplier's fields. Commits."""
    with atomic():
        supplier = _get(Supplier, company_id, supplier_id, "supplier")
        changes = audit.diff(supplier, _supplier_values(company_id, values))
        if changes:
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="supplier", record_id=supplier.id,
                         summary=f"Updated supplier {supplier.name}", changes=changes)
    return supplier


def set_supplier_active(*, company_id: int, supplier_id: int, active: bool,
                        user: User | None) -> Supplier:
    """Archive or reactivate a supplier. Commits."""
    return _set_active(lambda: _get(Supplier, company_id, supplier_id, "supplier"), active,
                       company_id=company_id, user=user, record_type="supplier")


def delete_supplier(*, company_id: int, supplier_id: int, user: User | None) -> None:
    """Delete a supplier that no product prefers and no document names; InUse otherwise."""
    supplier = _get(Supplier, company_id, supplier_id, "supplier")
    reason = _named_by(Product, Product.preferred_supplier_id, company_id, supplier.id,
                       _("Products name this supplier as preferred, so it cannot be deleted. "
                         "Deactivate it instead."))
    _delete(supplier, company_id=company_id, user=user, record_type="supplier",
            label=supplier.name, in_use=reason)


def find_supplier(company_id: int, text: str | None) -> Supplier | None:
    """The supplier a picker value names: 'Name [#id]', or its only exact name."""
    return pickers.resolve(Supplier, company_id, text, Supplier.name)
