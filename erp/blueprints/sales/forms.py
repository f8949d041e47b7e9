"""Forms of the sales area. The services validate again; these give messages per field."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from erp.forms import DecimalField, finite, number_field, optional_id, text_validators
from erp.models.fields import DISCOUNT, PRICE, QUANTITY, TAX_RATE
from erp.models.sales import CUSTOMER_TEXT

MAX_MONEY = Decimal("999999999999.99")
TEXT_MAX = 2000


class PickerField(StringField):
    """A picker's text. `OrderForm(obj=order)` hands it the Customer record itself when the
    POST lacks the field: keep its picker text, never the object (Length would raise)."""

    def process_data(self, value):
        if value is not None and not isinstance(value, str):
            value = getattr(value, "picker_label", None) or str(value)
        super().process_data(value)


class CustomerForm(FlaskForm):
    name = StringField("Name", validators=text_validators(CUSTOMER_TEXT["name"]))
    email = StringField("Email", validators=text_validators(CUSTOMER_TEXT["email"], Optional()))
    phone = StringField("Phone", validators=text_validators(CUSTOMER_TEXT["phone"], Optional()))
    tax_number = StringField("Tax number",
                             validators=text_validators(CUSTOMER_TEXT["tax_number"], Optional()))
    billing_address = TextAreaField("Billing address",
                                    validators=text_validators(CUSTOMER_TEXT["billing_address"]))
    shipping_address = TextAreaField(
        "Shipping address", validators=text_validators(CUSTOMER_TEXT["shipping_address"]))
    credit_limit = DecimalField("Credit limit", places=2, default=Decimal("0"),
                                description="Open orders may not exceed it; 0 or blank: no limit.",
                                validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    payment_terms_id = SelectField("Payment terms", choices=[], validate_choice=False,
                                   coerce=optional_id,
                                   description="When its invoices are due.")
    active = BooleanField("Active", default=True)


class OrderForm(FlaskForm):
    customer = PickerField("Customer", validators=[DataRequired(), Length(max=250)],
                           description="Type a name and pick from the list.")
    warehouse_id = SelectField("Warehouse", choices=[], validate_choice=False,
                               validators=[DataRequired()])
    order_date = DateField("Order date", validators=[InputRequired()])
    requested_date = DateField("Requested delivery", validators=[Optional()])
    notes = TextAreaField("Notes", validators=[Length(max=TEXT_MAX)])


class LineEditForm(FlaskForm):
    quantity = number_field("Quantity", QUANTITY, required=True)
    unit_price = number_field("Unit price", PRICE, description="Blank: the product's sale price.")
    discount_percent = number_field("Discount %", DISCOUNT)
    tax_rate = number_field("Tax %", TAX_RATE)


class LineForm(LineEditForm):
    product = StringField("Product", validators=[DataRequired(), Length(max=300)])
    tax_rate = number_field("Tax %", TAX_RATE, description="Blank: the product's tax code.")


class DeliveryForm(FlaskForm):
    """A new delivery note's header; its quantities are `qty-<order item id>` inputs read
    by the view (one per line of the order)."""

    delivery_date = DateField("Delivery date", validators=[DataRequired("Enter a date.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=TEXT_MAX)])
