"""Forms of the admin area."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from erp.forms import choices
from erp.models import ROLES
from erp.parsing import parse_id
from erp.services.validation import available_zones


def optional_id(value) -> int | None:
    """A select's value as an id: blank is None (automatic); anything that is not an id
    in range is 0, which no record has, so the service refuses it next to the field."""
    if value is None or value == "":
        return None
    return parse_id(str(value)) or 0


ROLE_CHOICES = [(role, role.capitalize()) for role in ROLES]


class UserCreateForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(check_deliverability=False),
                                            Length(max=254)])
    name = StringField("Name", validators=[Length(max=200)])
    role = SelectField("Role", choices=choices(ROLE_CHOICES), default="staff")
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters; not a common password.")


class RoleForm(FlaskForm):
    role = SelectField("Role", choices=choices(ROLE_CHOICES))


class PasswordResetForm(FlaskForm):
    password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                             description="At least 10 characters. The user's sessions end.")


class CompanyForm(FlaskForm):
    """The company's settings; the service checks every field again."""

    name = StringField("Company name", validators=[DataRequired(), Length(max=200)])
    currency = StringField("Currency", validators=[DataRequired(), Length(max=3)],
                           description="Three-letter code, e.g. EUR, USD, TRY.")
    timezone = SelectField("Time zone", validate_choice=False,
                           description="Dates and times are shown in this zone, and new "
                                       "documents are dated with its today.")

    default_warehouse_id = SelectField(
        "Default warehouse", validate_choice=False, coerce=optional_id,
        description="New orders start in it. Automatic: the only, else the first active "
                    "warehouse by name.")

    def __init__(self, *args, warehouses=(), **kwargs):
        super().__init__(*args, **kwargs)
        # the service answers an unknown zone or warehouse next to the field
        self.timezone.choices = choices((zone, zone) for zone in sorted(available_zones()))
        self.default_warehouse_id.choices = [("", "Automatic")] + list(warehouses)
