"""Forms of the purchasing area. Services validate again; these give messages next to fields."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.forms import number_field
from erp.models.fields import PRICE, QUANTITY, TAX_RATE
from erp.i18n import N_, _l

class OrderForm(FlaskForm):
    supplier = StringField(_l("Supplier"), validators=[DataRequired(), Length(max=230)],
                           description=_l('Type to search; the choice reads "Name [#id]".'))
    warehouse_id = SelectField(_l("Receiving warehouse"), validators=[DataRequired()])
    order_date = DateField(_l("Order date"), validators=[DataRequired()])
    expected_date = DateField(_l("Expected date"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])


class LineEditForm(FlaskForm):
    quantity = number_field(_l("Quantity"), QUANTITY, required=True)
    unit_cost = number_field(_l("Unit cost"), PRICE, required=N_("Enter an amount."))
    tax_rate = number_field(_l("Tax %"), TAX_RATE)


class LineAddForm(LineEditForm):
    product = StringField(_l("Product"), validators=[DataRequired(), Length(max=300)],
                          description=_l("SKU, or pick from the list."))
    unit_cost = number_field(_l("Unit cost"), PRICE, description=_l("Empty: the product's cost price."))
    tax_rate = number_field(_l("Tax %"), TAX_RATE, default=Decimal("0"))


class ReceiveForm(FlaskForm):
    """The warehouse, the delivery note and the one-time token; quantities are `qty-<line id>`."""

    warehouse_id = SelectField(_l("Into warehouse"), validators=[DataRequired()])
    reference = StringField(_l("Delivery note"), validators=[Length(max=60)])
    receipt_token = HiddenField(validators=[DataRequired(), Length(max=64)])


class ReorderForm(FlaskForm):
    warehouse_id = SelectField(_l("Receiving warehouse"), validators=[DataRequired()])
