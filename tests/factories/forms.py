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


def image_bytes(kind: str = "PNG") -> bytes:
    """A small real image (PNG, JPEG or WEBP), as a camera would upload it."""
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (8, 6), (200, 30, 30)).save(buffer, kind)
    return buffer.getvalue()


PDF_BYTES = b"%PDF-1.4\n1 0 obj << >> endobj\ntrailer << >>\n%%EOF\n"


def upload(data: bytes, name: str = "photo.png"):
    """An uploaded file as the service receives it from a request."""
    from io import BytesIO

    from werkzeug.datastructures import FileStorage

    return FileStorage(BytesIO(data), filename=name)


def photo_form(user, name: str = "Machine check"):
    """A form with a required photo, an optional file (image or PDF) and a note.
    Returns (form, {label: key})."""
    form = form_service.create_form(company_id=user.company_id, user=user, name=name)
    keys = {}
    for label, kind, required in (("Photo", "photo", True), ("Report", "file", False),
                                  ("Note", "text", False)):
        keys[label] = form_service.add_field(company_id=user.company_id, form_id=form.id,
                                             user=user, label=label, kind=kind,
                                             required=required).key
    return form, keys


def work_order_for(company, user, name: str = "Assemble"):
    """An open work order of a planned production order."""
    from decimal import Decimal

    from tests.factories.catalog import ProductFactory, WarehouseFactory
    from tests.factories.production import BomLineFactory, WorkOrderFactory, make_order

    part = ProductFactory(company=company, kind="component")
    gadget = ProductFactory(company=company, kind="finished_good")
    BomLineFactory(company=company, product_id=gadget.id, component_id=part.id,
                   quantity=Decimal("1"))
    order = make_order(company, user, gadget, "1", warehouse=WarehouseFactory(company=company))
    return WorkOrderFactory(company=company, production_order_id=order.id, name=name)
