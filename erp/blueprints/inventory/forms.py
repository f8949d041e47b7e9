"""Forms of inventory: warehouses and the stock forms (count, transfer, receive/issue)."""
from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, StopValidation

from erp.forms import DecimalField, choices, text_validators
from erp.models.inventory import WAREHOUSE_TEXT
from erp.i18n import _l

MAX_QUANTITY = Decimal("99999999999")


def finite(form, field) -> None:
    """Refuse NaN and infinities before NumberRange looks at them ('sNaN' makes it raise)."""
    if field.data is not None and not field.data.is_finite():
        field.errors[:] = []
        raise StopValidation("Enter a number.")


class WarehouseForm(FlaskForm):
    code = StringField(_l("Code"), validators=text_validators(WAREHOUSE_TEXT["code"]),
                       description=_l("Short and unique, e.g. MAIN."))
    name = StringField(_l("Name"), validators=text_validators(WAREHOUSE_TEXT["name"]))
    address = TextAreaField(_l("Address"), validators=text_validators(WAREHOUSE_TEXT["address"]))


def _lot_field():
    return StringField(_l("Lot or serial number"), validators=[Length(max=300)],
                       description=_l("For a product tracked by lot or serial number."))


def _product_field():
    return StringField(_l("Product"), validators=[DataRequired(), Length(max=300)],
                       description=_l("Type a SKU or name and pick from the list."))


class StockCountForm(FlaskForm):
    product = _product_field()
    warehouse_id = SelectField(_l("Warehouse"), coerce=int, choices=[])
    counted = DecimalField(_l("Counted quantity"), places=3,
                           validators=[InputRequired(), finite,
                                       NumberRange(min=0, max=MAX_QUANTITY)])
    lot = _lot_field()
    note = StringField(_l("Note"), validators=[Length(max=300)])


class StockTransferForm(FlaskForm):
    product = _product_field()
    from_warehouse_id = SelectField(_l("From warehouse"), coerce=int, choices=[])
    to_warehouse_id = SelectField(_l("To warehouse"), coerce=int, choices=[])
    quantity = DecimalField(_l("Quantity"), places=3,
                            validators=[InputRequired(), finite,
                                        NumberRange(min=0, max=MAX_QUANTITY)])
    lot = _lot_field()
    note = StringField(_l("Note"), validators=[Length(max=300)])


DIRECTIONS = [("receive", "Receive (stock in)"), ("issue", "Issue (stock out)")]


class StockReceiveForm(FlaskForm):
    direction = SelectField(_l("Movement"), choices=choices(DIRECTIONS), default="receive")
    product = _product_field()
    warehouse_id = SelectField(_l("Warehouse"), coerce=int, choices=[])
    quantity = DecimalField(_l("Quantity"), places=3,
                            validators=[InputRequired(), finite,
                                        NumberRange(min=0, max=MAX_QUANTITY)])
    lot = _lot_field()
    expiry = StringField(_l("Expiry of a new lot"), validators=[Length(max=40)])
    note = StringField(_l("Note"), validators=[Length(max=300)])
