"""Forms of the catalog: products, categories, suppliers."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DecimalField, SelectField, StringField, TextAreaField
from wtforms.validators import (DataRequired, Email, Length, NumberRange, Optional,
                                StopValidation)

from erp.forms import choices
from erp.models import PRODUCT_KINDS
from erp.models.catalog import UNITS

MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("99999999999")


def finite(form, field) -> None:
    """Refuse NaN and infinities before NumberRange looks at them ('sNaN' makes it raise)."""
    if field.data is not None and not field.data.is_finite():
        field.errors[:] = []
        raise StopValidation("Enter a number.")


class ProductForm(FlaskForm):
    sku = StringField("SKU", validators=[DataRequired(), Length(max=64)])
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    kind = SelectField("Kind", choices=choices(PRODUCT_KINDS.items()), default="finished_good")
    category_id = SelectField("Category", choices=[], default="")
    unit = SelectField("Unit", choices=choices((u, u) for u in UNITS), default="pcs")
    sale_price = DecimalField("Sale price", places=2, default=Decimal("0"),
                              validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    cost_price = DecimalField("Cost price", places=2, default=Decimal("0"),
                              validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    min_stock = DecimalField("Minimum stock", places=3, default=Decimal("0"),
                             validators=[Optional(), finite,
                                         NumberRange(min=0, max=MAX_QUANTITY)],
                             description="Below this available quantity the product is low on stock.")
    barcode = StringField("Barcode", validators=[Length(max=64)])
    preferred_supplier = StringField("Preferred supplier", validators=[Length(max=300)],
                                     description="Type to search suppliers.")
    description = TextAreaField("Description", validators=[Length(max=5000)])


class CategoryForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=120)])
    parent_id = SelectField("Parent category", choices=[], default="")
    description = TextAreaField("Description", validators=[Length(max=5000)])


class SupplierForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=200)])
    contact_person = StringField("Contact person", validators=[Length(max=200)])
    email = StringField("Email", validators=[Optional(), Email(check_deliverability=False),
                                             Length(max=254)])
    phone = StringField("Phone", validators=[Length(max=50)])
    tax_number = StringField("Tax number", validators=[Length(max=50)])
    address = TextAreaField("Address", validators=[Length(max=5000)])
