"""The user's own account."""
from flask_wtf import FlaskForm

from erp.i18n import _l, language_choices
from wtforms import BooleanField, DateField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField(_l("Current password"), validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                                 description=_l("At least 10 characters; not a common password."))
    confirm = PasswordField(_l("Repeat the new password"),
                            validators=[DataRequired(), Length(max=200),
                                        EqualTo("new_password", "The passwords differ.")])


class ApiTokenForm(FlaskForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=100)],
                       description=_l("What uses it, e.g. 'shop sync' or 'label printer'."))
    read_only = BooleanField(_l("Read-only (GET requests only)"))
    expires_on = DateField(_l("Expires on"), validators=[Optional()],
                           description=_l("Empty: never. It stops working at the end of that day."))


class PreferencesForm(FlaskForm):
    language = SelectField(_l("Language"), validate_choice=False,
                           description=_l("The language of your pages, dates and numbers."))

    def __init__(self, *args, company_language: str = "en", **kwargs):
        super().__init__(*args, **kwargs)
        names = dict(language_choices())
        self.language.choices = [("", _l("The company's (%(language)s)",
                                          language=names.get(company_language, company_language)))
                                 ] + language_choices()
