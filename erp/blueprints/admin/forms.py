"""Forms of the admin area."""
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import (BooleanField, EmailField, PasswordField, SelectField, StringField,
                     TextAreaField)
from wtforms.validators import DataRequired, Email, Length

from erp.forms import choices, optional_id, text_validators
from erp.i18n import _l, language_choices
from erp.models import ROLES
from erp.models.core import COMPANY_TEXT, DEFAULT_TIMEZONE
from erp.models.money import CURRENCIES
from erp.services.validation import available_zones

ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class UserCreateForm(FlaskForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    name = StringField(_l("Name"), validators=[Length(max=200)])
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES), default="staff")
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters; not a common password."))


class RoleForm(FlaskForm):
    role = SelectField(_l("Role"), choices=choices(ROLE_CHOICES))


class PasswordResetForm(FlaskForm):
    password = PasswordField(_l("New password"), validators=[DataRequired(), Length(max=200)],
                             description=_l("At least 10 characters. The user's sessions end."))


def currency_choices(current: str | None = None):
    """The ISO 4217 codes of the list, and the company's own code if it is not on it."""
    pairs = [(code, f"{code} · {name}") for code, name in sorted(CURRENCIES.items())]
    if current and current not in CURRENCIES:
        pairs.insert(0, (current, current))
    return choices(pairs)


def zone_choices():
    return choices((zone, zone) for zone in sorted(available_zones()))


class CompanyForm(FlaskForm):
    """The company's settings; the service checks every field again."""

    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    legal_name = StringField(_l("Legal name"), validators=text_validators(COMPANY_TEXT["legal_name"]),
                             description=_l("As it appears on invoices; blank: the company name."))
    address = TextAreaField(_l("Address"), validators=text_validators(COMPANY_TEXT["address"]))
    tax_number = StringField(_l("Tax number"), validators=text_validators(COMPANY_TEXT["tax_number"]))
    currency = SelectField(_l("Currency"), validate_choice=False,
                           description=_l("ISO 4217; every amount of the company is in it."))
    timezone = SelectField(_l("Time zone"), validate_choice=False,
                           description=_l("Dates and times are shown in this zone, and new documents are dated with its today."))
    default_language = SelectField(_l("Default language"), validate_choice=False,
                                   description=_l("The language of users who chose none."))

    default_warehouse_id = SelectField(
        _l("Default warehouse"), validate_choice=False, coerce=optional_id,
        description=_l("New orders start in it. Automatic: the only, else the first active warehouse by name."))
    default_tax_code_id = SelectField(
        _l("Default tax code"), validate_choice=False, coerce=optional_id,
        description=_l("The rate of a sales line whose product names no tax code."))
    default_payment_terms_id = SelectField(
        _l("Default payment terms"), validate_choice=False, coerce=optional_id,
        description=_l("For customers without terms of their own."))
    auto_reorder = BooleanField(
        _l("Draft purchase orders for low stock every night"),
        description=_l("The nightly reorder job drafts one purchase order per preferred "
                       "supplier of what the reorder list suggests, into the default "
                       "warehouse; a manager checks and places them."))
    bank_details = TextAreaField(_l("Bank details"),
                                 validators=text_validators(COMPANY_TEXT["bank_details"]),
                                 description=_l("Bank, IBAN, BIC: printed on invoices."))
    invoice_footer = TextAreaField(_l("Invoice footer"),
                                   validators=text_validators(COMPANY_TEXT["invoice_footer"]),
                                   description=_l("Printed at the foot of every invoice."))

    def __init__(self, *args, warehouses=(), tax_codes=(), payment_terms=(), **kwargs):
        super().__init__(*args, **kwargs)
        # the service answers an unknown zone, currency or record next to the field
        self.timezone.choices = zone_choices()
        self.default_language.choices = language_choices()
        self.currency.choices = currency_choices(self.currency.data)
        self.default_warehouse_id.choices = [("", "Automatic")] + list(warehouses)
        self.default_tax_code_id.choices = [("", "None (0 %)")] + list(tax_codes)
        self.default_payment_terms_id.choices = [("", "None (due on receipt)")] + list(
            payment_terms)


class LogoForm(FlaskForm):
    logo = FileField(_l("Logo"), validators=[FileRequired("Choose an image file.")],
                     description=_l("PNG or JPEG, at most 512 KB; shown on printed documents."))


class NewCompanyForm(FlaskForm):
    """A new company and its first admin (installation administrators only)."""

    name = StringField(_l("Company name"), validators=[DataRequired(), Length(max=200)])
    currency = SelectField(_l("Currency"), validate_choice=False, default="EUR")
    timezone = SelectField(_l("Time zone"), validate_choice=False, default=DEFAULT_TIMEZONE)
    admin_email = EmailField(_l("Admin's email"), validators=[
        DataRequired(), Email(check_deliverability=False), Length(max=254)])
    admin_name = StringField(_l("Admin's name"), validators=[Length(max=200)])
    admin_password = PasswordField(_l("Admin's password"),
                                   validators=[DataRequired(), Length(max=200)],
                                   description=_l("At least 10 characters; not a common password. Give it to the new admin."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.currency.choices = currency_choices()
        self.timezone.choices = zone_choices()
