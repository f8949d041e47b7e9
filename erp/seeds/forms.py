"""Demo custom forms: an incoming goods checklist, the inspection form of the first
category, with a few submissions (not inspections: they name no product)."""
from __future__ import annotations

from sqlalchemy import select

from erp.extensions import db
from erp.models import Category, Company, User
from erp.models.forms import CustomForm
from erp.services import forms as form_service

NAME = "Incoming goods checklist"
FIELDS = [
    ("Delivery", "section", {}),
    ("Packaging intact", "yes_no", {"required": True, "must_be_yes": True}),
    ("Temperature", "decimal", {"minimum": "-30", "maximum": "40", "unit": "°C"}),
    ("Carrier", "choice", {"options": "Own truck\nParcel service\nFreight forwarder"}),
    ("Damage found", "long_text", {"required": True, "condition_value": "no"}),
    ("Best before", "date", {}),
    ("Checked by", "employee", {}),
]
ANSWERS = [("yes", "4.5", "Own truck", ""), ("yes", "6", "Parcel service", ""),
           ("no", "9.5", "Freight forwarder", "Two cartons crushed at one corner.")]


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(CustomForm.id).where(CustomForm.company_id == company.id)
                         .limit(1)):
        return None
    form = form_service.create_form(company_id=company.id, user=admin, name=NAME,
                                    description="Filled at the receiving dock for each delivery.")
    keys: dict[str, str] = {}
    for label, kind, values in FIELDS:
        if "condition_value" in values:
            values = {**values, "condition_key": keys["Packaging intact"]}
        keys[label] = form_service.add_field(company_id=company.id, form_id=form.id,
                                             user=admin, label=label, kind=kind,
                                             **values).key
    category = db.session.scalar(select(Category).where(Category.company_id == company.id)
                                 .order_by(Category.id).limit(1))
    if category is not None:
        form_service.link_form(company_id=company.id, form_id=form.id, user=admin,
                               category_id=category.id)
    for intact, temperature, carrier, damage in ANSWERS:
        form_service.save_submission(
            company_id=company.id, form_id=form.id, user=admin, submit=True, answers={
                keys["Packaging intact"]: intact, keys["Temperature"]: temperature,
                keys["Carrier"]: carrier, keys["Damage found"]: damage})
    return f"1 form with {len(FIELDS)} fields and {len(ANSWERS)} submissions"
