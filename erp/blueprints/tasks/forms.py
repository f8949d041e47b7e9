"""Forms of the tasks module."""
from flask_wtf import FlaskForm
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from erp.i18n import _l, translated
from erp.forms import choices
from erp.models.tasks import TASK_PRIORITIES, TASK_STATUSES

PRIORITY_CHOICES = translated(TASK_PRIORITIES.items())
STATUS_CHOICES = translated(TASK_STATUSES.items())


class UserPickerField(StringField):
    """The assignee picker's text. `TaskForm(obj=task)` hands it the User record itself when
    the POST lacks the field: keep its picker text 'Name [#id]', never the object."""

    def process_data(self, value):
        if value is not None and not isinstance(value, str):
            value = f"{value.display_name} [#{value.id}]"
        super().process_data(value)


class TaskForm(FlaskForm):
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    assignee = UserPickerField(_l("Assignee"), validators=[Optional(), Length(max=300)],
                           description=_l("Type a name or email and pick a user; empty for nobody."))
    due_date = DateField(_l("Due date"), validators=[Optional()])
    priority = SelectField(_l("Priority"), choices=choices(PRIORITY_CHOICES), default="normal")


class StatusForm(FlaskForm):
    status = SelectField(_l("Status"), choices=choices(STATUS_CHOICES))
