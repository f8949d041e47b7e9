"""Demo money settings: Turkish KDV tax codes (20 % the default), payment terms (Net 30 the
default), the seller's data on documents, and a tax code on the demo's products."""
from __future__ import annotations

import sys

from sqlalchemy import select, update

from erp.extensions import db
from erp.models import Company, Product, User
from erp.models.money import PaymentTerms, TaxCode
from erp.seeds.turkish import words
from erp.services import atomic, money, users

TAX_CODES = [("KDV 20", "20"), ("KDV 10", "10"), ("KDV 1", "1"), ("KDV 0", "0")]
DEFAULT_TERMS = "Net 30"
FOOTER = "Payment within 30 days. Thank you."
TERMS = [("Due on receipt", "receipt", 0), ("Net 30", "net", 30), ("Net 60", "net", 60),
         ("30 days end of month", "end_of_month", 30)]
# the products' codes by kind: services and finished goods the standard rate
KIND_CODES = {"finished_good": "KDV 20", "service": "KDV 20", "component": "KDV 10",
              "raw_material": "KDV 10"}


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(TaxCode.id).where(TaxCode.company_id == company.id).limit(1)):
        return None
    kw = {"company_id": company.id, "user": admin}
    w = words(company, sys.modules[__name__])
    codes = {name: money.create_tax_code(name=name, rate=rate, **kw) for name, rate in TAX_CODES}
    terms = {name: money.create_payment_terms(name=name, kind=kind, days=days, **kw)
             for name, kind, days in w.TERMS}
    users.update_company(
        company_id=company.id, user=admin, name=company.name, currency=company.currency,
        timezone=company.timezone, default_tax_code_id=codes["KDV 20"].id,
        default_payment_terms_id=terms[w.DEFAULT_TERMS].id,
        legal_name=company.legal_name or f"{company.name} Sanayi ve Ticaret A.Ş.",
        address=company.address or "Büyükdere Cad. 100\n34394 Şişli / İstanbul",
        tax_number=company.tax_number or "1234567890",
        bank_details=company.bank_details or "Demo Bank · IBAN TR00 0000 0000 0000 0000 0000 00",
        invoice_footer=company.invoice_footer or w.FOOTER)
    with atomic():
        for kind, name in KIND_CODES.items():
            db.session.execute(update(Product).where(Product.company_id == company.id,
                                                     Product.kind == kind)
                               .values(tax_code_id=codes[name].id))
    return f"{len(codes)} tax codes, {len(terms)} payment terms"
