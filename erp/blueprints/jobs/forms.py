"""Forms of the webhooks pages."""
from flask_wtf import FlaskForm
from wtforms import SelectMultipleField, StringField, TextAreaField, widgets
from wtforms.validators import Length

from erp.forms import choices
from erp.services.webhooks import EVENTS
from erp.i18n import _l


class EndpointForm(FlaskForm):
    url = StringField(_l("URL"), validators=[Length(max=500)],
                      description=_l("https://... that receives a signed JSON POST per event."))
    description = StringField(_l("Description"), validators=[Length(max=200)])
    events = SelectMultipleField(_l("Events"), choices=choices(EVENTS.items()),
                                 option_widget=widgets.CheckboxInput(),
                                 widget=widgets.ListWidget(prefix_label=False),
                                 validate_choice=False)


class EmailDocumentForm(FlaskForm):
    to = StringField(_l("To"), validators=[Length(max=254)],
                     description=_l("The address the PDF is sent to."))
    message = TextAreaField(_l("Message"), validators=[Length(max=2000)],
                            description=_l("Optional; printed above the greeting."))
