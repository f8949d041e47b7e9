"""Forms of the production area. Numbers are checked again by the services."""
from __future__ import annotations

from decimal import Decimal

from flask_wtf import FlaskForm
from wtforms import (BooleanField, DateField, IntegerField, SelectField,
                     StringField, TextAreaField)
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional

from erp.forms import DecimalField, choices, finite, number_field, text_validators, whole_number
from erp.models.fields import QUANTITY
from erp.models.production import EMPLOYEE_TEXT
from erp.models.production import WORK_ORDER_STATUSES
from erp.i18n import N_, _, _l

def quantity_field(label: str) -> DecimalField:
    """A quantity under the rule every document shares (erp/models/fields.py QUANTITY)."""
    return number_field(label, QUANTITY, required=_("Enter a quantity."))


def hours_field(label: str, *, required: bool = False, maximum=Decimal("99999"), minimum="0"):
    first = InputRequired(message=_l("Enter a number.")) if required else Optional()
    return DecimalField(label, places=None, validators=[
        first, finite, NumberRange(min=Decimal(minimum), max=maximum,
                                   message=_l('Enter a number from %(minimum)s to %(maximum)s.', minimum=minimum, maximum=maximum))],
        render_kw={"inputmode": "decimal"})


class EmployeeForm(FlaskForm):
    name = StringField(_l("Name"), validators=text_validators(EMPLOYEE_TEXT["name"]))
    user_id = SelectField(_l("Login user"), choices=[], validate_choice=True,
                          description=_l("Links the employee to a login: their work orders show "
                                      "under “My work orders”."))
    department = StringField(_l("Department"), validators=text_validators(EMPLOYEE_TEXT["department"]))
    position = StringField(_l("Position"), validators=text_validators(EMPLOYEE_TEXT["position"]))
    email = StringField(_l("Email"), validators=text_validators(EMPLOYEE_TEXT["email"]))
    active = BooleanField(_l("Active"), default=True)

    def set_users(self, users) -> None:
        self.user_id.choices = choices([("", N_("— none —"))] + [
            (str(u.id), f"{u.display_name} ({u.email})") for u in users])


class BomLineForm(FlaskForm):
    component = StringField(_l("Component"), validators=[DataRequired(message=_l("Choose a component.")),
                                                     Length(max=300)])
    quantity = quantity_field("Quantity per unit")


class BomQuantityForm(FlaskForm):
    quantity = quantity_field("Quantity per unit")


class ProductionOrderForm(FlaskForm):
    product = StringField(_l("Product"), validators=[DataRequired(message=_l("Choose a product.")),
                                                 Length(max=300)],
                          description=_l("Type a SKU or name and pick from the list."))
    quantity = quantity_field("Quantity")
    component_warehouse_id = SelectField(_l("Component warehouse"), choices=[])
    output_warehouse_id = SelectField(_l("Output warehouse"), choices=[])
    planned_start = DateField(_l("Planned start"), validators=[InputRequired(message=_l("Enter a date."))])
    planned_end = DateField(_l("Planned end"), validators=[Optional()])
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])

    def set_warehouses(self, warehouses) -> None:
        options = choices([(str(w.id), str(w)) for w in warehouses])
        self.component_warehouse_id.choices = options
        self.output_warehouse_id.choices = list(options)


class WorkOrderForm(FlaskForm):
    name = StringField(_l("Step"), validators=[DataRequired(), Length(max=200)])
    employee = StringField(_l("Employee"), validators=[Length(max=300)],
                           description=_l("Type a name and pick from the list; empty: unassigned."))
    planned_hours = hours_field("Planned hours")
    actual_hours = hours_field("Actual hours")
    sequence = IntegerField(_l("Sequence"), default=10,
                            validators=[Optional(), whole_number,
                                        NumberRange(min=0, max=10000)])


class WorkOrderStatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(WORK_ORDER_STATUSES.items()))


class OverrideForm(FlaskForm):
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(message=_l("Give a reason.")),
                                                 Length(max=500)])
