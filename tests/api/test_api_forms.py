"""The API's custom forms: a manager's builder (form, fields: add, change, move, remove), staff
filling a form in with the page's validation (every bad answer at once, a 422 on
`answers.<key>`), drafts continued and submitted, the submissions list with the page's
filters at a constant number of queries; roles, read-only tokens, another company."""
from __future__ import annotations

import base64

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models.forms import CustomForm, FormAnswer, FormSubmission
from erp.models.quality import QualityInspection
from tests.api.test_api import assert_constant_list_queries, bearer
from tests.conftest import count_queries
from tests.factories.catalog import ProductFactory

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32


@pytest.fixture
def checklist(client, make_user):
    """A form built through the API by a manager: f1 yes / no (must be yes), f2 a decimal
    from 0 to 8 (required), f3 a choice, f4 a text shown when f1 is no, f5 a photo."""
    manager = bearer(make_user("manager"))
    form = client.post("/api/v1/forms", headers=manager,
                       json={"name": "Goods-in check", "description": "At the dock"})
    assert form.status_code == 201, form.get_json()
    form_id = form.get_json()["id"]
    for body in ({"kind": "yes_no", "label": "Clean?", "must_be_yes": True},
                 {"kind": "decimal", "label": "Temperature", "required": True, "minimum": "0",
                  "maximum": "8", "unit": "°C"},
                 {"kind": "choice", "label": "Shift", "options": ["Early", "Late"]},
                 {"kind": "text", "label": "Why not?", "condition_key": "f1",
                  "condition_value": "no"},
                 {"kind": "photo", "label": "Photo"}):
        added = client.post(f"/api/v1/forms/{form_id}/fields", headers=manager, json=body)
        assert added.status_code == 201, added.get_json()
    return form_id, manager


def test_a_manager_builds_a_form_and_everyone_reads_it(client, make_user, checklist):
    form_id, manager = checklist
    viewer = bearer(make_user("viewer"))
    form = client.get(f"/api/v1/forms/{form_id}", headers=viewer).get_json()
    assert [field["key"] for field in form["fields"]] == ["f1", "f2", "f3", "f4", "f5"]
    assert form["fields"][1]["minimum"] == "0.000000" and form["fields"][2]["options"] == [
        "Early", "Late"]
    assert form["locked"] is False and form["latest_number"] == 1
    changed = client.patch(f"/api/v1/forms/{form_id}/fields/f3", headers=manager,
                           json={"label": "Shift worked", "options": ["Early", "Late", "Night"]})
    assert changed.status_code == 200, changed.get_json()
    assert changed.get_json()["options"] == ["Early", "Late", "Night"]
    assert changed.get_json()["kind"] == "choice"  # the rest stays
    moved = client.post(f"/api/v1/forms/{form_id}/fields/f3/move", headers=manager,
                        json={"direction": "up"}).get_json()
    assert [field["key"] for field in moved["fields"]][:3] == ["f1", "f3", "f2"]
    refused = client.delete(f"/api/v1/forms/{form_id}/fields/f1", headers=manager)
    assert refused.status_code == 409 and "Why not?" in refused.get_json()["detail"]
    assert client.delete(f"/api/v1/forms/{form_id}/fields/f4", headers=manager
                         ).status_code == 204
    assert client.delete(f"/api/v1/forms/{form_id}/fields/f4", headers=manager
                         ).status_code == 404
    renamed = client.patch(f"/api/v1/forms/{form_id}", headers=manager,
                           json={"name": "Dock check"}).get_json()
    assert renamed["name"] == "Dock check" and renamed["description"] == "At the dock"
    listed = client.get("/api/v1/forms?q=dock", headers=viewer).get_json()["items"]
    assert [item["id"] for item in listed] == [form_id]
    bad = client.post(f"/api/v1/forms/{form_id}/fields", headers=manager,
                      json={"kind": "choice", "label": "", "condition_key": "f9"})
    assert bad.status_code == 422
    assert {"label", "options", "condition_key"} <= set(bad.get_json()["errors"])
    taken = client.post("/api/v1/forms", headers=manager, json={"name": "dock CHECK"})
    assert taken.status_code == 422 and "name" in taken.get_json()["errors"]


def test_the_builder_is_a_managers_and_filling_in_staffs(client, make_user, checklist):
    form_id, _manager = checklist
    staff = bearer(make_user("staff"))
    assert client.post("/api/v1/forms", headers=staff, json={"name": "X"}).status_code == 403
    for method, url, body in (
            ("POST", f"/api/v1/forms/{form_id}/fields", {"kind": "text", "label": "X"}),
            ("PATCH", f"/api/v1/forms/{form_id}/fields/f2", {"label": "X"}),
            ("DELETE", f"/api/v1/forms/{form_id}/fields/f2", None),
            ("POST", f"/api/v1/forms/{form_id}/fields/f2/move", {"direction": "up"}),
            ("PATCH", f"/api/v1/forms/{form_id}", {"name": "X"}),
            ("POST", f"/api/v1/forms/{form_id}/active", {"active": False})):
        assert client.open(url, method=method, headers=staff, json=body).status_code == 403
    viewer = bearer(make_user("viewer"))
    assert client.post(f"/api/v1/forms/{form_id}/submissions", headers=viewer,
                       json={"answers": {"f2": "4"}}).status_code == 403
    read_only = bearer(make_user("manager"), read_only=True)
    assert client.post(f"/api/v1/forms/{form_id}/submissions", headers=read_only,
                       json={"answers": {"f2": "4"}}).status_code == 403
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0


def test_another_companys_forms_and_submissions_are_404(client, make_user, other_company,
                                                        checklist):
    form_id, _manager = checklist
    submission = client.post(f"/api/v1/forms/{form_id}/submissions",
                             headers=bearer(make_user("staff")),
                             json={"answers": {"f2": "4"}}).get_json()
    stranger = bearer(make_user("admin", company=other_company))
    base = f"/api/v1/forms/{form_id}"
    for method, url in (("GET", base), ("PATCH", base), ("POST", f"{base}/active"),
                        ("POST", f"{base}/fields"), ("PATCH", f"{base}/fields/f2"),
                        ("DELETE", f"{base}/fields/f2"), ("POST", f"{base}/fields/f2/move"),
                        ("GET", f"{base}/submissions"), ("POST", f"{base}/submissions"),
                        ("GET", f"{base}/submissions/{submission['id']}"),
                        ("PATCH", f"{base}/submissions/{submission['id']}"),
                        ("DELETE", f"{base}/submissions/{submission['id']}")):
        response = client.open(url, method=method, headers=stranger, json={
            "name": "X", "active": False, "kind": "text", "label": "X", "direction": "up",
            "answers": {}})
        assert response.status_code == 404, (method, url, response.status_code)
    assert client.get("/api/v1/forms", headers=stranger).get_json()["items"] == []
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 1


def test_a_submission_gets_every_bad_answer_at_once_and_nothing_is_saved(client, make_user,
                                                                       checklist):
    form_id, _manager = checklist
    staff = bearer(make_user("staff"))
    refused = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff, json={
        "answers": {"f1": "maybe", "f2": "12", "f3": "Night",
                    "f5": {"name": "x.txt", "content_base64": base64.b64encode(b"hi").decode()}},
        "submit": True})
    assert refused.status_code == 422 and refused.mimetype == "application/problem+json"
    assert set(refused.get_json()["errors"]) == {"answers.f1", "answers.f2", "answers.f3",
                                                 "answers.f5"}
    required = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff,
                           json={"answers": {"f1": True}, "submit": True})
    assert set(required.get_json()["errors"]) == {"answers.f2"}
    not_base64 = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff,
                             json={"answers": {"f5": {"content_base64": "%%%"}}})
    assert not_base64.status_code == 422 and "answers.f5" in not_base64.get_json()["errors"]
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 0


def test_a_draft_is_continued_and_submitted_then_read_only(client, make_user, checklist):
    form_id, manager = checklist
    author = make_user("staff")
    staff = bearer(author)
    draft = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff | {
        "Idempotency-Key": "draft-1"}, json={"answers": {"f1": False, "f3": "Late",
                                                        "f4": "Dusty pallet"}})
    assert draft.status_code == 201, draft.get_json()
    body = draft.get_json()
    assert body["status"] == "draft" and body["created_by"] == author.email
    assert body["answers"] == {"f1": "no", "f3": "Late", "f4": "Dusty pallet"}
    url = f"/api/v1/forms/{form_id}/submissions/{body['id']}"
    assert client.patch(url, headers=bearer(make_user("staff")), json={
        "answers": {"f2": "4"}}).status_code == 403  # another's draft
    photo = {"name": "dock.png", "content_base64": base64.b64encode(PNG).decode()}
    submitted = client.patch(url, headers=staff, json={
        "answers": {"f1": True, "f2": 4.5, "f5": photo}, "submit": True})
    assert submitted.status_code == 200, submitted.get_json()
    answers = submitted.get_json()["answers"]
    assert answers["f1"] == "yes" and answers["f2"] == "4.5" and answers["f3"] == "Late"
    assert "f4" not in answers  # shown only when f1 is no: dropped
    assert answers["f5"] == {"name": "dock.png", "content_type": "image/png", "size": len(PNG)}
    assert submitted.get_json()["status"] == "submitted"
    photo_file = client.get(f"{url}/files/f5", headers=bearer(make_user("viewer")))
    assert photo_file.status_code == 200 and photo_file.data == PNG
    assert photo_file.mimetype == "image/png"
    assert photo_file.headers["X-Content-Type-Options"] == "nosniff"
    assert client.get(f"{url}/files/f3", headers=staff).status_code == 404
    again = client.patch(url, headers=staff, json={"answers": {"f2": "5"}})
    assert again.status_code == 409 and "read-only" in again.get_json()["detail"]
    assert client.delete(url, headers=bearer(make_user("manager"))).status_code == 409
    replay = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff | {
        "Idempotency-Key": "draft-1"}, json={"answers": {"f1": False, "f3": "Late",
                                                        "f4": "Dusty pallet"}})
    assert replay.get_json()["id"] == body["id"]
    assert db.session.scalar(select(func.count()).select_from(FormSubmission)) == 1
    other = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff,
                        json={"answers": {"f2": "1"}}).get_json()
    assert client.delete(f"/api/v1/forms/{form_id}/submissions/{other['id']}",
                         headers=staff).status_code == 204
    locked = client.get(f"/api/v1/forms/{form_id}", headers=manager).get_json()
    assert locked["locked"] is True


def test_the_submissions_list_takes_the_pages_filters_at_a_constant_cost(
        client, make_user, checklist):
    form_id, manager = checklist
    staff = bearer(make_user("staff"))
    for clean, temperature, shift in ((True, "2", "Early"), (True, "7", "Late"),
                                      (False, "5", "Late"), (True, "1", "Early")):
        made = client.post(f"/api/v1/forms/{form_id}/submissions", headers=staff, json={
            "answers": {"f1": clean, "f2": temperature, "f3": shift, "f4": "x"},
            "submit": True})
        assert made.status_code == 201, made.get_json()
    url = f"/api/v1/forms/{form_id}/submissions"
    viewer = bearer(make_user("viewer"))

    def found(query: str) -> list[str]:
        page = client.get(f"{url}?{query}", headers=viewer).get_json()
        return sorted(item["answers"]["f2"] for item in page["items"])

    assert found("") == ["1", "2", "5", "7"]
    assert found("f1=yes") == ["1", "2", "7"]
    assert found("f2_min=2&f2_max=6") == ["2", "5"]
    assert found("f3=Late&f1=yes") == ["7"]
    assert found("status=draft") == []
    page = client.get(f"{url}?per_page=2&sort=id", headers=viewer).get_json()
    assert page["has_next"] and page["total"] == 4 and len(page["items"]) == 2
    assert page["items"][0]["version"] == 1
    assert_constant_list_queries(client, viewer, ("/api/v1/forms",), per_pages=(1, 4))
    counts = set()
    for per_page in (1, 4):  # the form and its latest version's fields, then the page's rows
        with count_queries() as counter:
            assert client.get(f"{url}?per_page={per_page}&f1=yes",
                              headers=viewer).status_code == 200
        counts.add(counter.count)
    assert len(counts) == 1 and counts.pop() <= 7


def test_an_inspection_forms_submission_records_the_inspection(client, company, make_user,
                                                               checklist):
    form_id, _manager = checklist
    product = ProductFactory(company=company)
    db.session.commit()
    made = client.post(f"/api/v1/forms/{form_id}/submissions", headers=bearer(make_user("staff")),
                       json={"answers": {"f1": "no", "f2": "3", "f4": "Wet"}, "submit": True,
                             "product_id": product.id, "receipt_reference": "GR-7"})
    assert made.status_code == 201, made.get_json()
    inspection = db.session.get(QualityInspection, made.get_json()["inspection_id"])
    assert inspection.result == "fail" and inspection.product_id == product.id
    assert db.session.scalar(select(func.count()).select_from(FormAnswer)) == 3


def test_an_archived_form_takes_no_new_submissions(client, make_user, checklist):
    form_id, manager = checklist
    archived = client.post(f"/api/v1/forms/{form_id}/active", headers=manager,
                           json={"active": False})
    assert archived.status_code == 200 and archived.get_json()["active"] is False
    refused = client.post(f"/api/v1/forms/{form_id}/submissions",
                          headers=bearer(make_user("staff")), json={"answers": {"f2": "1"}})
    assert refused.status_code == 409 and "archived" in refused.get_json()["detail"]
    assert db.session.get(CustomForm, form_id).active is False


def test_a_manager_links_a_product_to_its_inspection_form(client, company, make_user,
                                                           other_company, checklist):
    form_id, manager = checklist
    product = ProductFactory(company=company)
    foreign = ProductFactory(company=other_company)
    db.session.commit()
    url = f"/api/v1/forms/{form_id}/links"
    assert client.post(url, headers=bearer(make_user("staff")),
                       json={"product_id": product.id}).status_code == 403
    linked = client.post(url, headers=manager, json={"product_id": product.id})
    assert linked.status_code == 201, linked.get_json()
    [link] = linked.get_json()["links"]
    assert link["product_id"] == product.id and product.sku in link["subject"]
    for body in ({}, {"product_id": product.id, "category_id": 1}, {"product_id": foreign.id}):
        refused = client.post(url, headers=manager, json=body)
        assert refused.status_code == 422 and "product_id" in refused.get_json()["errors"], body
    inspection = client.post("/api/v1/quality-inspections", headers=manager, json={
        "product_id": product.id, "result": "pass"})
    assert inspection.status_code == 422  # its form decides, as on the pages
    assert client.delete(f"{url}/{link['id']}", headers=manager).status_code == 204
    assert client.delete(f"{url}/{link['id']}", headers=manager).status_code == 404
    assert client.get(f"/api/v1/forms/{form_id}", headers=manager).get_json()["links"] == []
