"""Catalog: products, categories, suppliers.

Each is a `Resource` (erp/crud.py): list, page, create, edit, archive and delete from one
declaration, with its list declared in `erp.queries.catalog`. What is special here: the
product's category select and supplier picker, the category's cycle check (in the
service, shown next to the parent field), the product's stock and movements on its page.
"""
from __future__ import annotations

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from erp.blueprints.money.statements import register_statement
from erp.blueprints.catalog.forms import CategoryForm, ProductForm, RevalueForm, SupplierForm
from erp.crud import Resource
from erp.auth import require_role
from erp.forms import choices
from erp.lists import ARCHIVE_CHOICES
from erp.models import Category, Product, Supplier
from erp.models.core import company_today
from erp.queries import bills as bill_queries
from erp.queries import catalog as queries
from erp.queries import receivables as receivables_queries
from erp.queries.money import party_terms_choices, tax_code_choices
from erp.services import catalog as catalog_service
from erp.queries.search import product_matches
from erp.services import ValidationError
from erp.web import (ListParams, apply_field_errors, form_status, picker_response,
                     redirect_after_post, render)
from sqlalchemy.orm import joinedload
from erp.i18n import N_, _, _l

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


def _with_choices(page, params) -> dict:
    return {"statuses": ARCHIVE_CHOICES}


# Products

def _product_form(form: ProductForm, product: Product | None) -> None:
    form.category_id.choices = choices([("", _("— none —"))] + queries.category_choices())
    form.tax_code_id.choices = choices([("", _("The company's default"))] + tax_code_choices(
        keep=product.tax_code_id if product is not None else None))
    if product is not None and request.method == "GET":
        form.category_id.data = str(product.category_id or "")
        supplier = product.preferred_supplier
        form.preferred_supplier.data = supplier.picker_label if supplier else ""


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
    values = {name: getattr(form, name).data for name in PRODUCT_FIELDS}
    return values | {"category_id": form.category_id.data or None,
                     "preferred_supplier_id": supplier_id}


PRODUCT_FIELDS = ("sku", "name", "kind", "unit", "tracking", "sale_price", "cost_price",
                  "min_stock", "barcode", "description", "tax_code_id")

products = Resource(
    name="product", plural="products", model=Product, label=_l("Product"), form=ProductForm,
    fields=PRODUCT_FIELDS, templates="catalog/product", nav="catalog/_nav.html",
    list_spec=queries.PRODUCTS,
    list_context=lambda page, params: queries.product_list_context(page, params)
    | _with_choices(page, params),
    create=catalog_service.create_product, update=catalog_service.update_product,
    set_active=catalog_service.set_product_active, delete=catalog_service.delete_product,
    in_use=catalog_service.product_in_use, title=lambda product: product.sku,
    prepare_form=_product_form, values=_product_values,
    detail_options=[joinedload(Product.category), joinedload(Product.preferred_supplier),
                    joinedload(Product.tax_code)],
    detail_context=lambda product: queries.product_page(
        product, ListParams.from_request(sort_keys=["created"], default_sort="-created")),
    detail_block="movements",
    error_names={"preferred_supplier_id": "preferred_supplier"},
).register(bp)


@bp.route("/products/<int:product_id>/revalue", methods=["GET", "POST"])
@require_role("manager")
def product_revalue(product_id: int):
    """A manager sets the cost of a product with stock: a recorded revaluation."""
    product = products.get(product_id)
    form = RevalueForm(obj=product if request.method == "GET" else None)
    if form.validate_on_submit():
        try:
            catalog_service.revalue_product(
                company_id=current_user.company_id, product_id=product.id, user=current_user,
                cost_price=form.cost_price.data, reason=form.reason.data)
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            flash(_('%(sku)s revalued at %(cost_price)s a unit.', sku=product.sku, cost_price=product.cost_price), "success")
            return redirect_after_post("catalog.product_detail", product_id=product.id)
    return render("catalog/product_revalue.html", form=form, product=product,
                  on_hand=catalog_service.on_hand_total(current_user.company_id, product.id),
                  status=form_status(form))


# Categories

def _category_form(form: CategoryForm, category: Category | None) -> None:
    exclude = category.id if category is not None else None
    form.parent_id.choices = choices([("", N_("— none —"))]
                                     + queries.category_choices(exclude=exclude))
    if category is not None and request.method == "GET":
        form.parent_id.data = str(category.parent_id or "")


categories = Resource(
    name="category", plural="categories", model=Category, label=_l("Category"),
    form=CategoryForm, fields=("name", "description"), templates="catalog/category",
    nav="catalog/_nav.html", list_spec=queries.CATEGORIES,
    list_template="catalog/categories.html",
    list_context=lambda page, params: queries.category_list_context(page, params)
    | _with_choices(page, params),
    create=catalog_service.create_category, update=catalog_service.update_category,
    set_active=catalog_service.set_category_active, delete=catalog_service.delete_category,
    title=lambda category: category.name, prepare_form=_category_form,
    values=lambda form: {"name": form.name.data, "description": form.description.data,
                         "parent_id": form.parent_id.data or None},
    detail_options=[joinedload(Category.parent)], detail_context=queries.category_page,
).register(bp)


# Suppliers

def _supplier_form(form: SupplierForm, supplier: Supplier | None) -> None:
    form.payment_terms_id.choices = choices(
        party_terms_choices(keep=supplier.payment_terms_id if supplier else None))


suppliers = Resource(
    name="supplier", plural="suppliers", model=Supplier, label=_l("Supplier"),
    form=SupplierForm, fields=("name", "contact_person", "email", "phone", "tax_number",
                               "address", "payment_terms_id"),
    templates="catalog/supplier", nav="catalog/_nav.html", list_spec=queries.SUPPLIERS,
    list_context=_with_choices,
    create=catalog_service.create_supplier, update=catalog_service.update_supplier,
    set_active=catalog_service.set_supplier_active, delete=catalog_service.delete_supplier,
    title=lambda supplier: supplier.name,
    prepare_form=_supplier_form, detail_options=[joinedload(Supplier.payment_terms)],
    detail_context=lambda supplier: {
        "payables": bill_queries.supplier_payables(supplier.company_id, supplier.id),
        "today": company_today(supplier.company_id),
        "products": queries.products_where(Product.preferred_supplier_id == supplier.id),
        "orders_url": url_for("purchasing.supplier_orders", supplier_id=supplier.id)},
).register(bp)


register_statement(bp, receivables_queries.SUPPLIER_STATEMENT,
                   "/suppliers/<int:supplier_id>/statement")


# Pickers

@bp.route("/suppliers/options")
@require_role("viewer")
def supplier_options():
    """Active suppliers by name (purchasing's supplier picker answers the same)."""
    return picker_response(Supplier, Supplier.name, hint=lambda supplier: supplier.email)


@bp.route("/products/scan")
@require_role("viewer")
def product_scan():
    """The product a scanned barcode or typed SKU names exactly (`code`), as JSON for a
    picker's Enter (static/js/app.js): {"label": its picker value}, or {"error": ...} (200
    too: an unknown code is an answer, not a failed request in the browser's console)."""
    code = request.args.get("code", "")[:300]
    product = catalog_service.find_product(current_user.company_id, code)
    if product is None:
        return {"error": f"No product with the barcode or SKU {code.strip()[:60]!r}."}
    return {"label": product.picker_label, "sku": product.sku, "active": product.active}


@bp.route("/products/options")
@require_role("viewer")
def product_options():
    """Active products by SKU, name or barcode; `stocked=1`: only those kept in stock."""
    stocked = [Product.kind != "service"] if request.args.get("stocked") == "1" else []
    return picker_response(Product, match=product_matches, where=stocked,
                           order_by=(Product.sku, Product.id), hint=str)
