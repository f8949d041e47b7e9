"""Forms of the webhooks pages."""
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import Length

from erp.forms import choices
from erp.services.webhooks import EVENTS


class EndpointForm(FlaskForm):
    url = StringField("URL", validators=[Length(max=500)],
                      description="https://... that receives a signed JSON POST per event.")
    description = StringField("Description", validators=[Length(max=200)])
    events = SelectMultipleField("Events", choices=choices(EVENTS.items()),
                                 option_widget=widgets.CheckboxInput(),
                                 widget=widgets.ListWidget(prefix_label=False),
                                 validate_choice=False)


class EmailDocumentForm(FlaskForm):
    to = StringField("To", validators=[Length(max=254)],
                     description="The address the PDF is sent to.")
    message = TextAreaField("Message", validators=[Length(max=2000)],
                            description="Optional; printed above the greeting.")
