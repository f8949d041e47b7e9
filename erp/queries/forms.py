"""Reads of the custom forms pages: the list of forms, and a form's submissions list
(filters on answer values, built per form from its latest version's fields) and its CSV
(one column per field the form ever had)."""
from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal, InvalidOperation

from flask import Response
from flask_login import current_user
from sqlalchemy import Select, and_, func, literal_column, or_, select
from sqlalchemy.orm import joinedload, selectinload

from erp.collation import FOLD_FROM, FOLD_TO, fold, folded
from erp.csv_io import chunks, dated_csv
from erp.extensions import db
from erp.lists import Csv, Filter, ListSpec, archive_filter, choice_filter, contains, day_filter
from erp.models.catalog import Category
from erp.models.forms import (NUMBER_KINDS, SUBMISSION_STATUSES, CustomForm, FormAnswer,
                              FormField, FormLink, FormSubmission, FormVersion)
from erp.parsing import parse_date
from erp.services import forms as form_service

FORMS = ListSpec(
    model=CustomForm,
    sorts={"name": CustomForm.name, "created": CustomForm.created_at},
    default_sort="name",
    search=contains(CustomForm.name),
    filters=[archive_filter(CustomForm)],
)

LIST_COLUMNS = 4  # answers shown as columns of the submissions list


def _answered(form: CustomForm, key: str, criterion):
    """Submissions whose answer to the field `key` contains a text (`criterion`): an IN
    over the answers the text's index finds (PostgreSQL's trigram index; a rare word is
    found without reading every submission), read once per query.

    On SQLite the id is written `id + 0`: else SQLite drives the query by the matching
    ids, fetching and sorting every matching submission (29,000 of 100,000 for
    "Temperature at least 8": 140 ms); so it reads the list's order index and probes the
    set, fetching only the page's rows (bench/profile.py --forms, size l)."""
    submission_id = FormSubmission.id
    if db.session.get_bind().dialect.name == "sqlite":
        submission_id = submission_id + 0
    return submission_id.in_(
        select(FormAnswer.submission_id).where(
            FormAnswer.company_id == form.company_id, FormAnswer.form_id == form.id,
            FormAnswer.field_key == key, criterion))


def _answer_is(form: CustomForm, key: str, criterion, *, ranged: bool = False):
    """Submissions whose answer to the field `key` meets `criterion` (a number or date
    range, yes/no, a choice): each submission the list reads in its order is probed for
    its answer, so a page reads its rows and the capped count its 1,001 matches, whatever
    the number of submissions. An IN over the (company, form, key, value) indexes first
    read every matching answer: 29,000 at size l for "Temperature at least 8", the
    filtered list's server time 26.5 ms at size m, 80.5 at l (#17).

    A value (yes/no, a choice) is probed by one seek of its (company, form, key, value,
    submission) index; a `ranged` one by the submission's answers (the unique (submission,
    field) index): with the company and form named the planners would range over the
    value index for each submission instead."""
    scope = () if ranged else (FormAnswer.company_id == form.company_id,
                               FormAnswer.form_id == form.id)
    return select(FormAnswer.id).where(
        *scope, FormAnswer.field_key == key, FormAnswer.submission_id == FormSubmission.id,
        criterion).exists()


def _number(text: str) -> Decimal | None:
    try:
        value = Decimal(text)
    except (InvalidOperation, ValueError):
        return None
    return value if value.is_finite() and abs(value) < 10**12 else None


def value_filters(form: CustomForm, field: FormField) -> list[Filter]:
    """The query-string filters of one field: `<key>_min`/`<key>_max` for numbers,
    `<key>_from`/`<key>_to` for dates, `<key>` for the rest (yes/no, a choice, contains)."""
    key = field.key

    def ranged(suffix: str, parse, column, greater: bool) -> Filter:
        def apply(stmt: Select, value: str) -> Select:
            parsed = parse(value)
            if parsed is None:
                return stmt
            return stmt.where(_answer_is(form, key, column >= parsed if greater
                                         else column <= parsed, ranged=True))
        return Filter(f"{key}_{suffix}", apply)

    if field.kind in NUMBER_KINDS:
        return [ranged("min", _number, FormAnswer.value_number, True),
                ranged("max", _number, FormAnswer.value_number, False)]
    if field.kind == "date":
        return [ranged("from", parse_date, FormAnswer.value_date, True),
                ranged("to", parse_date, FormAnswer.value_date, False)]
    if field.kind == "yes_no":
        return [Filter(key, lambda stmt, value: stmt.where(_answered(
            form, key, FormAnswer.value_bool.is_(value == "yes")))
            if value in ("yes", "no") else stmt)]
    if field.kind == "choice":
        return [Filter(key, lambda stmt, value: stmt.where(_answered(
            form, key, text_is(value))) if value in field.choices else stmt)]
    return [Filter(key, lambda stmt, value: stmt.where(_answered(form, key, text_has(value))))]


# The choice filter reads the answers' first TEXT_KEY characters from the expression index
# ix_form_answers_text (company, form, key, substr(value_text, 1, 100), submission;
# migration 0028), not every answer row of the field: an answer equal to a choice is one
# index range (#23: 100,000 submissions, SQLite 300 -> 26 ms). A text's "contains" is
# matched on the folded text (erp.collation: "istanbul" finds "İSTANBUL"): on PostgreSQL
# through the pg_trgm GIN index on it (ix_form_answers_trgm, migration 0031: a word nobody
# wrote, whose count read every answer of the field, 76 -> 14 ms; "Checked by" contains a
# name on a sixth of them 222 -> 134 ms), on SQLite on the first characters' index
# entries, the whole text read only of answers that long (CPU 74 -> 37 ms). 100,000
# submissions, bench/form_search.py.
TEXT_KEY = 100


def text_key(column=FormAnswer.value_text):
    """The indexed expression, written out with its numbers (as bound parameters neither
    planner would see it is the index's)."""
    return func.substr(column, literal_column("1"), literal_column(str(TEXT_KEY)))


def text_is(value: str):
    """The answer is exactly `value`: a seek on the index for a value shorter than the key,
    else on its first characters and then the whole text."""
    criterion = text_key() == value[:TEXT_KEY]
    return criterion if len(value) < TEXT_KEY else and_(criterion,
                                                        FormAnswer.value_text == value)


LIKE_ESCAPE = "/"


def text_has(value: str):
    """The answer contains `value` (any case, the Turkish I's included; % and _ are
    themselves): PostgreSQL matches the folded text (its trigram index); SQLite the folded
    first characters (from their index) or, for an answer as long as the key, its whole
    folded text."""
    term = fold(value)
    for char in (LIKE_ESCAPE, "%", "_"):
        term = term.replace(char, LIKE_ESCAPE + char)
    like = f"%{term}%"
    if db.session.get_bind().dialect.name == "postgresql":
        return folded(FormAnswer.value_text).like(like, escape=LIKE_ESCAPE)
    return or_(sqlite_folded(text_key(), term).like(like, escape=LIKE_ESCAPE),
               and_(func.length(text_key()) == TEXT_KEY,
                    sqlite_folded(FormAnswer.value_text, term).like(like, escape=LIKE_ESCAPE)))


def sqlite_folded(column, term: str):
    """SQLite: `column` as `LIKE '%term%'` must see it to match as erp.collation folds, in
    plain SQL: LIKE ignores the case of ASCII letters itself, so only the Turkish capitals
    of the letters the folded `term` holds are replaced (İ and ı for an i, Ç for a ç ...).
    Not the app's `erp_fold` function nor lower() of a chain of replace(): work for each
    answer of the field made "Checked by contains novak" at 100,000 submissions 378 ->
    1,422 ms and 1,551 ms (bench/form_search.py); this way it is a plain LIKE."""
    for capital, small in zip(FOLD_FROM, FOLD_TO):
        if small in term and capital != "I":  # I is ASCII: LIKE matches it to i
            column = func.replace(column, literal_column(f"'{capital}'"),
                                  literal_column(f"'{small}'"))
    return column


def filter_fields(version: FormVersion) -> list[FormField]:
    return [field for field in version.fields if field.answers]


def submissions_spec(form: CustomForm, version: FormVersion) -> ListSpec:
    """The submissions list of `form`, with a filter for each field of its latest version."""
    field_filters = [f for field in filter_fields(version) for f in value_filters(form, field)]
    return ListSpec(
        model=FormSubmission,
        sorts={"created": FormSubmission.created_at, "submitted": FormSubmission.submitted_at,
               "status": FormSubmission.status, "id": FormSubmission.id},
        default_sort="-created",
        stable_desc=True,
        nulls_last=True,
        base=lambda: select(FormSubmission).where(
            FormSubmission.company_id == current_user.company_id,
            FormSubmission.form_id == form.id),
        filters=[choice_filter("status", FormSubmission.status, SUBMISSION_STATUSES),
                 day_filter("from", FormSubmission.created_at),
                 day_filter("until", FormSubmission.created_at, until=True),
                 *field_filters],
        csv=Csv(response=lambda stmt: export(form, stmt)),
        options=[selectinload(FormSubmission.answers)],
    )


def export(form: CustomForm, stmt: Select) -> Response:
    """The filtered submissions as CSV: a column per field the form ever had (its key
    keeps it the same question across versions), rows read 500 at a time."""
    columns = form_service.field_columns(form)
    header = ["id", "status", "version", "created_by", "created_at", "submitted_at"] + [
        label for _key, label, _kind in columns]
    ids = list(db.session.scalars(stmt.with_only_columns(FormSubmission.id)))

    def rows() -> Iterator[list]:
        fields: dict[int, FormField] = {}
        numbers: dict[int, int] = {}
        for batch in chunks(ids):
            # plain rows, not ORM objects (a form's export of 1,000 submissions built 7,000
            # of them: most of its time, #17), and no file answer's bytes
            found = {row.id: row for row in db.session.execute(
                select(FormSubmission.id, FormSubmission.status, FormSubmission.version_id,
                       FormSubmission.created_by_name, FormSubmission.created_at,
                       FormSubmission.submitted_at).where(FormSubmission.id.in_(batch)))}
            answers: dict[int, list] = {}
            for answer in db.session.execute(
                    select(FormAnswer.submission_id, FormAnswer.field_id, FormAnswer.field_key,
                           FormAnswer.value_text, FormAnswer.value_number,
                           FormAnswer.value_date, FormAnswer.value_bool)
                    .where(FormAnswer.submission_id.in_(batch))):
                answers.setdefault(answer.submission_id, []).append(answer)
            missing = {s.version_id for s in found.values()} - set(numbers)
            if missing:
                numbers.update(db.session.execute(select(FormVersion.id, FormVersion.number)
                                                  .where(FormVersion.id.in_(missing))).all())
                for version_fields in form_service.version_fields(list(missing)).values():
                    fields.update({field.id: field for field in version_fields})
            for submission_id in batch:
                submission = found.get(submission_id)
                if submission is None:
                    continue
                by_key = {answer.field_key: form_service.display(fields[answer.field_id], answer)
                          for answer in answers.get(submission_id, ())}
                yield [submission.id, submission.status, numbers[submission.version_id],
                       submission.created_by_name, submission.created_at,
                       submission.submitted_at] + [by_key.get(key, "") for key, _l, _k in columns]
    return dated_csv(f"form-{form.id}-submissions", header, rows())


LINKS_SHOWN = 100  # the products and categories a form's page lists
CATEGORY_CHOICES = 300


def form_links(form: CustomForm) -> list[FormLink]:
    """The products and categories inspected on `form` (categories first), bounded."""
    return list(db.session.scalars(
        select(FormLink).where(FormLink.company_id == form.company_id,
                               FormLink.form_id == form.id)
        .options(joinedload(FormLink.product), joinedload(FormLink.category),
                 joinedload(FormLink.work_order))
        .order_by(FormLink.category_id.is_(None), FormLink.id).limit(LINKS_SHOWN)))


def category_choices() -> list[tuple[int, str]]:
    return list(db.session.execute(
        select(Category.id, Category.name).where(Category.company_id == current_user.company_id,
                                                 Category.active.is_(True))
        .order_by(Category.name).limit(CATEGORY_CHOICES)).all())
