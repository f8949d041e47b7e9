"""Forms of the admin area."""
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.validators import DataRequired, Email, Length

from erp.forms import choices
from erp.models import ROLES

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
