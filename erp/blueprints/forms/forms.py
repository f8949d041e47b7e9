"""Forms of the custom forms module: a form's name, one field's settings, and the fill
form built from a version's fields (`fill_form`): one WTForms field per question, so the
shared `field` and `picker` macros render them and `apply_field_errors` puts the
service's messages next to them (the service checks every value)."""
from __future__ import annotations

from flask import url_for
from flask_wtf import FlaskForm
from wtforms import (BooleanField, FileField, SelectField, SelectMultipleField, StringField,
                     TextAreaField)
from wtforms.validators import Length, Optional

from erp.forms import choices
from erp.models.forms import (FIELD_KINDS, FILE_KINDS, LONG_TEXT_MAX, NUMBER_KINDS, OPTION_LIMIT,
                              OPTIONS_MAX, SHORT_TEXT_MAX, FormField, FormVersion)
from erp.i18n import _, _l

KIND_CHOICES = list(FIELD_KINDS.items())
PICKER_URLS = {"product": "catalog.product_options", "customer": "sales.customer_options",
               "supplier": "catalog.supplier_options", "employee": "production.employee_options"}


class CustomFormForm(FlaskForm):
    name = StringField(_l("Name"), validators=[Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=2000)])


class FieldForm(FlaskForm):
    """A field's settings; the service checks them together (e.g. a list needs choices)."""

    kind = SelectField(_l("Type"), choices=choices(KIND_CHOICES), validate_choice=False)
    label = StringField(_l("Label"), validators=[Length(max=200)])
    help = StringField(_l("Help text"), validators=[Optional(), Length(max=500)],
                       description=_l("Shown under the field."))
    required = BooleanField(_l("Required"))
    options = TextAreaField(_l("Choices"), validators=[Optional(),
                                                   Length(max=OPTIONS_MAX * (OPTION_LIMIT + 2))],
                            description=_l("For a list: one choice a line."))
    minimum = StringField(_l("Minimum"), validators=[Optional(), Length(max=40)], render_kw={"inputmode": "decimal"},
                          description=_l("For a number: the least value accepted."))
    maximum = StringField(_l("Maximum"), validators=[Optional(), Length(max=40)], render_kw={"inputmode": "decimal"},
                          description=_l("For a number: the greatest value accepted."))
    unit = StringField(_l("Unit"), validators=[Optional(), Length(max=20)],
                       description=_l("For a number, e.g. °C or kg."))
    must_be_yes = BooleanField(_l("Must be yes (a “no” fails the check)"))
    condition_key = SelectField(_l("Show only when"), validate_choice=False)
    condition_value = StringField(_l("has the answer"), validators=[Optional(), Length(max=200)],
                                  description=_l("yes or no, or one of the list's choices."))

    def set_sources(self, version: FormVersion, key: str | None) -> None:
        """The fields a condition may name: the version's yes / no and list fields."""
        self.condition_key.choices = choices(
            [("", "Always shown")] + [(field.key, field.label) for field in version.fields
                                      if field.kind in ("yes_no", "choice", "choices")
                                      and field.key != key])

    def values(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "kind", "label", "help", "required", "options", "minimum", "maximum", "unit",
            "must_be_yes", "condition_key", "condition_value")}


def _bounds(field: FormField) -> str:
    """What a number field accepts, in the reader's language: "from 0 to 8 °C"."""
    unit = f" {field.unit}" if field.unit else ""
    low, high = (f"{value.normalize():f}" if value is not None else None
                 for value in (field.minimum, field.maximum))
    if low is not None and high is not None:
        return _("from %(minimum)s to %(maximum)s", minimum=low, maximum=high + unit)
    if low is not None:
        return _("at least %(value)s", value=low + unit)
    return _("at most %(value)s", value=high + unit) if high is not None else unit.strip()


def _question(field: FormField):
    """The WTForms field that asks `field` (None for a section heading)."""
    label = field.label + (" *" if field.required else "")
    notes = [field.help] if field.help else []
    if field.kind in NUMBER_KINDS:
        notes.append(_bounds(field))
    description = " · ".join(note for note in notes if note)
    common = {"label": label, "description": description}
    if field.kind == "text":
        return StringField(**common, render_kw={"maxlength": SHORT_TEXT_MAX})
    if field.kind == "long_text":
        return TextAreaField(**common, render_kw={"maxlength": LONG_TEXT_MAX, "rows": 4})
    if field.kind in NUMBER_KINDS:
        return StringField(**common, render_kw={
            "inputmode": "numeric" if field.kind == "number" else "decimal"})
    if field.kind == "date":
        return StringField(**common, render_kw={"type": "date"})
    if field.kind == "yes_no":
        return SelectField(**common, validate_choice=False, choices=choices(
            [("", "—"), ("yes", _("Yes")), ("no", _("No"))]))
    if field.kind == "choice":
        return SelectField(**common, validate_choice=False, choices=choices(
            [("", "—")] + [(choice, choice) for choice in field.choices]))
    if field.kind == "choices":
        return SelectMultipleField(**common, validate_choice=False, choices=choices(
            [(choice, choice) for choice in field.choices]))
    if field.kind in FILE_KINDS:  # the accept list helps the browser; the service decides
        return FileField(**common, render_kw={"accept": ",".join(FILE_KINDS[field.kind])})
    if field.kind in PICKER_URLS:
        return StringField(**common, render_kw={"placeholder": _("Type to search")})
    return None


def fill_form(version: FormVersion, data: dict | None = None) -> FlaskForm:
    """A form asking the version's questions (named by the fields' keys); `data` fills
    it (a draft's answers) on a GET, the POST fills it otherwise."""
    attributes = {field.key: _question(field) for field in version.fields if field.answers}
    form_class = type("FillForm", (FlaskForm,), attributes)
    return form_class(data=data) if data is not None else form_class()


def picker_url(field: FormField) -> str:
    return url_for(PICKER_URLS[field.kind])
