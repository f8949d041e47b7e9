"""Money settings: tax codes and payment terms, each a `Resource` (erp/crud.py) whose
create and edit are for managers (they change what every new line and invoice takes).
The company's defaults of both are chosen in the company settings (/admin/company)."""
from __future__ import annotations

from flask import Blueprint

from erp.blueprints.money.forms import PaymentTermsForm, TaxCodeForm
from erp.crud import Resource
from erp.lists import ARCHIVE_CHOICES
from erp.models.money import TERMS_KINDS, PaymentTerms, TaxCode
from erp.queries import money as queries
from erp.services import money as money_service

bp = Blueprint("money", __name__, url_prefix="/money")


def _list_context(page, params) -> dict:
    return {"statuses": ARCHIVE_CHOICES, "kinds": list(TERMS_KINDS.items())}


tax_codes = Resource(
    name="tax_code", plural="tax-codes", model=TaxCode, label="Tax code", form=TaxCodeForm,
    fields=("name", "rate"), templates="money/tax_code", nav="money/_nav.html",
    list_spec=queries.TAX_CODES, list_context=_list_context,
    create=money_service.create_tax_code, update=money_service.update_tax_code,
    set_active=money_service.set_tax_code_active, delete=money_service.delete_tax_code,
    in_use=money_service.tax_code_in_use, title=lambda code: code.name,
    edit_role="manager",
).register(bp)

payment_terms = Resource(
    name="payment_terms", plural="payment-terms", model=PaymentTerms, label="Payment terms",
    form=PaymentTermsForm, fields=("name", "kind", "days"), templates="money/payment_terms",
    nav="money/_nav.html", list_spec=queries.PAYMENT_TERMS, list_context=_list_context,
    list_template="money/payment_terms_list.html",
    create=money_service.create_payment_terms, update=money_service.update_payment_terms,
    set_active=money_service.set_payment_terms_active,
    delete=money_service.delete_payment_terms, in_use=money_service.payment_terms_in_use,
    title=lambda terms: terms.name, edit_role="manager",
).register(bp)
