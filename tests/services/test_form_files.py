"""Custom forms, photo and file fields (#23): uploads checked by their content and size,
kept in the database, required / draft rules; and work orders that ask for a form before
they are finished."""
import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.forms import FormAnswer, FormLink, FormSubmission
from erp.models.production import WorkOrder
from erp.services import DomainError, NotFound, PermissionDenied, ValidationError
from erp.services import forms as service
from erp.services import production
from tests.factories.forms import (PDF_BYTES, image_bytes, manager, photo_form,  # noqa: F401
                                   staff, upload, work_order_for)


def count(model) -> int:
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


def save(user, form, answers, *, submit=True, **kwargs):
    return service.save_submission(company_id=user.company_id, form_id=form.id, user=user,
                                   answers=answers, submit=submit, **kwargs)


def stored(submission_id, key):
    db.session.rollback()
    return db.session.scalar(select(FormAnswer).where(
        FormAnswer.submission_id == submission_id, FormAnswer.field_key == key))


@pytest.mark.parametrize("kind, content_type", [("PNG", "image/png"), ("JPEG", "image/jpeg"),
                                                ("WEBP", "image/webp")])
def test_a_photo_is_kept_with_its_type_recognised_by_its_content(manager, staff, kind,
                                                                 content_type):
    form, keys = photo_form(manager)
    data = image_bytes(kind)
    # the name and the browser's word do not matter: the bytes do
    submission = save(staff, form, {keys["Photo"]: upload(data, "C:\\fakepath\\IMG 1.txt")})
    answer = stored(submission.id, keys["Photo"])
    assert (answer.file_type, answer.file_size, answer.file_data) == (content_type, len(data),
                                                                      data)
    assert answer.value_text == "IMG 1.txt" and answer.is_image
    field = next(f for f in submission.version.fields if f.key == keys["Photo"])
    assert service.display(field, answer) == "IMG 1.txt"


def test_a_file_field_takes_a_pdf_a_photo_field_does_not(manager, staff):
    form, keys = photo_form(manager)
    with pytest.raises(ValidationError) as error:
        save(staff, form, {keys["Photo"]: upload(PDF_BYTES, "report.pdf")})
    assert error.value.field_errors == {keys["Photo"]: ["Upload a PNG, JPEG or WebP image."]}
    submission = save(staff, form, {keys["Photo"]: upload(image_bytes()),
                                    keys["Report"]: upload(PDF_BYTES, "report.pdf")})
    answer = stored(submission.id, keys["Report"])
    assert answer.file_type == "application/pdf" and not answer.is_image


@pytest.mark.parametrize("data, name, message", [
    (b"<html><script>alert(1)</script></html>", "photo.png",
     "Upload a PNG, JPEG or WebP image."),
    (b"GIF89a" + b"\x00" * 20, "anim.gif", "Upload a PNG, JPEG or WebP image."),
    (b"", "empty.png", "The file is empty."),
])
def test_a_bad_upload_is_refused_on_its_field_and_nothing_is_written(manager, staff, data,
                                                                     name, message):
    form, keys = photo_form(manager)
    with pytest.raises(ValidationError) as error:
        save(staff, form, {keys["Photo"]: upload(data, name), keys["Note"]: "hello"},
             submit=False)
    assert error.value.field_errors == {keys["Photo"]: [message]}
    assert count(FormSubmission) == 0 and count(FormAnswer) == 0


def test_an_upload_above_the_setting_is_refused(manager, staff, app, monkeypatch):
    form, keys = photo_form(manager)
    data = image_bytes()
    monkeypatch.setitem(app.config, "FORM_UPLOAD_MAX_BYTES", len(data) - 1)
    with pytest.raises(ValidationError) as error:
        save(staff, form, {keys["Photo"]: upload(data)})
    assert error.value.field_errors[keys["Photo"]][0].startswith("The file is too large")
    assert count(FormSubmission) == 0
    monkeypatch.setitem(app.config, "FORM_UPLOAD_MAX_BYTES", len(data))
    assert save(staff, form, {keys["Photo"]: upload(data)}).status == "submitted"


def test_a_required_photo_and_a_draft_that_keeps_its_file(manager, staff):
    form, keys = photo_form(manager)
    with pytest.raises(ValidationError) as error:
        save(staff, form, {keys["Photo"]: upload(b"", "")})  # no file chosen
    assert error.value.field_errors == {keys["Photo"]: ["This field is required."]}
    draft = save(staff, form, {keys["Note"]: "first"}, submit=False)  # a draft may wait
    first, second = image_bytes("PNG"), image_bytes("JPEG")
    save(staff, form, {keys["Photo"]: upload(first, "a.png")}, submit=False,
         submission_id=draft.id)
    # saved again without a new file: the draft keeps its photo, and submitting counts it
    save(staff, form, {keys["Note"]: "second"}, submit=False, submission_id=draft.id)
    assert stored(draft.id, keys["Photo"]).file_data == first
    save(staff, form, {keys["Photo"]: upload(second, "b.jpg")}, submit=False,
         submission_id=draft.id)
    answer = stored(draft.id, keys["Photo"])
    assert (answer.value_text, answer.file_type, answer.file_data) == ("b.jpg", "image/jpeg",
                                                                       second)
    # a bad new file leaves the kept one as it was
    with pytest.raises(ValidationError):
        save(staff, form, {keys["Photo"]: upload(b"nope", "c.png")}, submission_id=draft.id)
    assert stored(draft.id, keys["Photo"]).file_data == second
    submitted = save(staff, form, {keys["Note"]: "done"}, submission_id=draft.id)
    assert submitted.status == "submitted"
    assert stored(draft.id, keys["Photo"]).file_data == second
    assert service.get_file(staff.company_id, form.id, draft.id, keys["Photo"]).file_data \
        == second


def test_a_file_is_found_only_in_its_company(manager, staff, other_company, make_user):
    form, keys = photo_form(manager)
    submission = save(staff, form, {keys["Photo"]: upload(image_bytes())})
    with pytest.raises(NotFound):
        service.get_file(other_company.id, form.id, submission.id, keys["Photo"])
    with pytest.raises(NotFound):
        service.get_file(staff.company_id, form.id, submission.id, keys["Note"])


def test_the_pdf_gets_the_images_as_data_urls(manager, staff):
    form, keys = photo_form(manager)
    submission = save(staff, form, {keys["Photo"]: upload(image_bytes()),
                                    keys["Report"]: upload(PDF_BYTES, "r.pdf")})
    urls = service.image_data_urls(submission)
    assert list(urls) == [keys["Photo"]]
    assert urls[keys["Photo"]].startswith("data:image/png;base64,iVBORw0KGgo")


# ---------------------------------------------------------------- work orders

def finish(user, work_order):
    return production.finish_work_order(company_id=user.company_id,
                                        work_order_id=work_order.id, user=user)


def test_a_work_order_that_asks_for_a_form_is_finished_once_it_is_submitted(
        manager, staff, company):
    form, keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                user=manager, form_id=form.id)
    assert service.work_order_form(company.id, work_order.id) == form
    with pytest.raises(DomainError, match="asks for the form “Machine check”"):
        finish(staff, work_order)
    with pytest.raises(DomainError, match="asks for the form"):  # the other road to done
        production.set_work_order_status(company_id=company.id, work_order_id=work_order.id,
                                         user=staff, status="done")
    draft = save(staff, form, {keys["Note"]: "x"}, submit=False, work_order_id=work_order.id)
    assert draft.work_order_id == work_order.id
    with pytest.raises(DomainError):  # a draft is not enough
        finish(staff, work_order)
    save(staff, form, {keys["Photo"]: upload(image_bytes())}, submission_id=draft.id)
    assert finish(staff, work_order).status == "done"
    assert [s.id for s in service.work_order_submissions(company.id, work_order.id)] == [
        draft.id]


def test_a_work_order_without_a_form_finishes_as_before(manager, staff, company):
    form, _keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                user=manager, form_id=form.id)
    service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                user=manager, form_id=None)
    assert count(FormLink) == 0
    assert finish(staff, work_order).status == "done"


def test_choosing_a_work_orders_form_is_checked(manager, staff, company, other_company,
                                                make_user):
    form, keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    with pytest.raises(PermissionDenied):
        service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                    user=staff, form_id=form.id)
    other_manager = make_user("manager", company=other_company)
    foreign, _ = photo_form(other_manager, "Theirs")
    with pytest.raises(ValidationError):
        service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                    user=manager, form_id=foreign.id)
    with pytest.raises(NotFound):
        service.set_work_order_form(company_id=other_company.id, user=other_manager,
                                    work_order_id=work_order.id, form_id=foreign.id)
    service.set_form_active(company_id=company.id, form_id=form.id, user=manager,
                            active=False)
    with pytest.raises(ValidationError):
        service.set_work_order_form(company_id=company.id, work_order_id=work_order.id,
                                    user=manager, form_id=form.id)
    assert count(FormLink) == 0


def test_a_submission_is_made_only_for_a_work_order_that_asks_for_its_form(
        manager, staff, company, other_company, make_user):
    form, keys = photo_form(manager)
    work_order = work_order_for(company, manager)
    answers = {keys["Photo"]: upload(image_bytes())}
    with pytest.raises(ValidationError, match="does not ask for this form"):
        save(staff, form, answers, work_order_id=work_order.id)
    foreign = work_order_for(other_company, make_user("manager", company=other_company))
    with pytest.raises(NotFound):
        save(staff, form, answers, work_order_id=foreign.id)
    assert count(FormSubmission) == 0
    assert db.session.get(WorkOrder, work_order.id).status == "open"
