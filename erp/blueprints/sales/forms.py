"""Forms of the sales area. The services validate again; these give messages per field."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from erp.forms import DecimalField, finite, number_field, optional_id, text_validators
from erp.models.fields import DISCOUNT, PRICE, QUANTITY, TAX_RATE
from erp.models.sales import CUSTOMER_TEXT
from erp.i18n import _l

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
    name = StringField(_l("Name"), validators=text_validators(CUSTOMER_TEXT["name"]))
    email = StringField(_l("Email"), validators=text_validators(CUSTOMER_TEXT["email"], Optional()))
    phone = StringField(_l("Phone"), validators=text_validators(CUSTOMER_TEXT["phone"], Optional()))
    tax_number = StringField(_l("Tax number"),
                             validators=text_validators(CUSTOMER_TEXT["tax_number"], Optional()))
    billing_address = TextAreaField(_l("Billing address"),
                                    validators=text_validators(CUSTOMER_TEXT["billing_address"]))
    shipping_address = TextAreaField(
        _l("Shipping address"), validators=text_validators(CUSTOMER_TEXT["shipping_address"]))
    credit_limit = DecimalField(_l("Credit limit"), places=2, default=Decimal("0"),
                                description=_l("Open orders may not exceed it; 0 or blank: no limit."),
                                validators=[Optional(), finite, NumberRange(min=0, max=MAX_MONEY)])
    payment_terms_id = SelectField(_l("Payment terms"), choices=[], validate_choice=False,
                                   coerce=optional_id,
                                   description=_l("When its invoices are due."))
    active = BooleanField(_l("Active"), default=True)


class OrderForm(FlaskForm):
    customer = PickerField(_l("Customer"), validators=[DataRequired(), Length(max=250)],
                           description=_l("Type a name and pick from the list."))
    warehouse_id = SelectField(_l("Warehouse"), choices=[], validate_choice=False,
                               validators=[DataRequired()])
    order_date = DateField(_l("Order date"), validators=[InputRequired()])
    requested_date = DateField(_l("Requested delivery"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=TEXT_MAX)])


class LineEditForm(FlaskForm):
    quantity = number_field(_l("Quantity"), QUANTITY, required=True)
    unit_price = number_field(_l("Unit price"), PRICE, description=_l("Blank: the product's sale price."))
    discount_percent = number_field(_l("Discount %"), DISCOUNT)
    tax_rate = number_field(_l("Tax %"), TAX_RATE)


class LineForm(LineEditForm):
    product = StringField(_l("Product"), validators=[DataRequired(), Length(max=300)])
    tax_rate = number_field(_l("Tax %"), TAX_RATE, description=_l("Blank: the product's tax code."))


class DeliveryForm(FlaskForm):
    """A new delivery note's header; its quantities are `qty-<order item id>` inputs read
    by the view (one per line of the order)."""

    delivery_date = DateField(_l("Delivery date"), validators=[DataRequired(_l("Enter a date."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=TEXT_MAX)])
