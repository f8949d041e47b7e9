"""Forms of the quality area."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from erp.forms import choices
from erp.models.quality import RESULTS


def clean(form):
    """Drop NUL characters from text input: PostgreSQL refuses them in strings (a 500)."""
    for field in form:
        if isinstance(field.data, str) and "\x00" in field.data:
            field.data = field.data.replace("\x00", "")
    return form


class InspectionForm(FlaskForm):
    product = StringField("Product", validators=[Length(max=300)],
                          description="Optional when a production order is given.")
    production_order = StringField("Production order", validators=[Length(max=60)],
                                   description="Its number, e.g. MO-2026-000012.")
    receipt_reference = StringField("Goods receipt", validators=[Length(max=60)],
                                    description="A purchase receipt's reference, if any.")
    inspected_on = DateField("Inspected on", validators=[InputRequired(message="Enter a date.")])
    result = SelectField("Result", choices=choices(RESULTS.items()))
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
