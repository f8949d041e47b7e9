"""Custom forms: a checklist built through the service (its versions and keys are the
service's to give), and the designing manager and filling staff member as fixtures (import
them into a test module)."""
import pytest

from erp.services import forms as form_service


@pytest.fixture
def manager(make_user):
    return make_user("manager")


@pytest.fixture
def staff(make_user):
    return make_user("staff")


def checklist(user, name: str = "Incoming goods", *, required_temperature: bool = True):
    """A form with a section, a yes/no check that must be yes, a temperature (0-20 °C), a
    date, a list, a field shown only when the check is "no", and a product picker.
    Returns (form, {label: key})."""
    company_id = user.company_id
    form = form_service.create_form(company_id=company_id, user=user, name=name,
                                    description="Checked at the receiving dock.")
    keys = {}

    def add(label, kind, **values):
        field = form_service.add_field(company_id=company_id, form_id=form.id, user=user,
                                       label=label, kind=kind, **values)
        keys[label] = field.key
        return field

    add("Arrival", "section")
    add("Packaging intact", "yes_no", required=True, must_be_yes=True)
    add("Temperature", "decimal", required=required_temperature, minimum="0", maximum="20",
        unit="°C")
    add("Best before", "date")
    add("Carrier", "choice", options="DHL\nUPS\nOwn truck")
    add("Damage notes", "long_text", required=True, condition_key=keys["Packaging intact"],
        condition_value="no")
    add("Product", "product")
    return form, keys
