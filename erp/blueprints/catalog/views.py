"""Catalog: products, categories, suppliers.

Lists search, filter, sort and page through the query string (htmx swaps the results
block); forms validate in the form and again in `erp.services.catalog`; delete is for
managers and only for unreferenced records (the database's foreign keys decide).
"""
from __future__ import annotations

from decimal import Decimal

from flask import Blueprint, current_app, flash, render_template, request, url_for
from flask_login import current_user
from sqlalchemy import func, or_, select
from sqlalchemy.orm import aliased, joinedload, raiseload

from erp.auth import require_role
from erp.blueprints.catalog.forms import CategoryForm, ProductForm, SupplierForm
from erp.csv_io import dated_csv, export_csv, export_limited, wants_csv
from erp.extensions import db
from erp.forms import choices
from erp.models import (PRODUCT_KINDS, Category, Product, StockLevel, StockMovement, Supplier,
                        Warehouse)
from erp.models.base import ZERO
from erp.queries.search import product_matches
from erp.queries import company_select, paginate, scoped_get_or_404
from erp.services import DomainError, ValidationError
from erp.services import catalog as catalog_service
from erp.services import imports as import_service
from erp.web import (ListParams, apply_field_errors, form_status, picker_query,
                     redirect_after_post, render)

bp = Blueprint("catalog", __name__, url_prefix="/catalog")

STATUS_CHOICES = [("active", "Active"), ("archived", "Archived"), ("all", "Active and archived")]
KIND_CHOICES = list(PRODUCT_KINDS.items())
CHOICE_LIMIT = 500  # categories in a select; a company has tens, never thousands


def endpoint_url(endpoint: str, **values) -> str | None:
    """The URL of another module's page, or None while that module is not built."""
    if endpoint not in current_app.view_functions:
        return None
    return url_for(endpoint, **values)


def _status_filter(stmt, model, status: str):
    if status == "archived":
        return stmt.where(model.active.is_(False))
    if status == "all":
        return stmt
    return stmt.where(model.active.is_(True))


def _id_filter(value: str) -> int | None:
    return int(value) if value.isascii() and value.isdigit() and len(value) < 12 else None


def _category_choices(company_id: int, *, exclude: int | None = None) -> list[tuple[str, str]]:
    stmt = (select(Category.id, Category.name).where(Category.company_id == company_id)
            .order_by(Category.name, Category.id).limit(CHOICE_LIMIT))
    return [(str(cid), name) for cid, name in db.session.execute(stmt) if cid != exclude]


def stock_totals(product_ids: list[int]) -> dict[int, tuple[Decimal, Decimal]]:
    """(on hand, reserved) over all warehouses for each product id: one grouped query."""
    if not product_ids:
        return {}
    stmt = (select(StockLevel.product_id, func.sum(StockLevel.on_hand),
                   func.sum(StockLevel.reserved))
            .where(StockLevel.company_id == current_user.company_id,
                   StockLevel.product_id.in_(product_ids))
            .group_by(StockLevel.product_id))
    return {pid: (Decimal(on_hand or 0), Decimal(reserved or 0))
            for pid, on_hand, reserved in db.session.execute(stmt)}


def import_format_csv(kind: str, stmt):
    """A list's filtered rows as CSV in the import's format (so the file imports back)."""
    return dated_csv(kind, import_service.export_header(kind),
                     import_service.export_rows(kind, current_user.company_id, stmt=stmt))


# Products

PRODUCT_SORTS = {"sku": Product.sku, "name": Product.name, "kind": Product.kind,
                 "price": Product.sale_price, "min_stock": Product.min_stock,
                 "created": Product.created_at}


@bp.route("/products")
@require_role("viewer")
@export_limited
def product_list():
    params = ListParams.from_request(sort_keys=list(PRODUCT_SORTS), default_sort="sku",
                                     filters=["category", "kind", "status", "low", "supplier"])
    company_id = current_user.company_id
    stmt = company_select(Product)
    if params.q:
        stmt = stmt.where(product_matches(params.q))
    if (category_id := _id_filter(params.filters["category"])) is not None:
        stmt = stmt.where(Product.category_id == category_id)
    if (supplier_id := _id_filter(params.filters["supplier"])) is not None:
        stmt = stmt.where(Product.preferred_supplier_id == supplier_id)
    if params.filters["kind"] in PRODUCT_KINDS:
        stmt = stmt.where(Product.kind == params.filters["kind"])
    stmt = _status_filter(stmt, Product, params.filters["status"])
    if params.filters["low"] == "1":
        stmt = stmt.where(Product.kind != "service", Product.min_stock > 0,
                          Product.available < Product.min_stock)
    column = PRODUCT_SORTS[params.sort_key]
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(), Product.id)
    if wants_csv():
        return import_format_csv("products", stmt)
    # a search shows "Rows 1-20" without a total: the page stops at its 21st match, while
    # counting the matches of a rare term would read every product (erp.queries.search)
    page = paginate(stmt.options(joinedload(Product.category), raiseload("*")),
                    page=params.page, per_page=params.per_page, count=not params.q)
    totals = stock_totals([p.id for p in page.items])
    return render("catalog/products.html", block="results", page=page, params=params,
                  totals=totals, categories=_category_choices(company_id),
                  kinds=KIND_CHOICES, statuses=STATUS_CHOICES)


def _product_form(form: ProductForm) -> ProductForm:
    form.category_id.choices = choices([("", "— none —")]
                                       + _category_choices(current_user.company_id))
    return form


def _product_values(form: ProductForm) -> dict | None:
    """The service's values from the form, or None with a field error on the supplier."""
    supplier_id = None
    text = (form.preferred_supplier.data or "").strip()
    if text:
        supplier = catalog_service.find_supplier(current_user.company_id, text)
        if supplier is None:
            form.preferred_supplier.errors = list(form.preferred_supplier.errors) + [
                "Choose a supplier from the list."]
            return None
        supplier_id = supplier.id
    return {"sku": form.sku.data, "name": form.name.data, "kind": form.kind.data,
            "category_id": form.category_id.data or None, "unit": form.unit.data,
            "sale_price": form.sale_price.data, "cost_price": form.cost_price.data,
            "min_stock": form.min_stock.data, "barcode": form.barcode.data,
            "description": form.description.data, "preferred_supplier_id": supplier_id}


def _save_product(form: ProductForm, product_id: int | None):
    if not form.validate_on_submit():
        return None
    values = _product_values(form)
    if values is None:
        return None
    try:
        if product_id is None:
            return catalog_service.create_product(company_id=current_user.company_id,
                                                  user=current_user, **values)
        return catalog_service.update_product(company_id=current_user.company_id,
                                              product_id=product_id, user=current_user, **values)
    except ValidationError as error:
        _rename_errors(error, {"preferred_supplier_id": "preferred_supplier"})
        apply_field_errors(form, error)
    return None


def _rename_errors(error: ValidationError, names: dict[str, str]) -> None:
    for old, new in names.items():
        if old in error.field_errors:
            error.field_errors[new] = error.field_errors.pop(old)


@bp.route("/products/new", methods=["GET", "POST"])
@require_role("staff")
def product_create():
    form = _product_form(ProductForm())
    product = _save_product(form, None)
    if product is not None:
        flash(f"Product {product.sku} created.", "success")
        return redirect_after_post("catalog.product_detail", product_id=product.id)
    return render("catalog/product_form.html", form=form, product=None,
                  status=form_status(form))


@bp.route("/products/<int:product_id>")
@require_role("viewer")
def product_detail(product_id: int):
    product = scoped_get_or_404(Product, product_id, joinedload(Product.category),
                                joinedload(Product.preferred_supplier))
    levels = list(db.session.scalars(
        select(StockLevel).join(StockLevel.warehouse)
        .where(StockLevel.company_id == current_user.company_id,
               StockLevel.product_id == product.id)
        .options(joinedload(StockLevel.warehouse), raiseload("*"))
        .order_by(Warehouse.code, StockLevel.id).limit(100)))
    params = ListParams.from_request(sort_keys=["created"], default_sort="-created")
    movements = paginate(
        select(StockMovement)
        .where(StockMovement.company_id == current_user.company_id,
               StockMovement.product_id == product.id)
        .options(joinedload(StockMovement.warehouse), joinedload(StockMovement.user),
                 raiseload("*"))
        .order_by(StockMovement.created_at.desc(), StockMovement.id.desc()),
        page=params.page, per_page=params.per_page, count=False)
    totals = (sum((lv.on_hand for lv in levels), ZERO), sum((lv.reserved for lv in levels), ZERO))
    return render("catalog/product_detail.html", block="movements", product=product,
                  levels=levels, movements=movements, params=params, totals=totals)


@bp.route("/products/<int:product_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def product_edit(product_id: int):
    product = scoped_get_or_404(Product, product_id, joinedload(Product.preferred_supplier))
    form = ProductForm(obj=product) if request.method == "GET" else ProductForm()
    _product_form(form)
    if request.method == "GET":
        form.category_id.data = str(product.category_id or "")
        supplier = product.preferred_supplier
        form.preferred_supplier.data = f"{supplier.name} [#{supplier.id}]" if supplier else ""
    saved = _save_product(form, product.id)
    if saved is not None:
        flash(f"Product {saved.sku} saved.", "success")
        return redirect_after_post("catalog.product_detail", product_id=saved.id)
    return render("catalog/product_form.html", form=form, product=product,
                  status=form_status(form))


@bp.route("/products/<int:product_id>/active", methods=["POST"])
@require_role("manager")
def product_deactivate(product_id: int):
    """Archive (active=0, the default) or reactivate (active=1) a product."""
    product = scoped_get_or_404(Product, product_id)
    active = request.form.get("active") == "1"
    catalog_service.set_product_active(company_id=current_user.company_id, product_id=product.id,
                                       active=active, user=current_user)
    flash(f"{product.sku} {'reactivated' if active else 'archived'}.", "success")
    return redirect_after_post("catalog.product_detail", product_id=product.id)


@bp.route("/products/<int:product_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def product_delete(product_id: int):
    product = scoped_get_or_404(Product, product_id)
    if request.method == "POST":
        try:
            catalog_service.delete_product(company_id=current_user.company_id,
                                           product_id=product.id, user=current_user)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("catalog.product_detail", product_id=product_id)
        flash(f"Product {product.sku} deleted.", "success")
        return redirect_after_post("catalog.product_list")
    reason = catalog_service.product_in_use(current_user.company_id, product.id)
    return render("catalog/confirm_delete.html", record=product, kind="product", reason=reason,
                  label=str(product),
                  cancel_url=url_for("catalog.product_detail", product_id=product.id),
                  delete_url=url_for("catalog.product_delete", product_id=product.id),
                  deactivate_url=url_for("catalog.product_deactivate", product_id=product.id))


# Categories

CATEGORY_SORTS = {"name": Category.name, "created": Category.created_at}


@bp.route("/categories")
@require_role("viewer")
@export_limited
def category_list():
    params = ListParams.from_request(sort_keys=list(CATEGORY_SORTS), default_sort="name",
                                     filters=["status"])
    stmt = company_select(Category)
    if params.q:
        like = f"%{params.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Category.name).like(like),
                              func.lower(Category.description).like(like)))
    stmt = _status_filter(stmt, Category, params.filters["status"])
    column = CATEGORY_SORTS[params.sort_key]
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(), Category.id)
    if wants_csv():
        return _export_categories(stmt)
    page = paginate(stmt.options(joinedload(Category.parent), raiseload("*")),
                    page=params.page, per_page=params.per_page)
    counts = {}
    if page.items:
        counts = dict(db.session.execute(
            select(Product.category_id, func.count())
            .where(Product.company_id == current_user.company_id,
                   Product.category_id.in_([c.id for c in page.items]))
            .group_by(Product.category_id)).all())
    return render("catalog/categories.html", block="results", page=page, params=params,
                  counts=counts, statuses=STATUS_CHOICES)


def _export_categories(stmt):
    parent = aliased(Category)
    products = (select(func.count(Product.id)).where(Product.category_id == Category.id)
                .correlate(Category).scalar_subquery())
    return export_csv("categories", stmt, [
        ("id", Category.id), ("name", Category.name), ("parent", parent.name),
        ("description", Category.description), ("products", products),
        ("active", Category.active)],
        joins=[(parent, parent.id == Category.parent_id)])


def _category_form(form: CategoryForm, exclude: int | None = None) -> CategoryForm:
    form.parent_id.choices = choices([("", "— none —")]
                                     + _category_choices(current_user.company_id, exclude=exclude))
    return form


def _save_category(form: CategoryForm, category_id: int | None):
    if not form.validate_on_submit():
        return None
    values = {"name": form.name.data, "description": form.description.data,
              "parent_id": form.parent_id.data or None}
    try:
        if category_id is None:
            return catalog_service.create_category(company_id=current_user.company_id,
                                                   user=current_user, **values)
        return catalog_service.update_category(company_id=current_user.company_id,
                                               category_id=category_id, user=current_user,
                                               **values)
    except ValidationError as error:
        apply_field_errors(form, error)
    return None


@bp.route("/categories/new", methods=["GET", "POST"])
@require_role("staff")
def category_create():
    form = _category_form(CategoryForm())
    category = _save_category(form, None)
    if category is not None:
        flash(f"Category {category.name} created.", "success")
        return redirect_after_post("catalog.category_detail", category_id=category.id)
    return render("catalog/category_form.html", form=form, category=None,
                  status=form_status(form))


@bp.route("/categories/<int:category_id>")
@require_role("viewer")
def category_detail(category_id: int):
    category = scoped_get_or_404(Category, category_id, joinedload(Category.parent))
    children = list(db.session.scalars(
        company_select(Category).where(Category.parent_id == category.id)
        .options(raiseload("*")).order_by(Category.name, Category.id).limit(50)))
    products = list(db.session.scalars(
        company_select(Product).where(Product.category_id == category.id)
        .options(raiseload("*")).order_by(Product.sku, Product.id).limit(20)))
    return render("catalog/category_detail.html", category=category, children=children,
                  products=products)


@bp.route("/categories/<int:category_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def category_edit(category_id: int):
    category = scoped_get_or_404(Category, category_id)
    form = CategoryForm(obj=category) if request.method == "GET" else CategoryForm()
    _category_form(form, exclude=category.id)
    if request.method == "GET":
        form.parent_id.data = str(category.parent_id or "")
    saved = _save_category(form, category.id)
    if saved is not None:
        flash(f"Category {saved.name} saved.", "success")
        return redirect_after_post("catalog.category_detail", category_id=saved.id)
    return render("catalog/category_form.html", form=form, category=category,
                  status=form_status(form))


@bp.route("/categories/<int:category_id>/active", methods=["POST"])
@require_role("manager")
def category_deactivate(category_id: int):
    category = scoped_get_or_404(Category, category_id)
    active = request.form.get("active") == "1"
    catalog_service.set_category_active(company_id=current_user.company_id,
                                        category_id=category.id, active=active, user=current_user)
    flash(f"{category.name} {'reactivated' if active else 'archived'}.", "success")
    return redirect_after_post("catalog.category_detail", category_id=category.id)


@bp.route("/categories/<int:category_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def category_delete(category_id: int):
    category = scoped_get_or_404(Category, category_id)
    if request.method == "POST":
        try:
            catalog_service.delete_category(company_id=current_user.company_id,
                                            category_id=category.id, user=current_user)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("catalog.category_detail", category_id=category_id)
        flash(f"Category {category.name} deleted.", "success")
        return redirect_after_post("catalog.category_list")
    return render("catalog/confirm_delete.html", record=category, kind="category", reason=None,
                  label=category.name,
                  cancel_url=url_for("catalog.category_detail", category_id=category.id),
                  delete_url=url_for("catalog.category_delete", category_id=category.id),
                  deactivate_url=url_for("catalog.category_deactivate", category_id=category.id))


# Suppliers

SUPPLIER_SORTS = {"name": Supplier.name, "contact": Supplier.contact_person,
                  "email": Supplier.email, "created": Supplier.created_at}


@bp.route("/suppliers")
@require_role("viewer")
@export_limited
def supplier_list():
    params = ListParams.from_request(sort_keys=list(SUPPLIER_SORTS), default_sort="name",
                                     filters=["status"])
    stmt = company_select(Supplier)
    if params.q:
        like = f"%{params.q.lower()}%"
        stmt = stmt.where(or_(func.lower(Supplier.name).like(like),
                              func.lower(Supplier.contact_person).like(like),
                              func.lower(Supplier.email).like(like),
                              func.lower(Supplier.tax_number).like(like)))
    stmt = _status_filter(stmt, Supplier, params.filters["status"])
    column = SUPPLIER_SORTS[params.sort_key]
    stmt = stmt.order_by(column.desc() if params.descending else column.asc(), Supplier.id)
    if wants_csv():
        return import_format_csv("suppliers", stmt)
    page = paginate(stmt.options(raiseload("*")), page=params.page, per_page=params.per_page)
    return render("catalog/suppliers.html", block="results", page=page, params=params,
                  statuses=STATUS_CHOICES)


@bp.route("/suppliers/options")
@require_role("viewer")
def supplier_options():
    """Picker suggestions: <option value="Name [#id]"> for a supplier picker's datalist."""
    suppliers = catalog_service.search_suppliers(current_user.company_id, picker_query())
    return render_template("catalog/_supplier_options.html", suppliers=suppliers)


def _save_supplier(form: SupplierForm, supplier_id: int | None):
    if not form.validate_on_submit():
        return None
    values = {name: getattr(form, name).data for name in
              ("name", "contact_person", "email", "phone", "tax_number", "address")}
    try:
        if supplier_id is None:
            return catalog_service.create_supplier(company_id=current_user.company_id,
                                                   user=current_user, **values)
        return catalog_service.update_supplier(company_id=current_user.company_id,
                                               supplier_id=supplier_id, user=current_user,
                                               **values)
    except ValidationError as error:
        apply_field_errors(form, error)
    return None


@bp.route("/suppliers/new", methods=["GET", "POST"])
@require_role("staff")
def supplier_create():
    form = SupplierForm()
    supplier = _save_supplier(form, None)
    if supplier is not None:
        flash(f"Supplier {supplier.name} created.", "success")
        return redirect_after_post("catalog.supplier_detail", supplier_id=supplier.id)
    return render("catalog/supplier_form.html", form=form, supplier=None,
                  status=form_status(form))


@bp.route("/suppliers/<int:supplier_id>")
@require_role("viewer")
def supplier_detail(supplier_id: int):
    supplier = scoped_get_or_404(Supplier, supplier_id)
    products = list(db.session.scalars(
        company_select(Product).where(Product.preferred_supplier_id == supplier.id)
        .options(raiseload("*")).order_by(Product.sku, Product.id).limit(20)))
    return render("catalog/supplier_detail.html", supplier=supplier, products=products,
                  orders_url=endpoint_url("purchasing.supplier_orders", supplier_id=supplier.id))


@bp.route("/suppliers/<int:supplier_id>/edit", methods=["GET", "POST"])
@require_role("staff")
def supplier_edit(supplier_id: int):
    supplier = scoped_get_or_404(Supplier, supplier_id)
    form = SupplierForm(obj=supplier) if request.method == "GET" else SupplierForm()
    saved = _save_supplier(form, supplier.id)
    if saved is not None:
        flash(f"Supplier {saved.name} saved.", "success")
        return redirect_after_post("catalog.supplier_detail", supplier_id=saved.id)
    return render("catalog/supplier_form.html", form=form, supplier=supplier,
                  status=form_status(form))


@bp.route("/suppliers/<int:supplier_id>/active", methods=["POST"])
@require_role("manager")
def supplier_deactivate(supplier_id: int):
    supplier = scoped_get_or_404(Supplier, supplier_id)
    active = request.form.get("active") == "1"
    catalog_service.set_supplier_active(company_id=current_user.company_id,
                                        supplier_id=supplier.id, active=active, user=current_user)
    flash(f"{supplier.name} {'reactivated' if active else 'archived'}.", "success")
    return redirect_after_post("catalog.supplier_detail", supplier_id=supplier.id)


@bp.route("/suppliers/<int:supplier_id>/delete", methods=["GET", "POST"])
@require_role("manager")
def supplier_delete(supplier_id: int):
    supplier = scoped_get_or_404(Supplier, supplier_id)
    if request.method == "POST":
        try:
            catalog_service.delete_supplier(company_id=current_user.company_id,
                                            supplier_id=supplier.id, user=current_user)
        except DomainError as error:
            flash(str(error), "danger")
            return redirect_after_post("catalog.supplier_detail", supplier_id=supplier_id)
        flash(f"Supplier {supplier.name} deleted.", "success")
        return redirect_after_post("catalog.supplier_list")
    return render("catalog/confirm_delete.html", record=supplier, kind="supplier", reason=None,
                  label=supplier.name,
                  cancel_url=url_for("catalog.supplier_detail", supplier_id=supplier.id),
                  delete_url=url_for("catalog.supplier_delete", supplier_id=supplier.id),
                  deactivate_url=url_for("catalog.supplier_deactivate", supplier_id=supplier.id))


@bp.route("/products/options")
@require_role("viewer")
def product_options():
    """Picker suggestions: <option>s for the datalist of a product picker input."""
    products = catalog_service.search_products(
        current_user.company_id, picker_query(),
        stocked_only=request.args.get("stocked") == "1")
    # a fragment for htmx and plain requests alike (render() would look for a block)
    return render_template("catalog/_product_options.html", products=products)
