"""Custom forms pages: roles (manager designs, staff fills, viewer reads), another
company's 404s, the designer without JavaScript, filling with every message at once,
submissions list filters, CSV, printable page and query counts."""
import csv
import io
import re
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.forms import FormAnswer, FormField, FormLink, FormSubmission, FormVersion
from erp.models.quality import QualityInspection
from erp.services import forms as service
from tests.conftest import login
from tests.factories.catalog import ProductFactory
from tests.factories.forms import checklist, manager, staff  # noqa: F401 (fixtures)


@pytest.fixture
def designed(manager):
    return checklist(manager)


def fill(user, form, keys, temperature, *, intact="yes", submit=True, **extra):
    answers = {keys["Packaging intact"]: intact, keys["Temperature"]: temperature,
               keys["Damage notes"]: "Torn" if intact == "no" else "", **extra}
    return service.save_submission(company_id=user.company_id, form_id=form.id, user=user,
                                   answers=answers, submit=submit)


def listed(client, form):
    """The temperatures (of 4, 9.5 and 12 °C) the submissions list shows for a query."""
    def temperatures(query):
        page = client.get(f"/forms/{form.id}/submissions?{query}").get_data(as_text=True)
        return sorted(t for t in ("4 °C", "9.5 °C", "12 °C") if f">{t}<" in page)
    return temperatures


def count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def urls(form, submission, key):
    return {
        "get": [f"/forms/{form.id}", f"/forms/{form.id}/edit", f"/forms/{form.id}/fields/new",
                f"/forms/{form.id}/fields/{key}/edit", f"/forms/{form.id}/fields/{key}/delete",
                f"/forms/{form.id}/fill", f"/forms/{form.id}/submissions",
                f"/forms/{form.id}/submissions?format=csv",
                f"/forms/{form.id}/submissions/{submission.id}",
                f"/forms/{form.id}/submissions/{submission.id}/print",
                f"/forms/{form.id}/submissions/{submission.id}/pdf",
                f"/forms/{form.id}/submissions/{submission.id}/edit",
                f"/forms/{form.id}/submissions/{submission.id}/delete"],
        "post": [f"/forms/{form.id}/edit", f"/forms/{form.id}/active",
                 f"/forms/{form.id}/fields/new", f"/forms/{form.id}/fields/{key}/edit",
                 f"/forms/{form.id}/fields/{key}/move", f"/forms/{form.id}/fields/{key}/delete",
                 f"/forms/{form.id}/fill",
                 f"/forms/{form.id}/submissions/{submission.id}/edit",
                 f"/forms/{form.id}/submissions/{submission.id}/delete"],
    }


# ---------------------------------------------------------------- roles and companies

def test_every_form_address_answers_404_to_another_company(designed, manager, staff, company,
                                                          other_company_client):
    form, keys = designed
    draft = fill(staff, form, keys, "4", submit=False)
    link = service.link_form(company_id=company.id, form_id=form.id, user=manager,
                             product_id=ProductFactory(company=company).id)
    before = (count(FormField), count(FormSubmission), count(FormAnswer), count(FormLink))
    addresses = urls(form, draft, keys["Temperature"])
    addresses["post"] += [f"/forms/{form.id}/links", f"/forms/{form.id}/links/{link.id}/delete"]
    for url in addresses["get"]:
        assert other_company_client.get(url).status_code == 404, url
    for url in addresses["post"]:
        assert other_company_client.post(url, data={"kind": "text", "label": "X",
                                                    "action": "submit"}).status_code == 404, url
    assert (count(FormField), count(FormSubmission), count(FormAnswer),
            count(FormLink)) == before
    page = other_company_client.get("/forms?status=all").get_data(as_text=True)
    assert form.name not in page


@pytest.mark.parametrize("role", ["viewer", "staff", "manager", "admin"])
def test_roles_design_fill_and_read(designed, staff, client_as, role):
    form, keys = designed
    submitted = fill(staff, form, keys, "4")
    client = client_as(role)
    may_design = role in ("manager", "admin")
    may_fill = role != "viewer"
    for url in ("/forms", f"/forms/{form.id}", f"/forms/{form.id}/submissions",
                f"/forms/{form.id}/submissions/{submitted.id}"):
        assert client.get(url).status_code == 200, url
    for url in ("/forms/new", f"/forms/{form.id}/edit", f"/forms/{form.id}/fields/new",
                f"/forms/{form.id}/fields/{keys['Temperature']}/edit"):
        assert client.get(url).status_code == (200 if may_design else 403), url
    response = client.post(f"/forms/{form.id}/fields/new", data={"kind": "text",
                                                                 "label": "By " + role})
    assert response.status_code == (303 if may_design else 403)
    assert client.get(f"/forms/{form.id}/fill").status_code == (200 if may_fill else 403)
    response = client.post(f"/forms/{form.id}/fill", data={"action": "draft"})
    assert response.status_code == (303 if may_fill else 403)


def test_the_navigation_has_a_forms_link(client_as):
    page = client_as("viewer").get("/forms").get_data(as_text=True)
    assert 'href="/forms"' in page and ">Forms</a>" in page


# ---------------------------------------------------------------- designing

def test_a_manager_designs_a_form_without_javascript(manager, app):
    client = login(app.test_client(), manager.email)
    response = client.post("/forms/new", data={"name": "Machine log", "description": "Daily"})
    assert response.status_code == 303
    form_url = response.headers["Location"]
    assert client.post(f"{form_url}/fields/new", data={
        "kind": "yes_no", "label": "Oil level ok", "required": "y",
        "must_be_yes": "y"}).status_code == 303
    assert client.post(f"{form_url}/fields/new", data={
        "kind": "decimal", "label": "Hours", "minimum": "0", "maximum": "24",
        "unit": "h", "condition_key": "f1", "condition_value": "no"}).status_code == 303
    page = client.get(form_url).get_data(as_text=True)
    assert "Oil level ok" in page and "Must be yes" in page
    assert "Only when “Oil level ok” is no" in page
    assert client.post(f"{form_url}/fields/f2/move", data={"direction": "up"}).status_code == 303
    page = client.get(form_url).get_data(as_text=True)
    assert page.index("Hours") < page.index("Oil level ok")
    # removing asks first without JavaScript, then removes
    question = client.get(f"{form_url}/fields/f2/delete")
    assert question.status_code == 200 and "Remove the field “Hours”" in question.get_data(
        as_text=True)
    assert client.post(f"{form_url}/fields/f2/delete").status_code == 303
    page = client.get(form_url).get_data(as_text=True)
    assert "Field “Hours” removed." in page and 'id="field-f2"' not in page


def test_a_bad_field_shows_every_message_next_to_its_input(designed, manager, app):
    form, _keys = designed
    client = login(app.test_client(), manager.email)
    response = client.post(f"/forms/{form.id}/fields/new", data={
        "kind": "decimal", "label": "", "minimum": "abc", "maximum": "1"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "Enter a label." in page and "Enter a number." in page
    assert count(FormField) == 7


def test_the_field_form_warns_that_a_form_with_submissions_gets_a_new_version(
        designed, manager, staff, app):
    form, keys = designed
    fill(staff, form, keys, "4")
    client = login(app.test_client(), manager.email)
    url = f"/forms/{form.id}/fields/{keys['Temperature']}/edit"
    page = client.get(url).get_data(as_text=True)
    assert 'id="new-version-note"' in page and 'value="20"' in page
    response = client.post(url, data={"kind": "decimal", "label": "Core temperature",
                                      "maximum": "8"})
    assert response.status_code == 303
    assert count(FormVersion) == 2
    assert "Version 2" in client.get(f"/forms/{form.id}").get_data(as_text=True)


def test_archiving_a_form_stops_new_submissions(designed, manager, staff, app):
    form, _keys = designed
    client = login(app.test_client(), manager.email)
    assert client.post(f"/forms/{form.id}/active", data={"active": "0"}).status_code == 303
    assert f'id="form-{form.id}"' not in client.get("/forms").get_data(as_text=True)
    assert f'id="form-{form.id}"' in client.get("/forms?status=archived").get_data(as_text=True)
    staff_client = login(app.test_client(), staff.email)
    assert staff_client.get(f"/forms/{form.id}/fill").status_code == 303
    assert staff_client.post(f"/forms/{form.id}/fill", data={"action": "draft"}
                             ).status_code == 303
    assert count(FormSubmission) == 0


# ---------------------------------------------------------------- filling

def test_filling_shows_every_message_at_once_and_writes_nothing(designed, staff, app):
    form, keys = designed
    client = login(app.test_client(), staff.email)
    page = client.get(f"/forms/{form.id}/fill").get_data(as_text=True)
    assert "Packaging intact *" in page and "Arrival" in page
    assert 'list="f7-options"' in page  # the product picker
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "submit", keys["Temperature"]: "30", keys["Best before"]: "tomorrow",
        keys["Packaging intact"]: "no"})
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    for message in ("Enter a number from 0 to 20 °C.", "Enter a date as YYYY-MM-DD.",
                    "This field is required."):
        assert message in page
    assert page.count("invalid-feedback") == 3  # temperature, date, the damage notes
    assert 'value="30"' in page  # what was typed stays
    assert count(FormSubmission) == 0


def test_a_turkish_reader_fills_a_form_with_its_bounds_and_messages_in_turkish(
        designed, make_user, app):
    form, keys = designed
    client = login(app.test_client(), make_user("staff", language="tr").email)
    page = client.get(f"/forms/{form.id}/fill").get_data(as_text=True)
    assert "0 ile 20 °C arası" in page and "from 0" not in page
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "submit", keys["Temperature"]: "30", keys["Packaging intact"]: "yes"})
    assert response.status_code == 422
    assert "0 ile 20 °C arasında bir sayı girin." in response.get_data(as_text=True)
    assert count(FormSubmission) == 0


def test_a_draft_is_saved_continued_and_submitted_then_read_only(designed, staff, app,
                                                                 company):
    product = ProductFactory(company=company, sku="FLOUR-25", name="Flour 25 kg")
    form, keys = designed
    client = login(app.test_client(), staff.email)
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "draft", keys["Temperature"]: "6.5", keys["Carrier"]: "UPS"})
    assert response.status_code == 303
    draft_url = response.headers["Location"]
    page = client.get(draft_url).get_data(as_text=True)
    assert "Draft" in page and "6.5 °C" in page and 'id="continue-draft"' in page
    edit = client.get(draft_url + "/edit").get_data(as_text=True)
    assert 'value="6.5"' in edit
    assert re.search(r'type="radio" name="[^"]+" id="[^"]+" value="UPS" autocomplete="off" checked>',
                     edit)  # the carrier's button is on (a short list is buttons to tap)
    response = client.post(draft_url + "/edit", data={
        "action": "submit", keys["Temperature"]: "6.5", keys["Carrier"]: "UPS",
        keys["Packaging intact"]: "yes", keys["Product"]: product.picker_label})
    assert response.status_code == 303
    page = client.get(draft_url).get_data(as_text=True)
    assert "Submitted" in page and "Flour 25 kg" in page
    assert 'id="continue-draft"' not in page
    assert "Damage notes" not in page  # its condition (packaging not intact) is not met
    # read-only: the edit page sends back to the record, a POST changes nothing
    assert client.get(draft_url + "/edit").status_code == 303
    client.post(draft_url + "/edit", data={"action": "submit", keys["Temperature"]: "1",
                                           keys["Packaging intact"]: "yes"})
    assert "6.5 °C" in client.get(draft_url).get_data(as_text=True)


def test_user_text_is_escaped(manager, staff, app):
    form = service.create_form(company_id=manager.company_id, user=manager,
                               name="<script>alert(1)</script>")
    field = service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                              kind="text", label="<b>Label</b>")
    submission = service.save_submission(company_id=staff.company_id, form_id=form.id,
                                         user=staff, answers={field.key: "<img src=x>"},
                                         submit=True)
    client = login(app.test_client(), staff.email)
    for url in (f"/forms/{form.id}", f"/forms/{form.id}/submissions",
                f"/forms/{form.id}/submissions/{submission.id}", "/forms"):
        page = client.get(url).get_data(as_text=True)
        assert "<script>alert(1)" not in page and "<b>Label" not in page
        assert "<img src=x>" not in page


# ---------------------------------------------------------------- submissions list

@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_submissions_filter_on_answer_values(designed, staff, client_as):
    form, keys = designed
    temp, date_key, carrier = keys["Temperature"], keys["Best before"], keys["Carrier"]
    fill(staff, form, keys, "4", **{date_key: "2027-01-10", carrier: "DHL"})
    fill(staff, form, keys, "9.5", **{date_key: "2027-02-10", carrier: "UPS"})
    fill(staff, form, keys, "12", intact="no", **{date_key: "2027-03-10", carrier: "UPS"})
    temperatures = listed(client_as("viewer"), form)

    assert temperatures("") == ["12 °C", "4 °C", "9.5 °C"]
    assert temperatures(f"{temp}_min=8") == ["12 °C", "9.5 °C"]
    assert temperatures(f"{temp}_min=8&{temp}_max=10") == ["9.5 °C"]
    assert temperatures(f"{date_key}_from=2027-02-01&{date_key}_to=2027-02-28") == ["9.5 °C"]
    assert temperatures(f"{carrier}=UPS") == ["12 °C", "9.5 °C"]
    assert temperatures(f"{keys['Packaging intact']}=no") == ["12 °C"]
    # a value that does not parse is no filter, never a 500
    assert temperatures(f"{temp}_min=warm&{date_key}_from=x&{carrier}=FedEx") == [
        "12 °C", "4 °C", "9.5 °C"]
    assert temperatures(f"{temp}_min=8&sort=id") == ["12 °C", "9.5 °C"]


def test_submissions_list_by_created_day_and_status(designed, staff, client_as):
    form, keys = designed
    old = fill(staff, form, keys, "1")
    old.created_at = old.created_at - timedelta(days=40)
    db.session.commit()
    fill(staff, form, keys, "2", submit=False)
    client = client_as("viewer")
    today = db.session.get(FormSubmission, old.id).created_at + timedelta(days=40)
    page = client.get(f"/forms/{form.id}/submissions?from={today.date().isoformat()}"
                      ).get_data(as_text=True)
    assert f"submission-{old.id}\"" not in page and ">2 °C<" in page
    page = client.get(f"/forms/{form.id}/submissions?status=submitted").get_data(as_text=True)
    assert ">1 °C<" in page and ">2 °C<" not in page


def test_the_csv_has_one_column_per_field_across_versions(designed, manager, staff,
                                                          client_as):
    form, keys = designed
    first = fill(staff, form, keys, "4", **{keys["Carrier"]: "DHL"})
    service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                      kind="text", label="Seal number")  # version 2
    second = service.save_submission(
        company_id=staff.company_id, form_id=form.id, user=staff, submit=True,
        answers={keys["Packaging intact"]: "yes", keys["Temperature"]: "9",
                 "f8": "=SUM(A1)"})
    response = client_as("viewer").get(f"/forms/{form.id}/submissions?format=csv&sort=id")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    header = rows[0]
    assert header[:6] == ["id", "status", "version", "created_by", "created_at", "submitted_at"]
    assert header[6:] == ["Packaging intact", "Temperature", "Best before", "Carrier",
                          "Damage notes", "Product", "Seal number"]
    by_id = {row[0]: dict(zip(header, row)) for row in rows[1:]}
    assert by_id[str(first.id)]["Temperature"] == "4 °C"
    assert by_id[str(first.id)]["Carrier"] == "DHL" and by_id[str(first.id)]["version"] == "1"
    assert by_id[str(first.id)]["Seal number"] == ""
    assert by_id[str(second.id)]["Seal number"] == "'=SUM(A1)"  # no formula in a spreadsheet
    assert by_id[str(second.id)]["version"] == "2"
    filtered = client_as("viewer").get(
        f"/forms/{form.id}/submissions?format=csv&{keys['Temperature']}_min=5")
    assert len(list(csv.reader(io.StringIO(filtered.get_data(as_text=True))))) == 2


def test_the_submission_has_a_print_page_and_a_pdf(designed, staff, client_as):
    form, keys = designed
    submission = fill(staff, form, keys, "4", **{keys["Carrier"]: "Own truck"})
    viewer = client_as("viewer")
    base = f"/forms/{form.id}/submissions/{submission.id}"
    page = viewer.get(base).get_data(as_text=True)
    assert f'href="{base}/print"' in page and f'href="{base}/pdf"' in page
    assert 'id="answer-f3">4 °C' in page
    printed = viewer.get(f"{base}/print").get_data(as_text=True)
    assert "data-print" in printed and 'id="print-answer-f3">4 °C' in printed
    response = viewer.get(f"{base}/pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].endswith(
        f'filename=Incoming-goods-{submission.id}.pdf')
    assert response.data.startswith(b"%PDF")


# ---------------------------------------------------------------- query counts

def test_the_submissions_list_costs_the_same_for_5_or_60_rows(designed, staff, client_as,
                                                              queries_for):
    form, keys = designed
    client = client_as("viewer")
    for i in range(5):
        fill(staff, form, keys, str(i % 20), **{keys["Carrier"]: "DHL"})
    url = f"/forms/{form.id}/submissions?per_page=100&{keys['Temperature']}_min=0"
    few = queries_for(client, url)
    for i in range(55):
        fill(staff, form, keys, str(i % 20), **{keys["Carrier"]: "UPS"})
    assert queries_for(client, url) == few
    for i in range(45):
        fill(staff, form, keys, "5")
    first = queries_for(client, f"/forms/{form.id}/submissions?per_page=5&page=1")
    deep = queries_for(client, f"/forms/{form.id}/submissions?per_page=5&page=21")
    assert deep == first + 1  # the page's ids, then its rows


def test_the_forms_list_and_pages_cost_a_constant_number_of_queries(designed, manager, staff,
                                                                    client_as, queries_for):
    form, keys = designed
    submission = fill(staff, form, keys, "4")
    client = client_as("manager")
    few = queries_for(client, "/forms")
    for n in range(25):
        service.create_form(company_id=manager.company_id, user=manager, name=f"Form {n}")
    assert queries_for(client, "/forms?per_page=100") == few
    detail = queries_for(client, f"/forms/{form.id}")
    service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                      kind="text", label="More")
    assert queries_for(client, f"/forms/{form.id}") == detail
    assert queries_for(client, f"/forms/{form.id}/submissions/{submission.id}") <= 8
    assert queries_for(client, f"/forms/{form.id}/fill") <= 6


# ---------------------------------------------------------------- quality inspections

def test_an_incoming_goods_checklist_decides_a_receipt_inspection(manager, staff, app,
                                                                  company):
    """#23's "done when": a manager designs the checklist and attaches it to a category;
    staff inspect a receipt on it; a failed answer fails the inspection; the answers are
    searched and exported."""
    from tests.factories.catalog import CategoryFactory
    category = CategoryFactory(company=company, name="Chilled")
    product = ProductFactory(company=company, sku="YOG-1", name="Yoghurt",
                             category_id=category.id)
    form, keys = checklist(manager)
    boss = login(app.test_client(), manager.email)
    response = boss.post(f"/forms/{form.id}/links", data={"category_id": str(category.id)})
    assert response.status_code == 303
    assert "Category Chilled is now inspected" in boss.get(f"/forms/{form.id}").get_data(
        as_text=True)

    worker = login(app.test_client(), staff.email)
    response = worker.post("/quality/inspections/new", data={
        "product": "YOG-1", "receipt_reference": "PO-2026-000007",
        "inspected_on": "2026-12-01", "result": "pass"})
    assert response.status_code == 303
    fill_url = response.headers["Location"]
    assert fill_url.startswith(f"/forms/{form.id}/fill?") and f"product={product.id}" in fill_url
    page = worker.get(fill_url).get_data(as_text=True)
    assert "Quality inspection of" in page and "PO-2026-000007" in page
    response = worker.post(fill_url, data={
        "action": "submit", keys["Packaging intact"]: "no", keys["Temperature"]: "11",
        keys["Damage notes"]: "Two trays crushed"})
    assert response.status_code == 303
    submission_page = worker.get(response.headers["Location"]).get_data(as_text=True)
    assert 'id="inspection-link"' in submission_page
    db.session.rollback()
    inspection = db.session.scalar(select(QualityInspection))
    assert inspection.result == "fail" and inspection.product_id == product.id
    assert inspection.receipt_reference == "PO-2026-000007"
    page = worker.get(f"/quality/inspections/{inspection.id}").get_data(as_text=True)
    assert 'id="inspection-form-answers"' in page

    temp = keys["Temperature"]
    found = worker.get(f"/forms/{form.id}/submissions?{temp}_min=8").get_data(as_text=True)
    assert ">11 °C<" in found
    exported = worker.get(f"/forms/{form.id}/submissions?format=csv&{temp}_min=8")
    assert "Two trays crushed" in exported.get_data(as_text=True)


def test_a_product_without_a_form_is_inspected_as_before(staff, app, company):
    ProductFactory(company=company, sku="PLAIN-1")
    worker = login(app.test_client(), staff.email)
    response = worker.post("/quality/inspections/new", data={
        "product": "PLAIN-1", "inspected_on": "2026-12-01", "result": "pass"})
    assert response.status_code == 303
    assert response.headers["Location"].startswith("/quality/inspections/")
    assert count(QualityInspection) == 1


def test_links_are_removed_and_refused_for_another_companys_records(designed, manager, app,
                                                                    company, other_company):
    form, _keys = designed
    foreign = ProductFactory(company=other_company, sku="FOREIGN-1")
    product = ProductFactory(company=company, sku="OWN-1")
    boss = login(app.test_client(), manager.email)
    boss.post(f"/forms/{form.id}/links", data={"product": f"x [#{foreign.id}]"})
    boss.post(f"/forms/{form.id}/links", data={"product": "nothing-like-it"})
    assert count(FormLink) == 0
    assert boss.post(f"/forms/{form.id}/links", data={"product": "OWN-1"}).status_code == 303
    link = db.session.scalar(select(FormLink))
    assert link.product_id == product.id
    assert boss.post(f"/forms/{form.id}/links/{link.id}/delete").status_code == 303
    assert count(FormLink) == 0


def test_htmx_shows_a_conditional_question_when_its_condition_is_met(designed, staff, app):
    form, keys = designed
    notes, intact = keys["Damage notes"], keys["Packaging intact"]
    client = login(app.test_client(), staff.email)
    page = client.get(f"/forms/{form.id}/fill").get_data(as_text=True)
    # hidden while unmet (app.css); css/noscript.css shows it without JavaScript
    assert f'id="question-{notes}" class="condition-unmet"' in page
    assert f'id="question-{intact}"' in page and 'hx-vals=\'{"action": "refresh"}\'' in page
    response = client.post(f"/forms/{form.id}/fill", data={"action": "refresh", intact: "no",
                                                           keys["Temperature"]: "3"},
                           headers={"HX-Request": "true"})
    assert response.status_code == 200
    fragment = response.get_data(as_text=True)
    assert fragment.lstrip().startswith("<form") and "<html" not in fragment
    assert f'id="question-{notes}" class="condition-unmet"' not in fragment
    assert 'value="3"' in fragment  # what was typed stays
    assert count(FormSubmission) == 0


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_text_and_choice_filters_read_the_answers_index_and_miss_nothing(designed, staff,
                                                                         client_as):
    """The choice and text filters compare the answers' first 100 characters, which the
    expression index ix_form_answers_text holds (#23), and still find what a long answer
    says further on, and only an exact choice."""
    from erp.queries import forms as queries

    form, keys = designed
    notes, carrier = keys["Damage notes"], keys["Carrier"]
    long_note = "x" * 150 + " seal broken at the back"
    fill(staff, form, keys, "4", intact="no", **{notes: long_note, carrier: "DHL"})
    fill(staff, form, keys, "9.5", intact="no", **{notes: "Seal BROKEN", carrier: "UPS"})
    fill(staff, form, keys, "12", intact="no", **{notes: "Wet pallet", carrier: "Own truck"})
    temperatures = listed(client_as("viewer"), form)

    assert temperatures(f"{notes}=seal+broken") == ["4 °C", "9.5 °C"]
    assert temperatures(f"{notes}=x+seal") == ["4 °C"]  # past the indexed characters
    assert temperatures(f"{notes}=pallet") == ["12 °C"]
    assert temperatures(f"{carrier}=Own+truck") == ["12 °C"]
    assert temperatures(f"{carrier}=UPS") == ["9.5 °C"]
    # the planner reads the index for the choice: company, form, field and the first
    # characters of the answer (PostgreSQL: once sequential scans are priced out, as on a
    # big table)
    answers = select(FormAnswer.submission_id).where(
        FormAnswer.company_id == form.company_id, FormAnswer.form_id == form.id,
        FormAnswer.field_key == carrier, queries.text_is("UPS"))
    sql = str(answers.compile(db.engine, compile_kwargs={"literal_binds": True}))
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        plan = " ".join(row[-1] for row in connection.exec_driver_sql(
            "EXPLAIN QUERY PLAN " + sql))
        assert "ix_form_answers_text" in plan and "<expr>=?" in plan, plan
    else:
        plan = postgresql_plan(sql, "ix_form_answers_text")
        assert "ix_form_answers_text" in plan and "substr" in plan, plan
    db.session.rollback()


def postgresql_plan(sql: str, index: str) -> str:
    """The plan of `sql` with only `index` (and the unique ones) left on form_answers: on
    a table this small another index can cost the same, so the others are dropped inside
    the test's transaction (the caller rolls back) and sequential scans priced out; the
    plan shows whether `index` serves the condition at all."""
    connection = db.session.connection()
    connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
    others = connection.exec_driver_sql(
        "SELECT indexname FROM pg_indexes WHERE tablename = 'form_answers' "
        "AND indexname <> %(index)s AND position('UNIQUE' in indexdef) = 0",
        {"index": index}).scalars().all()
    for name in others:
        connection.exec_driver_sql(f'DROP INDEX "{name}"')
    return " ".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql))


@pytest.mark.dialect_dependent  # a list read: runs in both passes
def test_a_text_filter_folds_turkish_letters_and_takes_wildcards_as_text(designed, staff,
                                                                         client_as):
    """The "contains" filter on answer text matches the folded text (erp.collation), as
    every other search: "istanbul" finds "İSTANBUL", "çelik" finds "ÇELİK"; % and _ are
    only themselves."""
    form, keys = designed
    notes = keys["Damage notes"]
    fill(staff, form, keys, "4", intact="no", **{notes: "Crate from İSTANBUL dented"})
    fill(staff, form, keys, "9.5", intact="no", **{notes: "ÇELİK band snapped"})
    fill(staff, form, keys, "12", intact="no", **{notes: "Only 100% of it wet, code a_d"})
    temperatures = listed(client_as("viewer"), form)

    assert temperatures(f"{notes}=istanbul") == ["4 °C"]
    assert temperatures(f"{notes}=%C3%A7elik") == ["9.5 °C"]  # çelik
    assert temperatures(f"{notes}=IŞIK") == []
    assert temperatures(f"{notes}=100%25") == ["12 °C"]
    assert temperatures(f"{notes}=%25") == ["12 °C"]
    assert temperatures(f"{notes}=a_d") == ["12 °C"]  # not "band"


@pytest.mark.postgresql_only
def test_the_text_filter_reads_the_trigram_index_on_postgresql(designed, staff):
    """PostgreSQL matches a "contains" on answer text through the pg_trgm GIN index on the
    folded text (ix_form_answers_trgm, migration 0031), not by reading the field's
    answers."""
    from erp.queries import forms as queries

    form, keys = designed
    notes = keys["Damage notes"]
    fill(staff, form, keys, "4", intact="no", **{notes: "Seal broken"})
    answers = select(FormAnswer.submission_id).where(
        FormAnswer.company_id == form.company_id, FormAnswer.form_id == form.id,
        FormAnswer.field_key == notes, queries.text_has("seal broken"))
    sql = str(answers.compile(db.engine, compile_kwargs={"literal_binds": True}))
    definition = db.session.connection().exec_driver_sql(
        "SELECT indexdef FROM pg_indexes WHERE indexname = 'ix_form_answers_trgm'").scalar()
    assert "gin" in definition and "gin_trgm_ops" in definition and "translate" in definition
    plan = postgresql_plan(sql, "ix_form_answers_trgm")
    assert "ix_form_answers_trgm" in plan and "~~" in plan, plan
    db.session.rollback()
