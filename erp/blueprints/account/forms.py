"""The user's own account."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, DateField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                                 description="At least 10 characters; not a common password.")
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), Length(max=200),
                                        EqualTo("new_password", "The passwords differ.")])


class ApiTokenForm(FlaskForm):
    name = StringField("Name", validators=[DataRequired(), Length(max=100)],
                       description="What uses it, e.g. 'shop sync' or 'label printer'.")
    read_only = BooleanField("Read-only (GET requests only)")
    expires_on = DateField("Expires on", validators=[Optional()],
                           description="Empty: never. It stops working at the end of that day.")
