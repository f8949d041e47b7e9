"""Forms of the purchasing area. Services validate again; these give messages next to fields."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.forms import number_field
from erp.models.fields import PRICE, QUANTITY, TAX_RATE

class OrderForm(FlaskForm):
    supplier = StringField("Supplier", validators=[DataRequired(), Length(max=230)],
                           description='Type to search; the choice reads "Name [#id]".')
    warehouse_id = SelectField("Receiving warehouse", validators=[DataRequired()])
    order_date = DateField("Order date", validators=[DataRequired()])
    expected_date = DateField("Expected date", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])


class LineEditForm(FlaskForm):
    quantity = number_field("Quantity", QUANTITY, required=True)
    unit_cost = number_field("Unit cost", PRICE, required="Enter an amount.")
    tax_rate = number_field("Tax %", TAX_RATE)


class LineAddForm(LineEditForm):
    product = StringField("Product", validators=[DataRequired(), Length(max=300)],
                          description="SKU, or pick from the list.")
    unit_cost = number_field("Unit cost", PRICE, description="Empty: the product's cost price.")
    tax_rate = number_field("Tax %", TAX_RATE, default=Decimal("0"))


class ReceiveForm(FlaskForm):
    """The warehouse, the delivery note and the one-time token; quantities are `qty-<line id>`."""

    warehouse_id = SelectField("Into warehouse", validators=[DataRequired()])
    reference = StringField("Delivery note", validators=[Length(max=60)])
    receipt_token = HiddenField(validators=[DataRequired(), Length(max=64)])


class ReorderForm(FlaskForm):
    warehouse_id = SelectField("Receiving warehouse", validators=[DataRequired()])
