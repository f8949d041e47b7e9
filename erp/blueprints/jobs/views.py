"""Background jobs (a job's page with its progress, its file; the admin's list of the
company's jobs, failed ones run again), the webhooks admin pages (endpoints, their
delivery log, replay, pause and resume) and the forms that e-mail a document as a PDF."""
from __future__ import annotations

from flask import Blueprint, Response, abort, flash, request, url_for
from flask_login import current_user

from erp.auth import require_role
from erp.blueprints.jobs.forms import EmailDocumentForm, EndpointForm
from erp.extensions import db
from erp.models.jobs import DELIVERY_STATUSES, JOB_KINDS, JOB_STATUSES, WebhookEndpoint
from erp.queries import company_select
from erp.queries import jobs as queries
from erp.services import DomainError, NotFound, ValidationError
from erp.services import jobs as job_service
from erp.services import mail as mail_service
from erp.services import webhooks as webhook_service
from erp.web import apply_field_errors, form_status, is_htmx, redirect_after_post, render
from erp.i18n import _

bp = Blueprint("jobs", __name__)


def _job(job_id: int):
    try:
        return job_service.get_job(company_id=current_user.company_id, job_id=job_id,
                                   user=current_user)
    except NotFound:
        abort(404)


@bp.route("/jobs/<int:job_id>")
@require_role("viewer")
def job_detail(job_id: int):
    """The job's state; htmx polls the `status` block until it is finished."""
    job = _job(job_id)
    response = render("jobs/detail.html", block="status" if is_htmx() else None, job=job)
    response.headers["Cache-Control"] = "no-store"
    response.headers["Vary"] = "HX-Request"
    return response


@bp.route("/jobs/<int:job_id>/download")
@require_role("viewer")
def job_download(job_id: int):
    response = job_file(_job(job_id))
    if response is None:
        abort(404)
    return response


def job_file(job) -> Response | None:
    """The CSV file a finished job made, as a download (None: it has none, or not yet);
    the page's and the API's download."""
    if job.status != "done" or job.result is None:
        return None
    response = Response(job.result, mimetype="text/csv")
    response.headers["Content-Type"] = "text/csv; charset=utf-8"
    response.headers["Content-Disposition"] = f'attachment; filename="{job.result_name}"'
    response.headers["Cache-Control"] = "no-store"
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


@bp.route("/admin/jobs")
@require_role("admin")
def job_list():
    return queries.JOBS.response("jobs/list.html", statuses=list(JOB_STATUSES.items()),
                                 kinds=list(JOB_KINDS.items()))


@bp.route("/admin/jobs/<int:job_id>/retry", methods=["POST"])
@require_role("admin")
def job_retry(job_id: int):
    try:
        job_service.retry_job(company_id=current_user.company_id, job_id=job_id,
                              user=current_user)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "danger")
    else:
        flash(_("The job was queued again."), "success")
    return redirect_after_post("jobs.job_detail", job_id=job_id)


# ---------------------------------------------------------------- webhooks

@bp.route("/admin/webhooks")
@require_role("admin")
def endpoint_list():
    return queries.ENDPOINTS.response("jobs/endpoints.html")


@bp.route("/admin/webhooks/new", methods=["GET", "POST"])
@require_role("admin")
def endpoint_create():
    form = EndpointForm()
    if form.validate_on_submit():
        try:
            endpoint = webhook_service.create_endpoint(
                company_id=current_user.company_id, user=current_user, url=form.url.data,
                events=form.events.data or [], description=form.description.data or "")
        except ValidationError as error:
            apply_field_errors(form, error)
        else:
            flash(_("Endpoint added. Its secret is on this page."), "success")
            return redirect_after_post("jobs.endpoint_detail", endpoint_id=endpoint.id)
    return render("jobs/endpoint_form.html", form=form, status=form_status(form))


def _endpoint(endpoint_id: int) -> WebhookEndpoint:
    try:
        return webhook_service.get_endpoint(company_id=current_user.company_id,
                                            endpoint_id=endpoint_id)
    except NotFound:
        abort(404)


@bp.route("/admin/webhooks/<int:endpoint_id>")
@require_role("admin")
def endpoint_detail(endpoint_id: int):
    endpoint = _endpoint(endpoint_id)
    from erp.models.jobs import WebhookDelivery

    base = company_select(WebhookDelivery).where(WebhookDelivery.endpoint_id == endpoint.id)
    response = queries.DELIVERIES.response(
        "jobs/endpoint_detail.html", base=base, endpoint=endpoint,
        statuses=list(DELIVERY_STATUSES.items()), events=webhook_service.EVENTS)
    response.headers["Cache-Control"] = "no-store"  # the page shows the secret
    return response


@bp.route("/admin/webhooks/<int:endpoint_id>/state", methods=["POST"])
@require_role("admin")
def endpoint_state(endpoint_id: int):
    _endpoint(endpoint_id)
    state = request.form.get("state", "")
    try:
        webhook_service.set_endpoint_state(company_id=current_user.company_id,
                                           endpoint_id=endpoint_id, user=current_user,
                                           state=state)
    except ValidationError as error:
        flash(str(error), "danger")
    else:
        flash({"active": "Endpoint resumed.", "paused": "Endpoint paused.",
               "archived": "Endpoint archived."}[state], "success")
    return redirect_after_post("jobs.endpoint_detail", endpoint_id=endpoint_id)


@bp.route("/admin/webhooks/deliveries/<int:delivery_id>/replay", methods=["POST"])
@require_role("admin")
def delivery_replay(delivery_id: int):
    try:
        delivery = webhook_service.replay(company_id=current_user.company_id,
                                          delivery_id=delivery_id, user=current_user)
    except NotFound:
        abort(404)
    except DomainError as error:
        flash(str(error), "danger")
        from erp.models.jobs import WebhookDelivery

        old = db.session.get(WebhookDelivery, delivery_id)
        return redirect_after_post("jobs.endpoint_detail", endpoint_id=old.endpoint_id)
    flash(_('Delivery %(delivery_id)s queued again as %(id)s.', delivery_id=delivery_id, id=delivery.id), "success")
    return redirect_after_post("jobs.endpoint_detail", endpoint_id=delivery.endpoint_id)


# ---------------------------------------------------------------- e-mailing documents

def _email_document(kind: str, document_id: int):
    spec = mail_service.DOCUMENTS[kind]
    try:
        record = mail_service.load_document(kind, current_user.company_id, document_id)
    except NotFound:
        abort(404)
    back = url_for(spec.detail, **{spec.id_arg: record.id})
    form = EmailDocumentForm()
    if request.method == "GET":
        form.to.data = mail_service.default_recipient(kind, record)
    elif form.validate_on_submit():
        try:
            job = mail_service.send_document(
                company_id=current_user.company_id, document_id=record.id, user=current_user,
                kind=kind, to=form.to.data, message=form.message.data or "")
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:  # not to be sent in its state (a draft invoice)
            flash(str(error), "danger")
            return redirect_after_post(spec.detail, **{spec.id_arg: record.id})
        else:
            flash(_('%(number)s is being sent to %(value)s.', number=record.number, value=job.params['to']), "success")
            return redirect_after_post("jobs.job_detail", job_id=job.id)
    return render("jobs/email_form.html", form=form, record=record, cancel=back,
                  status=form_status(form))


def _register_email_forms() -> None:
    """`<document's url>/email` (endpoint `<kind>_email`) for each document of
    erp.services.mail.DOCUMENTS: the form that sends it as a PDF (staff)."""
    for kind, spec in mail_service.DOCUMENTS.items():
        def view(kind=kind, spec=spec, **ids):
            return _email_document(kind, ids[spec.id_arg])

        view.__name__ = f"{kind}_email"
        view.__doc__ = f"Send the {spec.noun} as a PDF to its {spec.party}."
        bp.add_url_rule(f"{spec.url}/email", view.__name__, require_role("staff")(view),
                        methods=["GET", "POST"])


_register_email_forms()


@bp.app_template_global("can_email")
def can_email(kind: str, record) -> bool:
    """Whether the page shows the document's E-mail button (staff, a state it is sent in)."""
    return current_user.has_role("staff") and mail_service.can_send(kind, record)
