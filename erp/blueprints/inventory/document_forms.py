"""Forms of the count sheets and transfers. The services check again; these put the
messages next to the fields."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.forms import number_field
from erp.models.fields import QUANTITY, Number
from erp.models.stock_documents import NOTES_MAX


# a count may be zero (nothing there), unlike a quantity to move
COUNTED = Number(QUANTITY.step, QUANTITY.maximum, "Enter a count from 0 to 99,999,999,999.")


def _product_field():
    return StringField("Product", validators=[DataRequired("Scan or type a barcode or SKU."),
                                              Length(max=300)],
                       description="Scan a barcode, or type a SKU or name and pick.")


class CountForm(FlaskForm):
    warehouse_id = SelectField("Warehouse", validators=[DataRequired("Choose a warehouse.")])
    category_id = SelectField("Category", validators=[Optional()],
                              description="Empty: every stocked product of the warehouse.")
    count_date = DateField("Count date", validators=[DataRequired("Enter a date.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=NOTES_MAX)])


class CountLineForm(FlaskForm):
    counted = number_field("Counted", COUNTED)


class CountLineAddForm(FlaskForm):
    product = _product_field()
    counted = number_field("Counted", COUNTED, required="Enter the counted quantity.")


class TransferForm(FlaskForm):
    from_warehouse_id = SelectField("From warehouse",
                                    validators=[DataRequired("Choose a warehouse.")])
    to_warehouse_id = SelectField("To warehouse", validators=[DataRequired("Choose a warehouse.")])
    transfer_date = DateField("Transfer date", validators=[DataRequired("Enter a date.")])
    notes = TextAreaField("Notes", validators=[Optional(), Length(max=NOTES_MAX)])


class TransferLineForm(FlaskForm):
    quantity = number_field("Quantity", QUANTITY, required="Enter a quantity.")


class TransferLineAddForm(TransferLineForm):
    product = _product_field()
