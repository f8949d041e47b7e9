"""Custom forms pages, photo and file fields: a multipart fill form that works without
JavaScript, bad uploads refused next to their field, the file route (company-scoped, a
safe type, nosniff), the submission page, print page, PDF and CSV; and the work order
page that asks for a form."""
import csv
import io

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.forms import FormAnswer, FormLink, FormSubmission
from erp.models.production import WorkOrder
from erp.services import forms as service
from tests.conftest import login
from tests.factories.forms import (PDF_BYTES, image_bytes, manager, photo_form,  # noqa: F401
                                   staff, upload, work_order_for)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def submitted(user, form, keys, **extra):
    answers = {keys["Photo"]: upload(image_bytes(), "pump.png"), **extra}
    return service.save_submission(company_id=user.company_id, form_id=form.id, user=user,
                                   answers=answers, submit=True)


def file_url(form, submission, key):
    return f"/forms/{form.id}/submissions/{submission.id}/files/{key}"


def test_a_photo_is_uploaded_without_javascript_and_shown_on_the_page(manager, staff, app):
    form, keys = photo_form(manager)
    client = login(app.test_client(), staff.email)
    page = client.get(f"/forms/{form.id}/fill").get_data(as_text=True)
    assert 'enctype="multipart/form-data"' in page
    assert f'type="file"' in page and 'accept="image/png,image/jpeg,image/webp"' in page
    data = image_bytes("JPEG")
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "submit", keys["Photo"]: (io.BytesIO(data), "pump.jpg"),
        keys["Report"]: (io.BytesIO(PDF_BYTES), "report.pdf")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    submission = db.session.scalar(select(FormSubmission))
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    photo = file_url(form, submission, keys["Photo"])
    assert f'<img class="answer-image" src="{photo}" alt="pump.jpg">' in page
    assert f'href="{file_url(form, submission, keys["Report"])}" id="file-{keys["Report"]}">' \
           'report.pdf</a>' in page
    image = client.get(photo)
    assert image.status_code == 200 and image.data == data
    assert image.mimetype == "image/jpeg"
    assert image.headers["X-Content-Type-Options"] == "nosniff"
    assert image.headers["Content-Disposition"] == "inline; filename=pump.jpg"
    pdf = client.get(file_url(form, submission, keys["Report"]))
    assert pdf.mimetype == "application/pdf" and pdf.data == PDF_BYTES
    assert pdf.headers["Content-Disposition"] == "attachment; filename=report.pdf"
    assert pdf.headers["X-Content-Type-Options"] == "nosniff"


@pytest.mark.parametrize("data, name, message", [
    (b"<html><body>hi</body></html>", "photo.png", "Upload a PNG, JPEG or WebP image."),
    (PDF_BYTES, "scan.pdf", "Upload a PNG, JPEG or WebP image."),
    (b"", "empty.png", "The file is empty."),
    (image_bytes() + b"\0" * 64, "big.png", "The file is too large"),
])
def test_a_bad_upload_is_refused_next_to_its_field(manager, staff, app, monkeypatch, data,
                                                   name, message):
    monkeypatch.setitem(app.config, "FORM_UPLOAD_MAX_BYTES", len(image_bytes()) + 10)
    form, keys = photo_form(manager)
    client = login(app.test_client(), staff.email)
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "draft", keys["Photo"]: (io.BytesIO(data), name), keys["Note"]: "kept"},
        content_type="multipart/form-data")
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    question = page.split(f'id="question-{keys["Photo"]}"')[1].split('id="question-')[0]
    assert message in question and "is-invalid" in question
    assert 'value="kept"' in page  # what was typed stays
    assert count(FormSubmission) == 0 and count(FormAnswer) == 0


def test_a_request_above_max_content_length_is_a_413(manager, staff, app, monkeypatch):
    monkeypatch.setitem(app.config, "MAX_CONTENT_LENGTH", 1000)
    form, keys = photo_form(manager)
    client = login(app.test_client(), staff.email)
    response = client.post(f"/forms/{form.id}/fill", data={
        "action": "submit", keys["Photo"]: (io.BytesIO(b"\x89PNG" + b"\0" * 2000), "a.png")},
        content_type="multipart/form-data")
    assert response.status_code == 413
    assert count(FormSubmission) == 0


def test_a_draft_keeps_its_photo_when_continued_without_javascript(manager, staff, app):
    form, keys = photo_form(manager)
    client = login(app.test_client(), staff.email)
    client.post(f"/forms/{form.id}/fill", data={
        "action": "draft", keys["Photo"]: (io.BytesIO(image_bytes()), "first.png")},
        content_type="multipart/form-data")
    draft = db.session.scalar(select(FormSubmission))
    edit = f"/forms/{form.id}/submissions/{draft.id}/edit"
    assert "Saved: first.png" in client.get(edit).get_data(as_text=True)
    response = client.post(edit, data={"action": "submit", keys["Note"]: "ok"},
                           content_type="multipart/form-data")
    assert response.status_code == 303
    db.session.rollback()
    assert db.session.get(FormSubmission, draft.id).status == "submitted"
    assert client.get(file_url(form, draft, keys["Photo"])).data == image_bytes()


def test_the_file_route_answers_404_to_another_company_and_for_no_file(
        manager, staff, client_as, other_company_client):
    form, keys = photo_form(manager)
    submission = submitted(staff, form, keys)
    url = file_url(form, submission, keys["Photo"])
    assert other_company_client.get(url).status_code == 404
    viewer = client_as("viewer")
    assert viewer.get(url).status_code == 200  # every role of the company reads it
    assert viewer.get(file_url(form, submission, keys["Note"])).status_code == 404
    assert viewer.get(file_url(form, submission, "f99")).status_code == 404
    assert viewer.get(f"/forms/{form.id}/submissions/{submission.id + 1}/files/"
                      f"{keys['Photo']}").status_code == 404


def test_print_pdf_and_csv_show_the_files(manager, staff, client_as):
    form, keys = photo_form(manager)
    submission = submitted(staff, form, keys,
                           **{keys["Report"]: upload(PDF_BYTES, "report.pdf")})
    viewer = client_as("viewer")
    base = f"/forms/{form.id}/submissions/{submission.id}"
    printed = viewer.get(f"{base}/print").get_data(as_text=True)
    assert f'src="{file_url(form, submission, keys["Photo"])}"' in printed
    assert "report.pdf" in printed
    with viewer.application.test_request_context():
        from flask import render_template

        from erp.models.sales import Seller
        html = render_template(
            "forms/print.html", pdf=True, custom_form=form, submission=submission,
            version=submission.version, rows=service.shown_answers(submission.version,
                                                                   submission),
            images=service.image_data_urls(submission), seller=Seller.of(staff.company))
    assert 'src="data:image/png;base64,' in html  # erp/pdf.py fetches nothing else
    response = viewer.get(f"{base}/pdf")
    assert response.status_code == 200 and response.data.startswith(b"%PDF")
    assert b"/Image" in response.data
    rows = list(csv.DictReader(io.StringIO(viewer.get(
        f"/forms/{form.id}/submissions?format=csv").get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0]["Photo"] == "pump.png" and rows[0]["Report"] == "report.pdf"


def test_photos_do_not_cost_queries(manager, staff, client_as, queries_for):
    form, keys = photo_form(manager)
    viewer = client_as("viewer")
    first = submitted(staff, form, keys)
    url = f"/forms/{form.id}/submissions?per_page=100"
    few = queries_for(viewer, url)
    page = queries_for(viewer, f"/forms/{form.id}/submissions/{first.id}")
    for _ in range(6):
        submitted(staff, form, keys, **{keys["Report"]: upload(image_bytes("WEBP"), "r.webp")})
    assert queries_for(viewer, url) == few
    last = db.session.scalar(select(FormSubmission).order_by(FormSubmission.id.desc()))
    assert queries_for(viewer, f"/forms/{form.id}/submissions/{last.id}") == page


# ---------------------------------------------------------------- work orders

def test_a_manager_names_the_form_a_work_order_asks_for_and_staff_fill_it(
        manager, staff, app, company, queries_for):
    form, keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    url = f"/production/work-orders/{work_order.id}"
    boss = login(app.test_client(), manager.email)
    page = boss.get(url).get_data(as_text=True)
    assert 'id="no-work-order-form"' in page and f'<option value="{form.id}">' in page
    assert boss.post(f"{url}/form", data={"form_id": str(form.id)}).status_code == 303
    assert count(FormLink) == 1
    worker = login(app.test_client(), staff.email)
    page = worker.get(url).get_data(as_text=True)
    fill = f"/forms/{form.id}/fill?work_order={work_order.id}"
    assert f'href="{fill}"' in page and 'id="no-work-order-submissions"' in page
    assert 'id="work-order-form-choice"' not in page  # a manager's choice
    # finishing is refused with the reason, nothing moves
    worker.post(f"{url}/finish")
    page = worker.get(url).get_data(as_text=True)
    assert "asks for the form “Machine check”" in page
    db.session.rollback()
    assert db.session.get(WorkOrder, work_order.id).status == "open"
    fill_page = worker.get(fill).get_data(as_text=True)
    assert 'id="work-order-subject"' in fill_page and f'action="{fill}"' in fill_page
    before = queries_for(worker, url)
    response = worker.post(fill, data={
        "action": "submit", keys["Photo"]: (io.BytesIO(image_bytes()), "done.png")},
        content_type="multipart/form-data")
    assert response.status_code == 303
    submission = db.session.scalar(select(FormSubmission))
    assert submission.work_order_id == work_order.id
    page = worker.get(url).get_data(as_text=True)
    assert f'href="/forms/{form.id}/submissions/{submission.id}"' in page
    assert queries_for(worker, url) == before
    assert worker.post(f"{url}/finish").status_code in (302, 303)
    db.session.rollback()
    assert db.session.get(WorkOrder, work_order.id).status == "done"
    # the form's page lists the work order among its links
    assert f'href="{url}"' in boss.get(f"/forms/{form.id}").get_data(as_text=True)
    assert boss.post(f"{url}/form", data={"form_id": ""}).status_code == 303
    assert count(FormLink) == 0


def test_choosing_a_work_orders_form_by_role_and_company(manager, staff, app, company,
                                                        client_as, other_company_client):
    form, _keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    url = f"/production/work-orders/{work_order.id}/form"
    for role in ("viewer", "staff"):
        assert client_as(role).post(url, data={"form_id": str(form.id)}).status_code == 403
    assert other_company_client.post(url, data={"form_id": str(form.id)}).status_code == 404
    boss = login(app.test_client(), manager.email)
    for bad in ("abc", str(form.id + 1000)):
        boss.post(url, data={"form_id": bad})
        assert count(FormLink) == 0, bad
    assert "Choose an active form." in boss.get(
        f"/production/work-orders/{work_order.id}").get_data(as_text=True)
    # another company's work order is no subject of a fill
    assert other_company_client.get(
        f"/production/work-orders/{work_order.id}").status_code == 404
