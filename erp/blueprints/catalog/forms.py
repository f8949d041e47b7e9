"""Forms of the catalog: products, categories, suppliers."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import (Email, InputRequired, Length, NumberRange, Optional,
                                StopValidation)

from erp.forms import DecimalField, choices, optional_id, text_validators
from erp.models import PRODUCT_KINDS
from erp.models.catalog import CATEGORY_TEXT, PRODUCT_TEXT, SUPPLIER_TEXT, TRACKING, UNITS
from erp.i18n import _l

MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("99999999999")


def finite(form, field) -> None:
    """Refuse NaN and infinities before NumberRange looks at them ('sNaN' makes it raise)."""
    if field.data is not None and not field.data.is_finite():
        field.errors[:] = []
        raise StopValidation("Enter a number.")


class ProductForm(FlaskForm):
    sku = StringField(_l("SKU"), validators=text_validators(PRODUCT_TEXT["sku"]))
    name = StringField(_l("Name"), validators=text_validators(PRODUCT_TEXT["name"]))
    kind = SelectField(_l("Kind"), choices=choices(PRODUCT_KINDS.items()), default="finished_good")
    category_id = SelectField(_l("Category"), choices=[], default="")
    unit = SelectField(_l("Unit"), choices=choices((u, u) for u in UNITS), default="pcs")
    tracking = SelectField(_l("Tracking"), choices=choices(TRACKING.items()), default="none",
                           description=_l("Lots or serial numbers are named on every movement."))
    sale_price = DecimalField(_l("Sale price"), places=2, default=Decimal("0"),
                              validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    cost_price = DecimalField(_l("Cost price"), places=2, default=Decimal("0"),
                              validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    min_stock = DecimalField(_l("Minimum stock"), places=3, default=Decimal("0"),
                             validators=[Optional(), finite,
                                         NumberRange(min=0, max=MAX_QUANTITY)],
                             description=_l("Below this available quantity the product is low on stock."))
    tax_code_id = SelectField(_l("Tax code"), choices=[], validate_choice=False, coerce=optional_id,
                              description=_l("The rate its sales lines take."))
    barcode = StringField(_l("Barcode"), validators=text_validators(PRODUCT_TEXT["barcode"]))
    preferred_supplier = StringField(_l("Preferred supplier"), validators=[Length(max=300)],
                                     description=_l("Type to search suppliers."))
    description = TextAreaField(_l("Description"),
                                validators=text_validators(PRODUCT_TEXT["description"]))


class CategoryForm(FlaskForm):
    name = StringField(_l("Name"), validators=text_validators(CATEGORY_TEXT["name"]))
    parent_id = SelectField(_l("Parent category"), choices=[], default="")
    description = TextAreaField(_l("Description"),
                                validators=text_validators(CATEGORY_TEXT["description"]))


class SupplierForm(FlaskForm):
    name = StringField(_l("Name"), validators=text_validators(SUPPLIER_TEXT["name"]))
    contact_person = StringField(_l("Contact person"),
                                 validators=text_validators(SUPPLIER_TEXT["contact_person"]))
    email = StringField(_l("Email"), validators=text_validators(
        SUPPLIER_TEXT["email"], Optional(), Email(check_deliverability=False)))
    phone = StringField(_l("Phone"), validators=text_validators(SUPPLIER_TEXT["phone"]))
    tax_number = StringField(_l("Tax number"), validators=text_validators(SUPPLIER_TEXT["tax_number"]))
    address = TextAreaField(_l("Address"), validators=text_validators(SUPPLIER_TEXT["address"]))
    payment_terms_id = SelectField(_l("Payment terms"), choices=[], validate_choice=False,
                                   coerce=optional_id,
                                   description=_l("When its bills are due."))


class RevalueForm(FlaskForm):
    """A manager's revaluation of a product's cost (its stock on hand keeps its quantity)."""

    cost_price = DecimalField(_l("New cost price"), places=2,
                              validators=[InputRequired(message=_l("Enter the new cost.")), finite,
                                          NumberRange(min=0, max=MAX_MONEY)])
    reason = StringField(_l("Reason"), validators=[InputRequired(message=_l("Say why the cost changes.")),
                                               Length(max=200)],
                         description=_l("e.g. supplier price list 2026, count of the stock value."))
