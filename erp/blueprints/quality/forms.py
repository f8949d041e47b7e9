"""Forms of the quality area."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from erp.forms import choices
from erp.models.quality import RESULTS


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


class SupersedeForm(FlaskForm):
    """A re-inspection of what an earlier inspection inspected (the subject is its)."""

    inspected_on = DateField("Inspected on", validators=[InputRequired(message="Enter a date.")])
    result = SelectField("Result", choices=choices(RESULTS.items()))
    notes = TextAreaField("Notes", validators=[Length(max=2000)])
