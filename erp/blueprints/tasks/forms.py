"""Forms of the tasks module."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.forms import choices
from erp.models.tasks import TASK_PRIORITIES, TASK_STATUSES

PRIORITY_CHOICES = list(TASK_PRIORITIES.items())
STATUS_CHOICES = list(TASK_STATUSES.items())


class UserPickerField(StringField):
    """The assignee picker's text. `TaskForm(obj=task)` hands it the User record itself when
    the POST lacks the field: keep its picker text 'Name [#id]', never the object."""

    def process_data(self, value):
        if value is not None and not isinstance(value, str):
            value = f"{value.display_name} [#{value.id}]"
        super().process_data(value)


class TaskForm(FlaskForm):
    title = StringField("Title", validators=[DataRequired(), Length(max=200)])
    description = TextAreaField("Description", validators=[Optional(), Length(max=5000)])
    assignee = UserPickerField("Assignee", validators=[Optional(), Length(max=300)],
                           description="Type a name or email and pick a user; empty for nobody.")
    due_date = DateField("Due date", validators=[Optional()])
    priority = SelectField("Priority", choices=choices(PRIORITY_CHOICES), default="normal")


class StatusForm(FlaskForm):
    status = SelectField("Status", choices=choices(STATUS_CHOICES))
