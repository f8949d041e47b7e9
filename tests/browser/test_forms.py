"""Custom forms on a phone (#23): a manager designs an incoming goods checklist and names it
the inspection form of a category; a staff member fills it on the phone during a goods
receipt inspection; the "must be yes" check answered no fails the inspection; the answers
are found by a field filter and exported to CSV. Every page fits the phone's width and
its controls are tapped (not clicked with force): they are under the finger."""
import csv
import io
import re

import pytest
from playwright.sync_api import expect

from erp.extensions import db
from erp.models.forms import CustomForm
from erp.models.quality import QualityInspection
from erp.services import forms as form_service
from tests.browser.conftest import ARTIFACTS, PHONE, close_contexts, record_console_error
from tests.factories.catalog import CategoryFactory, ProductFactory

TAP_MIN = 38  # CSS pixels: a finger taps a control of Bootstrap's normal size, not a small one (31)


@pytest.fixture
def phone(browser, request):
    """`phone()`: a new page in its own touch-screen context (one per user), 390 x 844."""
    contexts = []

    def open_page():
        context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True,
                                      accept_downloads=True)
        contexts.append(context)
        page = context.new_page()
        page.js_errors = []
        page.on("pageerror", lambda exc: page.js_errors.append(str(exc)))
        page.on("console", lambda msg: record_console_error(page.js_errors, msg.text)
                if msg.type == "error" else None)
        page.on("dialog", lambda dialog: dialog.accept())
        return page

    yield open_page
    close_contexts(contexts, request.node.name)


def fits(page, what: str) -> None:
    """The page scrolls only down, never sideways (nothing wider than the phone), and no
    table scrolls sideways inside its own box either (a column out of sight)."""
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"{what}: {width} px wide"
    boxes = page.evaluate("""Array.from(document.querySelectorAll('.table-responsive'))
        .filter(box => box.scrollWidth > box.clientWidth).length""")
    assert boxes == 0, f"{what}: a table wider than its box"


def tap(page, selector: str) -> None:
    """Tap a control that is big enough for a finger."""
    control = page.locator(selector)
    control.scroll_into_view_if_needed()
    box = control.bounding_box()
    assert box is not None and box["height"] >= TAP_MIN, f"{selector}: {box}"
    control.tap()


def shot(page, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"forms-phone-{name}.png"), full_page=True)


def add_field(page, label: str, kind: str, **settings) -> None:
    tap(page, "#add-field")
    expect(page.locator("h1")).to_have_text("New field")
    page.select_option("#kind", kind)
    page.fill("#label", label)
    for name, value in settings.items():
        if name in ("required", "must_be_yes"):
            page.check(f"#{name}")
        elif name == "condition_key":
            page.select_option("#condition_key", label=value)
        else:
            page.fill(f"#{name}", value)
    fits(page, f"the field form ({label})")
    tap(page, "#field-form button[type=submit]")
    expect(page.locator("#flash")).to_contain_text(f"Field “{label}” saved.")


def test_an_incoming_goods_checklist_on_a_phone(phone, live_server, browser_login, make_user,
                                                company):
    manager, staff = make_user("manager"), make_user("staff")
    produce = CategoryFactory(company=company, name="Chilled produce")
    ProductFactory(company=company, sku="YOG-1", name="Yoghurt 500 g", category=produce)
    failed_requests: list[str] = []

    # --- the manager designs the checklist and names it the category's inspection form
    designer = phone()
    designer.on("response", lambda r: failed_requests.append(r.url) if r.status >= 500 else None)
    browser_login(designer, manager.email)
    designer.goto(f"{live_server}/forms")
    tap(designer, "text=New form")
    designer.fill("#name", "Incoming goods checklist")
    designer.fill("#description", "Filled at the receiving dock for each delivery.")
    tap(designer, "#custom-form-form button[type=submit]")
    expect(designer.locator("h1")).to_contain_text("Incoming goods checklist")
    add_field(designer, "Packaging intact", "yes_no", required=True, must_be_yes=True)
    add_field(designer, "Temperature", "decimal", minimum="-30", maximum="40", unit="°C")
    add_field(designer, "Carrier", "choice", options="Own truck\nParcel service")
    add_field(designer, "Damage notes", "long_text", required=True,
              condition_key="Packaging intact", condition_value="no")
    expect(designer.locator("#form-fields")).to_contain_text("Must be yes")
    designer.select_option("#link-category", label="Chilled produce")
    tap(designer, "#link-form button[type=submit]")
    expect(designer.locator("#form-links")).to_contain_text("Category Chilled produce")
    fits(designer, "the form's page")
    shot(designer, "designed")

    # a delivery that passed, filled earlier (the filter must tell the two apart)
    db.session.rollback()  # end the snapshot: see what the requests wrote
    form = db.session.scalar(db.select(CustomForm).where(CustomForm.company_id == company.id))
    keys = {field.label: field.key for field in form_service.latest_version(form).fields}
    form_service.save_submission(company_id=company.id, form_id=form.id, user=staff,
                                 submit=True, answers={keys["Packaging intact"]: "yes",
                                                       keys["Temperature"]: "4"})

    # --- at the dock: the staff member inspects the receipt on the phone
    dock = phone()
    dock.on("response", lambda r: failed_requests.append(r.url) if r.status >= 500 else None)
    browser_login(dock, staff.email)
    dock.goto(f"{live_server}/quality/inspections/new")
    dock.fill("#product", "YOG-1")
    dock.fill("#receipt_reference", "GR-7731")
    tap(dock, "#inspection-form button[type=submit]")
    expect(dock.locator("#inspection-subject")).to_contain_text("Yoghurt 500 g")
    expect(dock.locator("#inspection-subject")).to_contain_text("GR-7731")
    fits(dock, "the fill page")
    notes = dock.locator(f"#question-{keys['Damage notes']}")
    expect(notes).to_be_hidden()  # shown only when the packaging is not intact
    tap(dock, f"label[for={keys['Packaging intact']}-no]")
    expect(notes).to_be_visible()  # htmx asked the server again
    dock.fill(f"#{keys['Temperature']}", "9.5")
    tap(dock, f"label[for={keys['Carrier']}-2]")
    shot(dock, "fill")
    tap(dock, "#submit-form")  # the damage is not described yet: refused, nothing saved
    expect(dock.locator(f"#question-{keys['Damage notes']} .invalid-feedback")).to_have_text(
        "This field is required.")
    fits(dock, "the fill page with its messages")
    dock.fill(f"#{keys['Damage notes']}", "Two cartons crushed <b>at one corner</b>.")
    tap(dock, "#submit-form")
    expect(dock.locator("#flash")).to_contain_text("Form submitted.")
    expect(dock.locator(f"#answer-{keys['Packaging intact']}")).to_have_text("No")
    expect(dock.locator(f"#answer-{keys['Damage notes']}")).to_contain_text(
        "<b>at one corner</b>")  # shown as typed, not as markup
    expect(dock.locator("#inspection-result")).to_have_text("Fail")
    fits(dock, "the submission's page")
    shot(dock, "submitted")
    tap(dock, "#inspection-link")
    expect(dock.locator("h1")).to_contain_text("Inspection")
    expect(dock.locator("body")).to_contain_text("Fail")
    db.session.rollback()
    inspection = db.session.scalar(db.select(QualityInspection).where(
        QualityInspection.company_id == company.id))
    assert inspection.result == "fail" and inspection.receipt_reference == "GR-7731"
    assert "Packaging intact" in inspection.notes

    # --- the answers: found by a field filter, exported to CSV
    dock.goto(f"{live_server}/forms/{form.id}/submissions")
    expect(dock.locator("tbody tr")).to_have_count(2)
    fits(dock, "the submissions list")
    tap(dock, ".answer-filters summary")
    dock.select_option(f"#filter-{keys['Packaging intact']}", "no")
    tap(dock, "form button:has-text('Filter')")
    expect(dock.locator("tbody tr")).to_have_count(1)
    expect(dock).to_have_url(re.compile(rf"{keys['Packaging intact']}=no"))
    fits(dock, "the filtered submissions list")
    shot(dock, "filtered")
    with dock.expect_download() as download:
        tap(dock, "#export-csv")
    rows = list(csv.DictReader(io.StringIO(
        download.value.path().read_text(encoding="utf-8-sig"))))
    assert [(row["Packaging intact"], row["Temperature"], row["Carrier"]) for row in rows] == [
        ("No", "9.5 °C", "Parcel service")]
    assert rows[0]["Damage notes"] == "Two cartons crushed <b>at one corner</b>."
    assert failed_requests == []
    assert designer.js_errors == []
    # the refused submission answered 422, by design; nothing else failed
    assert [e for e in dock.js_errors if "status of 422" not in e] == []
