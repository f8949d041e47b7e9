"""Forms of the count sheets and transfers. The services check again; these put the
messages next to the fields."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.forms import number_field
from erp.models.fields import QUANTITY, Number
from erp.models.stock_documents import NOTES_MAX
from erp.i18n import N_, _l


# a count may be zero (nothing there), unlike a quantity to move
COUNTED = Number(QUANTITY.step, QUANTITY.maximum, "Enter a count from 0 to 99,999,999,999.")


def _product_field():
    return StringField(_l("Product"), validators=[DataRequired(_l("Scan or type a barcode or SKU.")),
                                              Length(max=300)],
                       description=_l("Scan a barcode, or type a SKU or name and pick."))


class CountForm(FlaskForm):
    warehouse_id = SelectField(_l("Warehouse"), validators=[DataRequired(_l("Choose a warehouse."))])
    category_id = SelectField(_l("Category"), validators=[Optional()],
                              description=_l("Empty: every stocked product of the warehouse."))
    count_date = DateField(_l("Count date"), validators=[DataRequired(_l("Enter a date."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=NOTES_MAX)])


class CountLineForm(FlaskForm):
    counted = number_field(_l("Counted"), COUNTED)


class CountLineAddForm(FlaskForm):
    product = _product_field()
    counted = number_field(_l("Counted"), COUNTED, required=N_("Enter the counted quantity."))


class TransferForm(FlaskForm):
    from_warehouse_id = SelectField(_l("From warehouse"),
                                    validators=[DataRequired(_l("Choose a warehouse."))])
    to_warehouse_id = SelectField(_l("To warehouse"), validators=[DataRequired(_l("Choose a warehouse."))])
    transfer_date = DateField(_l("Transfer date"), validators=[DataRequired(_l("Enter a date."))])
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=NOTES_MAX)])


class TransferLineForm(FlaskForm):
    quantity = number_field(_l("Quantity"), QUANTITY, required=N_("Enter a quantity."))


class TransferLineAddForm(TransferLineForm):
    product = _product_field()
