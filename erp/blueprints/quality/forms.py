"""Forms of the quality area."""
from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import InputRequired, Length

from erp.forms import choices
from erp.models.quality import RESULTS
from erp.i18n import _l


class InspectionForm(FlaskForm):
    product = StringField(_l("Product"), validators=[Length(max=300)],
                          description=_l("Optional when a production order is given."))
    production_order = StringField(_l("Production order"), validators=[Length(max=60)],
                                   description=_l("Its number, e.g. MO-2026-000012."))
    receipt_reference = StringField(_l("Goods receipt"), validators=[Length(max=60)],
                                    description=_l("A purchase receipt's reference, if any."))
    inspected_on = DateField(_l("Inspected on"), validators=[InputRequired(message=_l("Enter a date."))])
    result = SelectField(_l("Result"), choices=choices(RESULTS.items()))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])


class SupersedeForm(FlaskForm):
    """A re-inspection of what an earlier inspection inspected (the subject is its)."""

    inspected_on = DateField(_l("Inspected on"), validators=[InputRequired(message=_l("Enter a date."))])
    result = SelectField(_l("Result"), choices=choices(RESULTS.items()))
    notes = TextAreaField(_l("Notes"), validators=[Length(max=2000)])
