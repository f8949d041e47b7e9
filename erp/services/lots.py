"""Lots and serial numbers: which lots a document line of a tracked product moves.

A document form names them in one text field per line (`lot-<line id>`): for a product
tracked by lot, a lot code (the whole quantity) or several "CODE: quantity" separated by
commas or new lines; for one tracked by serial number, one serial number per unit. Stock
going out must come from lots with stock in the warehouse; the suggestion (and what a
one-click shipment or a production order takes when the user leaves the field empty) is
first-expiring first; stock coming back (a return) picks among what its document moved.
Receipts and production output create the lots they name. The stock service
(`stock.move(lot_id=)`) makes the final, atomic checks; this module parses, resolves and
suggests.
"""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from decimal import Decimal

from sqlalchemy import func, select

from erp.database import conflict_insert
from erp.extensions import db
from erp.formatting import quantity as fmt
from erp.models import Product, StockMovement, User, Warehouse
from erp.models.inventory import LOT_CODE_MAX, Lot, LotLevel
from erp.models.sales import LOTS_TEXT_MAX
from erp.parsing import parse_date
from erp.services import ValidationError, atomic, stock
from erp.i18n import _, ngettext

SEPARATORS = re.compile(r"[,;\n\r]+")
Picks = list[tuple[str, Decimal]]


def _noun(product: Product) -> str:
    return "serial number" if product.serial else "lot"


def _refuse(field: str, message: str) -> ValidationError:
    return ValidationError(message, field_errors={field: [message]})


def for_line(texts: dict, line_id: int) -> str | None:
    """A line's text from a form's {line id: text} (ids as text, or as numbers)."""
    return texts.get(str(line_id), texts.get(line_id))


def parse_picks(text: str | None, product: Product, quantity: Decimal, *, field: str,
                what: str = "") -> Picks:
    """The (code, quantity) pairs a line's lot field names, adding up to `quantity`.
    ValidationError on `field`: nothing named, a code too long, a quantity that does not
    parse, a serial number named twice or for other than one unit, or a total that is not
    the line's quantity. `what` starts the messages (e.g. "Line 2 (BOLT)")."""
    what = f"{what}: " if what else ""
    noun = _noun(product)
    text = (text or "").strip()
    if len(text) > LOTS_TEXT_MAX:
        raise _refuse(field, f"{what}at most {LOTS_TEXT_MAX} characters.")
    entries = [entry.strip() for entry in SEPARATORS.split(text) if entry.strip()]
    if product.serial:
        entries = [code for entry in entries for code in entry.split()] \
            if all(":" not in entry for entry in entries) else entries
    if not entries:
        hint = "one per unit" if product.serial else "its code"
        raise _refuse(field, f"{what}{product.sku} is tracked by {noun}: enter the {noun}"
                             f"{'s' if product.serial else ''} ({hint}).")
    picks: Picks = []
    for entry in entries:
        code, _unused, amount = entry.partition(":")
        code = code.strip()
        if not code or len(code) > LOT_CODE_MAX:
            raise _refuse(field, f"{what}a {noun} is 1 to {LOT_CODE_MAX} characters.")
        if not amount.strip():
            qty = Decimal(1) if product.serial else (quantity if len(entries) == 1 else None)
            if qty is None:
                raise _refuse(field, f"{what}give each lot its quantity, e.g. "
                                     f"\"{code}: 5, OTHER: 3\".")
        else:
            try:
                qty = stock.to_quantity(amount, field=field)
            except ValidationError as error:
                raise _refuse(field, f"{what}{code}: {error.field_errors[field][0]}") from None
        if product.serial and qty != 1:
            raise _refuse(field, f"{what}serial number {code} is one unit, not {fmt(qty)}.")
        if any(code == seen for seen, _ in picks):
            raise _refuse(field, f"{what}{noun} {code} is named twice.")
        picks.append((code, qty))
    total = sum((qty for _, qty in picks), Decimal(0))
    if total != quantity:
        counted = (f"{len(picks)} serial numbers" if product.serial
                   else f"the lots add up to {fmt(total)}")
        raise _refuse(field, f"{what}{counted}, the quantity is {fmt(quantity)}.")
    return picks


def resolve(company_id: int, product: Product, picks: Picks, *, field: str, what: str = "",
            warehouse: Warehouse | None = None, create: bool = False,
            expiry: date | None = None) -> list[tuple[Lot, Decimal]]:
    """The lots the picks name, one query. `create`: unknown codes become new lots (with
    `expiry`); otherwise an unknown code is refused. With `warehouse` (stock going out),
    each lot must hold its quantity there (checked again atomically by the stock service)."""
    what = f"{what}: " if what else ""
    codes = [code for code, _ in picks]
    if create:
        rows = [{"company_id": company_id, "product_id": product.id, "code": code,
                 "expiry": expiry, "created_at": func.now(), "updated_at": func.now()}
                for code in codes]
        db.session.execute(conflict_insert(Lot).values(rows).on_conflict_do_nothing(
            index_elements=["company_id", "product_id", "code"]))
    found = {lot.code: lot for lot in db.session.scalars(
        select(Lot).where(Lot.company_id == company_id, Lot.product_id == product.id,
                          Lot.code.in_(codes)))}
    missing = [code for code in codes if code not in found]
    if missing:
        raise _refuse(field, f"{what}no {_noun(product)} {', '.join(missing)} of "
                             f"{product.sku}.")
    if expiry is not None:
        for lot in found.values():
            if lot.expiry is None:
                lot.expiry = expiry
    if warehouse is not None:
        held = dict(db.session.execute(
            select(LotLevel.lot_id, LotLevel.on_hand).where(
                LotLevel.lot_id.in_([lot.id for lot in found.values()]),
                LotLevel.warehouse_id == warehouse.id)).all())
        short = [code for code, qty in picks if held.get(found[code].id, 0) < qty]
        if short:
            if product.serial:
                message = ngettext('serial number %(codes)s not in stock in %(code)s.',
                                   'serial numbers %(codes)s not in stock in %(code)s.', len(short),
                                   codes=', '.join(short), code=warehouse.code)
            else:
                message = "; ".join(f"lot {code} holds {fmt(held.get(found[code].id, 0))} in "
                                    f"{warehouse.code}" for code in short) + "."
            raise _refuse(field, f"{what}{message}")
    return [(found[code], qty) for code, qty in picks]


def in_stock(company_id: int, warehouse_id: int,
             product_ids: Iterable[int]) -> dict[int, list[tuple[Lot, Decimal]]]:
    """{product id: [(lot, on hand)]} of the lots with stock in the warehouse, first-expiring
    first (no expiry last, then oldest): one query for all the products."""
    ids = sorted(set(product_ids))
    found: dict[int, list[tuple[Lot, Decimal]]] = defaultdict(list)
    if not ids:
        return found
    for lot, on_hand in db.session.execute(
            select(Lot, LotLevel.on_hand).join(LotLevel, LotLevel.lot_id == Lot.id)
            .where(LotLevel.company_id == company_id, LotLevel.warehouse_id == warehouse_id,
                   LotLevel.product_id.in_(ids), LotLevel.on_hand > 0)
            .order_by(LotLevel.product_id, Lot.expiry.is_(None), Lot.expiry, Lot.id)):
        found[lot.product_id].append((lot, on_hand))
    return found


def first_expiring(lots: list[tuple[Lot, Decimal]], quantity: Decimal) -> list[tuple[Lot, Decimal]]:
    """The first-expiring lots covering `quantity` (fewer when the lots hold less)."""
    picks, left = [], quantity
    for lot, on_hand in lots:
        if left <= 0:
            break
        take = min(on_hand, left)
        picks.append((lot, take))
        left -= take
    return picks


def picks_text(product: Product, picks: list[tuple[Lot, Decimal]]) -> str:
    """Picks written as a lot field takes them."""
    if product.serial:
        return ", ".join(lot.code for lot, _ in picks)
    if len(picks) == 1:
        return picks[0][0].code
    return ", ".join(f"{lot.code}: {format(qty.normalize(), 'f')}" for lot, qty in picks)


def suggest(company_id: int, warehouse_id: int,
            lines: Iterable[tuple[int, Product, Decimal]]) -> dict[int, str]:
    """{line id: lot field text} suggesting first-expiring lots of the warehouse for each
    tracked line (id, product, quantity) going out; lines of one product share its lots, in
    line order. One query."""
    lines = [(line_id, product, qty) for line_id, product, qty in lines if product.tracked]
    held = in_stock(company_id, warehouse_id, [product.id for _, product, _ in lines])
    texts = {}
    for line_id, product, qty in lines:
        picks = first_expiring(held.get(product.id, []), qty)
        texts[line_id] = picks_text(product, picks)
        taken = {lot.id: took for lot, took in picks}
        held[product.id] = [(lot, on_hand - taken.get(lot.id, 0)) for lot, on_hand
                            in held.get(product.id, []) if on_hand > taken.get(lot.id, 0)]
    return texts


def chosen(company_id: int, product: Product, warehouse: Warehouse, quantity: Decimal,
           text: str | None, *, field: str, what: str = "") -> list[tuple[Lot, Decimal]]:
    """The lots a line going out of `warehouse` moves: those `text` names (parsed, and each
    holding its quantity there; ValidationError on `field` otherwise), or, left empty, the
    first-expiring ones (`auto_picks`: InsufficientStock when they hold too little)."""
    if not (text or "").strip():
        return auto_picks(company_id, product, warehouse, quantity, what=what)
    return resolve(company_id, product,
                   parse_picks(text, product, quantity, field=field, what=what),
                   field=field, what=what, warehouse=warehouse)


def choose_lines(company_id: int, warehouse: Warehouse,
                 lines: Iterable[tuple[int, Product, Decimal, str]],
                 texts: dict | None) -> dict[int, list[tuple[Lot, Decimal]]]:
    """{line id: lots} of the tracked lines (id, product, quantity, name in messages) going
    out of `warehouse`: what `texts` ({line id: lot field text}) names for each, or
    first-expiring lots where it names nothing. Every line's refusal at once: one
    ValidationError naming them all, on the fields `lot-<line id>`."""
    picked, errors = {}, {}
    for line_id, product, qty, what in lines:
        if not product.tracked:
            continue
        field = f"lot-{line_id}"
        try:
            picked[line_id] = chosen(company_id, product, warehouse, qty,
                                     for_line(texts or {}, line_id), field=field, what=what)
        except ValidationError as error:
            errors.update(error.field_errors or {field: [str(error)]})
        except stock.InsufficientStock as error:
            errors[field] = [str(error)]
    if errors:
        raise ValidationError(" ".join(m for messages in errors.values() for m in messages),
                              field_errors=errors)
    return picked


def auto_picks(company_id: int, product: Product, warehouse: Warehouse, quantity: Decimal,
               *, what: str = "") -> list[tuple[Lot, Decimal]]:
    """First-expiring lots for a movement nobody picked lots for (a one-click shipment, a
    production order's components); InsufficientStock when they hold too little."""
    picks = first_expiring(in_stock(company_id, warehouse.id, [product.id]).get(product.id, []),
                           quantity)
    held = sum((qty for _, qty in picks), Decimal(0))
    if held < quantity:
        raise stock.InsufficientStock(
            _('%(value)sthe %(value2)ss of %(sku)s in %(code)s hold %(value3)s, %(value4)s needed.', value=what + ': ' if what else '', value2=_noun(product), sku=product.sku, code=warehouse.code, value3=fmt(held), value4=fmt(quantity)),
            product_id=product.id, warehouse_id=warehouse.id, requested=quantity,
            available=held)
    return picks


def moved_by(company_id: int, *sources: tuple[str, object]) -> dict[Lot, Decimal]:
    """{lot: net quantity} the movements of the given (source type, source id select) moved,
    in the order the lots first moved: e.g. what a delivery line shipped (negative) and the
    returns of it brought back. One query."""
    from sqlalchemy import or_

    rows = db.session.execute(
        select(Lot, func.sum(StockMovement.quantity))
        .join(StockMovement, StockMovement.lot_id == Lot.id)
        .where(StockMovement.company_id == company_id, or_(*(
            (StockMovement.source_type == kind) & StockMovement.source_id.in_(ids)
            for kind, ids in sources)))
        .group_by(Lot.id).order_by(func.min(StockMovement.id)))
    return {lot: Decimal(str(total)).quantize(stock.QUANTITY_STEP) for lot, total in rows}


def take_back(lots: dict[Lot, Decimal], quantity: Decimal, *, product: Product,
              what: str) -> list[tuple[Lot, Decimal]]:
    """`quantity` out of `lots` ({lot: what may come back}), in their order; ValidationError
    when they hold too little (the document's lots are not these)."""
    picks = first_expiring([(lot, qty) for lot, qty in lots.items() if qty > 0], quantity)
    if sum((qty for _, qty in picks), Decimal(0)) < quantity:
        raise ValidationError(_('%(what)s: the %(value)ss of %(sku)s it moved hold less than %(value2)s. Nothing was moved.', what=what, value=_noun(product), sku=product.sku, value2=fmt(quantity)))
    return picks


def pick_from(held: dict[Lot, Decimal], text: str | None, product: Product,
              quantity: Decimal, *, field: str, what: str,
              origin: str) -> list[tuple[Lot, Decimal]]:
    """The lots `text` names out of `held` ({lot: what may move back}, e.g. what a delivery
    line shipped and no return took back yet; `origin` says so in the messages), or, left
    empty, `held` in its order (`take_back`). ValidationError on `field`: a lot or serial
    number not in `held` (of another product, line or warehouse, or returned already), or
    more than it holds there."""
    if not (text or "").strip():
        return take_back(held, quantity, product=product, what=what)
    by_code = {lot.code: (lot, room) for lot, room in held.items() if room > 0}
    picks, problems = [], []
    for code, qty in parse_picks(text, product, quantity, field=field, what=what):
        lot, room = by_code.get(code, (None, Decimal(0)))
        if lot is None:
            problems.append(_("%(code)s is not among %(origin)s (%(choices)s)", code=code,
                              origin=origin, choices=", ".join(by_code) or _("none")))
        elif room < qty:
            problems.append(_("%(code)s: only %(room)s of %(origin)s", code=code,
                              room=fmt(room), origin=origin))
        else:
            picks.append((lot, qty))
    if problems:
        raise _refuse(field, f"{what}: " + "; ".join(problems) + ".")
    return picks


def move_picks(picks: list[tuple[Lot, Decimal]], *, sign: int, company_id: int,
               product_id: int, warehouse_id: int, kind: str, user: User | None,
               source: stock.Source) -> list:
    """One movement per lot (in the caller's transaction); the movements."""
    return [stock.move(company_id=company_id, product_id=product_id, warehouse_id=warehouse_id,
                       quantity=sign * qty, kind=kind, user=user, source=source, lot_id=lot.id)
            for lot, qty in picks]


def parse_expiry(text: str | None, *, field: str) -> date | None:
    """An optional expiry date (YYYY-MM-DD); ValidationError on `field` otherwise."""
    text = (text or "").strip()[:40]
    day = parse_date(text)
    if text and day is None:
        raise _refuse(field, "Enter the expiry as a date (YYYY-MM-DD).")
    return day


def with_lot(use_case, *, company_id: int, product_id: int, lot: str | None,
             expiry: str | None = None, create: bool = False, **arguments):
    """A manual stock form's use case (`stock.receive`, `issue`, `transfer`, `adjust`) for
    the lot or serial number typed in its `lot` field, in one transaction: `create` makes a
    new lot (with `expiry`) for stock coming in. ValidationError on `lot` / `expiry`: none
    typed for a tracked product, one typed for an untracked one, an unknown one. Commits."""
    code = (lot or "").strip()
    with atomic():
        product = db.session.scalar(select(Product).where(
            Product.id == product_id, Product.company_id == company_id))
        lot_id = None
        if product is not None and product.tracked:
            if not code:
                raise _refuse("lot", f"{product.sku} is tracked by {_noun(product)}: enter "
                                     f"the {_noun(product)}.")
            if len(code) > LOT_CODE_MAX:
                raise _refuse("lot", f"A {_noun(product)} is at most {LOT_CODE_MAX} characters.")
            day = parse_expiry(expiry, field="expiry") if create else None
            lot_id = resolve(company_id, product, [(code, Decimal(1))], field="lot",
                             create=create, expiry=day)[0][0].id
        elif code and product is not None:
            raise _refuse("lot", f"{product.sku} is not tracked by lot or serial number: "
                                 "leave the lot empty.")
        return use_case(company_id=company_id, product_id=product_id, lot_id=lot_id,
                        **arguments)
