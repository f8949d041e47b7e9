"""Catalog: products, categories, suppliers."""
from __future__ import annotations

from flask import Blueprint, request
from flask_login import current_user

from erp.auth import require_role
from erp.services import catalog as catalog_service
from erp.web import picker_query, render

bp = Blueprint("catalog", __name__, url_prefix="/catalog")


@bp.route("/products/options")
@require_role("viewer")
def product_options():
    """Picker suggestions: <option>s for the datalist of a product picker input."""
    products = catalog_service.search_products(
        current_user.company_id, picker_query(),
        stocked_only=request.args.get("stocked") == "1")
    return render("catalog/_product_options.html", products=products)
