"""The user's own account."""
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length


class PasswordChangeForm(FlaskForm):
    current_password = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(max=200)],
                                 description="At least 10 characters; not a common password.")
    confirm = PasswordField("Repeat the new password",
                            validators=[DataRequired(), Length(max=200),
                                        EqualTo("new_password", "The passwords differ.")])
