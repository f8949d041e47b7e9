"""Forms of the purchasing area. Services validate again; these give messages next to fields."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import DateField, DecimalField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import (DataRequired, InputRequired, Length, NumberRange, Optional,
                                StopValidation)

MAX_MONEY = Decimal("999999999999.99")
MAX_QUANTITY = Decimal("99999999999")


class Finite:
    """Refuse NaN and infinities before NumberRange compares them (which would raise)."""

    def __call__(self, form, field):
        if field.data is not None and not Decimal(field.data).is_finite():
            raise StopValidation("Enter a number.")


class OrderForm(FlaskForm):
    supplier = StringField("Supplier", validators=[DataRequired(), Length(max=230)],
                           description='Type to search; the choice reads "Name [#id]".')
    warehouse_id = SelectField("Receiving warehouse", validators=[DataRequired()])
    order_date = DateField("Order date", validators=[DataRequired()])
    expected_date = DateField("Expected date", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=2000)])


class LineAddForm(FlaskForm):
    product = StringField("Product", validators=[DataRequired(), Length(max=300)],
                          description="SKU, or pick from the list.")
    quantity = DecimalField("Quantity", places=None, validators=[
        InputRequired(), Finite(), NumberRange(min=Decimal("0.001"), max=MAX_QUANTITY)])
    unit_cost = DecimalField("Unit cost", places=None, validators=[
        Optional(), Finite(), NumberRange(min=0, max=MAX_MONEY)],
        description="Empty: the product's cost price.")
    tax_rate = DecimalField("Tax %", places=None, default=Decimal("0"), validators=[
        Optional(), Finite(), NumberRange(min=0, max=1000)])


class LineEditForm(FlaskForm):
    quantity = DecimalField("Quantity", places=None, validators=[
        InputRequired(), Finite(), NumberRange(min=Decimal("0.001"), max=MAX_QUANTITY)])
    unit_cost = DecimalField("Unit cost", places=None, validators=[
        InputRequired(message="Enter an amount."), Finite(), NumberRange(min=0, max=MAX_MONEY)])
    tax_rate = DecimalField("Tax %", places=None, validators=[
        Optional(), Finite(), NumberRange(min=0, max=1000)])


class ReceiveForm(FlaskForm):
    """The warehouse, the delivery note and the one-time token; quantities are `qty-<line id>`."""

    warehouse_id = SelectField("Into warehouse", validators=[DataRequired()])
    reference = StringField("Delivery note", validators=[Length(max=60)])
    receipt_token = HiddenField(validators=[DataRequired(), Length(max=64)])


class ReorderForm(FlaskForm):
    warehouse_id = SelectField("Receiving warehouse", validators=[DataRequired()])
