"""Custom forms: designing (field rules, versions), filling (validation all at once,
conditions, drafts), read-only once submitted, and audited."""
from datetime import date
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from erp.extensions import db
from erp.models import AuditEntry
from erp.models.forms import FormAnswer, FormField, FormLink, FormSubmission, FormVersion
from erp.models.quality import QualityInspection
from erp.services import DomainError, NotFound, PermissionDenied, ValidationError
from erp.services import forms as service
from tests.factories.catalog import ProductFactory
from tests.factories.forms import checklist, manager, staff  # noqa: F401 (fixtures)


def save(user, form, answers, *, submit=True, submission_id=None):
    return service.save_submission(company_id=user.company_id, form_id=form.id, user=user,
                                   answers=answers, submit=submit, submission_id=submission_id)


def count(model):
    db.session.rollback()
    return db.session.scalar(select(func.count()).select_from(model))


# ---------------------------------------------------------------- designing

def test_fields_get_keys_and_positions_in_order(manager):
    form, keys = checklist(manager)
    version = service.latest_version(form)
    assert version.number == 1
    assert [f.key for f in version.fields] == [f"f{n}" for n in range(1, 8)]
    assert [f.position for f in version.fields] == list(range(1, 8))
    assert keys["Temperature"] == "f3"


@pytest.mark.parametrize("values,field,message", [
    ({"kind": "choice", "label": "Carrier", "options": ""}, "options", "Enter the choices"),
    ({"kind": "choice", "label": "Carrier", "options": "A\na"}, "options", "Each choice once"),
    ({"kind": "number", "label": "Boxes", "minimum": "1.5"}, "minimum", "whole number"),
    ({"kind": "decimal", "label": "T", "minimum": "5", "maximum": "1"}, "maximum", "less than"),
    ({"kind": "decimal", "label": "T", "minimum": "NaN"}, "minimum", "Enter a number"),
    ({"kind": "bogus", "label": "X"}, "kind", "Choose a field type"),
    ({"kind": "text", "label": ""}, "label", "Enter a label"),
    ({"kind": "text", "label": "X", "condition_key": "f99", "condition_value": "yes"},
     "condition_key", "yes / no or list field"),
])
def test_a_bad_field_definition_is_refused_with_a_message(manager, values, field, message):
    form = service.create_form(company_id=manager.company_id, user=manager, name="F")
    with pytest.raises(ValidationError) as refused:
        service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                          **values)
    assert message in " ".join(refused.value.field_errors[field])
    assert count(FormField) == 0


def test_every_problem_of_a_field_definition_is_reported_at_once(manager):
    form = service.create_form(company_id=manager.company_id, user=manager, name="F")
    with pytest.raises(ValidationError) as refused:
        service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                          kind="decimal", label="", minimum="x", maximum="y")
    assert set(refused.value.field_errors) == {"label", "minimum", "maximum"}


def test_a_condition_value_must_be_an_answer_of_its_source(manager):
    form, keys = checklist(manager)
    for source, value, message in ((keys["Packaging intact"], "maybe", "yes or no"),
                                   (keys["Carrier"], "FedEx", "one of the choices")):
        with pytest.raises(ValidationError) as refused:
            service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                              kind="text", label="Why", condition_key=source,
                              condition_value=value)
        assert message in refused.value.field_errors["condition_value"][0]


def test_conditions_do_not_chain_and_a_source_field_is_not_removed(manager):
    form, keys = checklist(manager)
    notes = keys["Damage notes"]
    with pytest.raises(ValidationError):  # "Damage notes" has a condition itself
        service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                          kind="text", label="X", condition_key=notes, condition_value="x")
    with pytest.raises(DomainError, match="change their condition first"):
        service.remove_field(company_id=manager.company_id, form_id=form.id,
                             key=keys["Packaging intact"], user=manager)


def test_a_form_name_is_unique_in_the_company_in_any_case(manager, make_user, other_company):
    service.create_form(company_id=manager.company_id, user=manager, name="Safety walk")
    with pytest.raises(ValidationError) as refused:
        service.create_form(company_id=manager.company_id, user=manager, name="SAFETY WALK")
    assert "name" in refused.value.field_errors
    other = make_user("manager", company=other_company)
    service.create_form(company_id=other.company_id, user=other, name="Safety walk")


@pytest.mark.parametrize("name, again", [("É&ÖO'_", "É&ÖO'_"), ("Çelik İş", "çelik iş"),
                                         ("ÉTÉ", "été")])
def test_a_name_with_capitals_beyond_ascii_is_refused_the_second_time(manager, name, again):
    """SQLite's lower() folds ASCII only: the same name twice got past the check and then
    hit the unique index (a 500, found by the fuzzing)."""
    form = service.create_form(company_id=manager.company_id, user=manager, name=name)
    with pytest.raises(ValidationError) as refused:
        service.create_form(company_id=manager.company_id, user=manager, name=again)
    assert "name" in refused.value.field_errors
    other = service.create_form(company_id=manager.company_id, user=manager, name="Other")
    with pytest.raises(ValidationError):
        service.update_form(company_id=manager.company_id, form_id=other.id, user=manager,
                            name=again)
    assert form.name == name


def test_moving_a_field_swaps_it_with_its_neighbour(manager):
    form, keys = checklist(manager)
    service.move_field(company_id=manager.company_id, form_id=form.id,
                       key=keys["Temperature"], user=manager, direction="up")
    labels = [f.label for f in service.latest_version(form).fields]
    assert labels[1:3] == ["Temperature", "Packaging intact"]
    service.move_field(company_id=manager.company_id, form_id=form.id,
                       key=keys["Arrival"], user=manager, direction="up")  # first: no move
    assert service.latest_version(form).fields[0].label == "Arrival"


def test_editing_a_form_without_submissions_keeps_its_version(manager):
    form, keys = checklist(manager)
    service.update_field(company_id=manager.company_id, form_id=form.id,
                         key=keys["Temperature"], user=manager, kind="decimal",
                         label="Core temperature", minimum="0", maximum="8")
    assert count(FormVersion) == 1


def test_editing_a_form_with_submissions_makes_a_new_version(manager, staff):
    form, keys = checklist(manager)
    old = save(staff, form, {keys["Packaging intact"]: "yes", keys["Temperature"]: "12"})
    service.update_field(company_id=manager.company_id, form_id=form.id,
                         key=keys["Temperature"], user=manager, kind="decimal",
                         label="Core temperature", minimum="0", maximum="8", unit="°C")
    service.remove_field(company_id=manager.company_id, form_id=form.id,
                         key=keys["Best before"], user=manager)  # same version 2
    db.session.rollback()
    assert count(FormVersion) == 2
    latest = service.latest_version(form)
    assert latest.number == 2 and "Best before" not in [f.label for f in latest.fields]
    # the old submission still shows version 1's fields and its answer of 12
    old = db.session.get(FormSubmission, old.id)
    version = db.session.get(FormVersion, old.version_id)
    assert version.number == 1
    shown = {field.label: text for field, text in service.shown_answers(version, old)}
    assert shown["Temperature"] == "12 °C" and "Best before" in shown
    # a new submission is filled on version 2: 12 is now out of range
    with pytest.raises(ValidationError) as refused:
        save(staff, form, {keys["Packaging intact"]: "yes", keys["Temperature"]: "12"})
    assert refused.value.field_errors == {keys["Temperature"]: ["Enter a number from 0 to 8 °C."]}


def test_another_companys_form_is_not_found(manager, make_user, other_company):
    form, _keys = checklist(manager)
    other = make_user("manager", company=other_company)
    with pytest.raises(NotFound):
        service.add_field(company_id=other.company_id, form_id=form.id, user=other,
                          kind="text", label="X")
    with pytest.raises(NotFound):
        save(other, form, {})


# ---------------------------------------------------------------- filling

def test_every_bad_answer_is_reported_at_once_and_nothing_is_written(manager, staff):
    form, keys = checklist(manager)
    with pytest.raises(ValidationError) as refused:
        save(staff, form, {keys["Packaging intact"]: "perhaps", keys["Temperature"]: "25",
                           keys["Best before"]: "31.12.2027", keys["Carrier"]: "FedEx",
                           keys["Product"]: "no such thing"})
    errors = refused.value.field_errors
    assert errors == {
        keys["Packaging intact"]: ["Choose yes or no."],
        keys["Temperature"]: ["Enter a number from 0 to 20 °C."],
        keys["Best before"]: ["Enter a date as YYYY-MM-DD."],
        keys["Carrier"]: ["Choose from the list."],
        keys["Product"]: ["Choose a product from the list."]}
    assert count(FormSubmission) == 0 and count(FormAnswer) == 0


def test_required_fields_may_wait_in_a_draft_but_not_on_submit(manager, staff):
    form, keys = checklist(manager)
    draft = save(staff, form, {keys["Temperature"]: "4.5"}, submit=False)
    assert draft.status == "draft"
    with pytest.raises(ValidationError) as refused:
        save(staff, form, {keys["Temperature"]: "4.5"}, submission_id=draft.id)
    assert refused.value.field_errors == {keys["Packaging intact"]: ["This field is required."]}
    done = save(staff, form, {keys["Temperature"]: "4.5", keys["Packaging intact"]: "yes"},
                submission_id=draft.id)
    assert done.id == draft.id and done.status == "submitted" and done.submitted_at
    assert count(FormSubmission) == 1


def test_a_field_whose_condition_is_not_met_is_neither_required_nor_kept(manager, staff):
    form, keys = checklist(manager)
    notes = keys["Damage notes"]
    intact = save(staff, form, {keys["Packaging intact"]: "yes", keys["Temperature"]: "3",
                                notes: "kept?"})
    db.session.rollback()
    assert notes not in {a.field_key for a in db.session.get(FormSubmission, intact.id).answers}
    with pytest.raises(ValidationError) as refused:  # shown now, and required
        save(staff, form, {keys["Packaging intact"]: "no", keys["Temperature"]: "3"})
    assert refused.value.field_errors == {notes: ["This field is required."]}
    damaged = save(staff, form, {keys["Packaging intact"]: "no", keys["Temperature"]: "3",
                                 notes: "Torn box"})
    shown = {f.label: text for f, text in service.shown_answers(
        service.latest_version(form), db.session.get(FormSubmission, damaged.id))}
    assert shown["Damage notes"] == "Torn box" and shown["Packaging intact"] == "No"


def test_answers_are_stored_in_their_typed_columns(manager, staff, company):
    product = ProductFactory(company=company, sku="MILK-1", name="Milk")
    form, keys = checklist(manager)
    submission = save(staff, form, {
        keys["Packaging intact"]: "yes", keys["Temperature"]: "7.25",
        keys["Best before"]: "2027-03-01", keys["Carrier"]: "UPS",
        keys["Product"]: "milk-1"})
    db.session.rollback()
    answers = {a.field_key: a for a in db.session.get(FormSubmission, submission.id).answers}
    assert answers[keys["Packaging intact"]].value_bool is True
    assert answers[keys["Temperature"]].value_number == Decimal("7.25")
    assert answers[keys["Best before"]].value_date == date(2027, 3, 1)
    assert answers[keys["Carrier"]].value_text == "UPS"
    assert answers[keys["Product"]].value_number == product.id
    assert answers[keys["Product"]].value_text == str(product)


def test_several_of_a_list_keeps_the_lists_order(manager, staff):
    form = service.create_form(company_id=manager.company_id, user=manager, name="Walk")
    field = service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                              kind="choices", label="Hazards", options="Wet floor\nCables\nDust")
    submission = save(staff, form, {field.key: ["Dust", "Wet floor"]})
    shown = dict((f.label, text) for f, text in service.shown_answers(
        service.latest_version(form), submission))
    assert shown["Hazards"] == "Wet floor, Dust"
    with pytest.raises(ValidationError):
        save(staff, form, {field.key: ["Fire"]})


def test_a_whole_number_field_refuses_decimals(manager, staff):
    form = service.create_form(company_id=manager.company_id, user=manager, name="Count")
    field = service.add_field(company_id=manager.company_id, form_id=form.id, user=manager,
                              kind="number", label="Boxes", minimum="1")
    with pytest.raises(ValidationError) as refused:
        save(staff, form, {field.key: "2.5"})
    assert refused.value.field_errors == {field.key: ["Enter a whole number."]}
    with pytest.raises(ValidationError) as refused:
        save(staff, form, {field.key: "0"})
    assert refused.value.field_errors == {field.key: ["Enter at least 1."]}


def test_a_submitted_form_is_read_only_and_every_save_is_audited(manager, staff):
    form, keys = checklist(manager)
    draft = save(staff, form, {keys["Temperature"]: "5"}, submit=False)
    save(staff, form, {keys["Temperature"]: "6", keys["Packaging intact"]: "yes"},
         submission_id=draft.id)
    with pytest.raises(DomainError, match="read-only"):
        save(staff, form, {keys["Temperature"]: "7", keys["Packaging intact"]: "yes"},
             submission_id=draft.id)
    with pytest.raises(DomainError):
        service.delete_draft(company_id=staff.company_id, form_id=form.id,
                             submission_id=draft.id, user=staff)
    db.session.rollback()
    entries = list(db.session.scalars(select(AuditEntry).where(
        AuditEntry.record_type == "FormSubmission", AuditEntry.record_id == draft.id)
        .order_by(AuditEntry.id)))
    assert [e.action for e in entries] == ["save_draft", "submit"]
    assert entries[1].changes["Temperature"] == ["5 °C", "6 °C"]
    assert entries[1].user_name == staff.email


def test_a_draft_is_continued_by_its_author_or_a_manager_only(manager, staff, make_user):
    form, keys = checklist(manager)
    draft = save(staff, form, {}, submit=False)
    with pytest.raises(PermissionDenied):
        save(make_user("staff"), form, {}, submit=False, submission_id=draft.id)
    save(manager, form, {keys["Temperature"]: "1"}, submit=False, submission_id=draft.id)
    service.delete_draft(company_id=staff.company_id, form_id=form.id, submission_id=draft.id,
                         user=staff)
    assert count(FormSubmission) == 0 and count(FormAnswer) == 0


def test_an_archived_form_takes_no_new_submissions(manager, staff):
    form, _keys = checklist(manager)
    service.set_form_active(company_id=manager.company_id, form_id=form.id, user=manager,
                            active=False)
    with pytest.raises(DomainError, match="archived"):
        save(staff, form, {}, submit=False)


# ---------------------------------------------------------------- quality inspections

def test_a_products_own_form_wins_over_its_categorys(manager, company):
    from tests.factories.catalog import CategoryFactory
    category = CategoryFactory(company=company, name="Dairy")
    product = ProductFactory(company=company, category_id=category.id)
    other = ProductFactory(company=company, category_id=category.id)
    by_category, _ = checklist(manager, "Dairy check")
    own, _ = checklist(manager, "Milk check")
    service.link_form(company_id=company.id, form_id=by_category.id, user=manager,
                      category_id=category.id)
    service.link_form(company_id=company.id, form_id=own.id, user=manager,
                      product_id=product.id)
    assert service.inspection_form(company.id, product).id == own.id
    assert service.inspection_form(company.id, other).id == by_category.id
    # linking again replaces the product's form; an archived form is not used
    service.link_form(company_id=company.id, form_id=by_category.id, user=manager,
                      product_id=product.id)
    assert count(FormLink) == 2
    service.set_form_active(company_id=company.id, form_id=by_category.id, user=manager,
                            active=False)
    assert service.inspection_form(company.id, product) is None


def test_a_parent_categorys_form_serves_its_subcategories_the_nearest_first(manager,
                                                                           company):
    from tests.factories.catalog import CategoryFactory
    chilled = CategoryFactory(company=company, name="Chilled")
    dairy = CategoryFactory(company=company, name="Dairy", parent_id=chilled.id)
    cheese = CategoryFactory(company=company, name="Cheese", parent_id=dairy.id)
    product = ProductFactory(company=company, category_id=cheese.id)
    assert service.inspection_form(company.id, product) is None
    cold, _ = checklist(manager, "Cold chain check")
    service.link_form(company_id=company.id, form_id=cold.id, user=manager,
                      category_id=chilled.id)
    assert service.inspection_form(company.id, product).id == cold.id
    milk, _ = checklist(manager, "Dairy check")
    service.link_form(company_id=company.id, form_id=milk.id, user=manager,
                      category_id=dairy.id)
    assert service.inspection_form(company.id, product).id == milk.id  # the nearest
    service.set_form_active(company_id=company.id, form_id=milk.id, user=manager,
                            active=False)
    assert service.inspection_form(company.id, product).id == cold.id


def test_a_form_is_not_linked_to_another_companys_product(manager, other_company):
    foreign = ProductFactory(company=other_company)
    form, _ = checklist(manager)
    with pytest.raises(ValidationError):
        service.link_form(company_id=manager.company_id, form_id=form.id, user=manager,
                          product_id=foreign.id)
    with pytest.raises(NotFound):
        service.save_submission(company_id=manager.company_id, form_id=form.id, user=manager,
                                answers={}, submit=False, product_id=foreign.id)


@pytest.mark.parametrize("intact,result", [("yes", "pass"), ("no", "fail")])
def test_submitting_an_inspection_form_records_the_inspection_its_answers_decide(
        manager, staff, company, intact, result):
    product = ProductFactory(company=company, sku="EGG-1")
    form, keys = checklist(manager)
    answers = {keys["Packaging intact"]: intact, keys["Temperature"]: "4",
               keys["Damage notes"]: "Crushed"}
    draft = service.save_submission(company_id=company.id, form_id=form.id, user=staff,
                                    answers=answers, submit=False, product_id=product.id,
                                    receipt_reference="PO-2026-000001")
    assert draft.inspection_id is None and count(QualityInspection) == 0
    done = save(staff, form, answers, submission_id=draft.id)
    inspection = db.session.get(QualityInspection, done.inspection_id)
    assert (inspection.result, inspection.product_id) == (result, product.id)
    assert inspection.receipt_reference == "PO-2026-000001"
    assert inspection.inspector_id == staff.id
    assert ("Packaging intact" in inspection.notes) == (result == "fail")


def test_a_failed_inspection_form_writes_nothing_when_an_answer_is_bad(manager, staff,
                                                                       company):
    product = ProductFactory(company=company)
    form, keys = checklist(manager)
    with pytest.raises(ValidationError):
        service.save_submission(company_id=company.id, form_id=form.id, user=staff,
                                answers={keys["Packaging intact"]: "no"}, submit=True,
                                product_id=product.id)
    assert count(QualityInspection) == 0 and count(FormSubmission) == 0
