"""The API's webhook endpoints (issue #21), an admin's as on the webhooks pages
(/admin/webhooks): list, register (the secret is answered once), change, pause, resume,
archive; an endpoint's delivery log and the replay of one delivery. The rules (the address
rule against server-side request forgery, at most MAX_ENDPOINTS, replay only to an active
endpoint) are erp/services/webhooks.py's."""
from __future__ import annotations

from dataclasses import replace

from flask.views import MethodView
from flask_login import current_user
from marshmallow import fields, validate

from erp.api import schemas as s
from erp.api.views import (_json, bp, guarded, idempotent, idempotent_post, method_roles,
                           page_body)
from erp.auth import require_role
from erp.models.jobs import DELIVERY_STATUSES, WebhookDelivery, WebhookEndpoint
from erp.queries import company_select
from erp.queries.jobs import DELIVERIES, ENDPOINTS
from erp.services import webhooks as webhook_service

ROLE = "admin"  # every webhook operation, as the pages
EVENT_NAMES = list(webhook_service.EVENTS)


class WebhookEndpointOut(s.Base):
    id = fields.Integer()
    url = fields.String()
    description = fields.String()
    events = fields.List(fields.String(metadata={"enum": EVENT_NAMES}))
    state = fields.String(metadata={"enum": ["active", "paused", "archived"], "description":
                                    "paused: by an admin, or after failing "
                                    "WEBHOOK_PAUSE_AFTER attempts in a row."})
    failures = fields.Integer(metadata={"description": "Failed attempts in a row."})
    paused_at = fields.DateTime(allow_none=True)
    created_at = fields.DateTime()


class WebhookEndpointCreated(WebhookEndpointOut):
    secret = fields.String(metadata={
        "description": "The signing secret (HMAC-SHA256 of `<t>.<body>`, header "
                       "X-ERP-Signature: t=<unix time>,v1=<hex>): answered only here."})


class WebhookEndpointIn(s.Base):
    url = fields.String(required=True, validate=validate.Length(max=500), metadata={
        "description": "http(s)://... of a public address (not loopback, private or "
                       "link-local, unless the installation allows it)."})
    events = fields.List(fields.String(validate=validate.OneOf(EVENT_NAMES)), required=True,
                         validate=validate.Length(max=len(EVENT_NAMES) * 2))
    description = fields.String(validate=validate.Length(max=200))


WebhookEndpointPatch = type("WebhookEndpointPatch", (WebhookEndpointIn,), {})


class WebhookDeliveryOut(s.Base):
    id = fields.Integer()
    endpoint_id = fields.Integer()
    event = fields.String()
    status = fields.String(metadata={"enum": list(DELIVERY_STATUSES)})
    attempts = fields.Integer()
    response_status = fields.Integer(allow_none=True, metadata={
        "description": "The HTTP status the endpoint answered (null: no answer)."})
    response_ms = fields.Integer(allow_none=True, metadata={
        "description": "How long the last attempt took, in milliseconds."})
    error = fields.String()
    created_at = fields.DateTime()
    next_attempt_at = fields.DateTime(allow_none=True)
    delivered_at = fields.DateTime(allow_none=True)
    body = fields.String(metadata={"description": "The JSON sent (what is signed)."})


def _endpoint(record_id: int) -> WebhookEndpoint:
    return webhook_service.get_endpoint(company_id=current_user.company_id,
                                        endpoint_id=record_id)


def _ids() -> dict:
    return {"company_id": current_user.company_id, "user": current_user}


@bp.route("/webhooks", methods=["GET"])
@bp.arguments(s.list_query_schema("WebhookEndpoint", ENDPOINTS), location="query")
@bp.response(200, s.page_schema(WebhookEndpointOut))
@require_role(ROLE)
def webhook_list(_args):
    """The company's webhook endpoints (archived ones included), by URL."""
    return page_body(ENDPOINTS)


@idempotent_post("/webhooks", ROLE, WebhookEndpointIn, WebhookEndpointCreated)
def webhook_create(data: dict):
    """Register an endpoint for some events; the answer holds its signing `secret`, which
    no other answer shows. An address that is not a public http(s) one is a 422 on `url`."""
    def run():
        endpoint = webhook_service.create_endpoint(**_ids(), url=data["url"],
                                                   events=data["events"],
                                                   description=data.get("description", ""))
        return 201, WebhookEndpointCreated().dump(endpoint)
    return idempotent(run)


def webhook_get(self, record_id: int):
    """One endpoint (without its secret)."""
    return _endpoint(record_id)


def webhook_patch(self, data: dict, record_id: int):
    """Change an endpoint's `url`, `events` or `description` (the rest stays; the same
    address rule as on registering). Its secret and state stay."""
    endpoint = _endpoint(record_id)
    values = {"url": endpoint.url, "events": list(endpoint.events or []),
              "description": endpoint.description} | data
    endpoint = webhook_service.update_endpoint(**_ids(), endpoint_id=record_id, **values)
    return _json(WebhookEndpointOut().dump(endpoint), 200)


def webhook_delete(self, record_id: int):
    """Archive an endpoint (the page's archive): it gets no more events; its delivery log
    is kept and it stays readable with `state` archived. POST .../resume brings it back."""
    webhook_service.set_endpoint_state(**_ids(), endpoint_id=record_id, state="archived")
    return "", 204


WebhookRecord = type("WebhookRecord", (MethodView,), {
    "get": require_role(ROLE)(bp.response(200, WebhookEndpointOut)(webhook_get)),
    "patch": guarded(ROLE, WebhookEndpoint)(bp.arguments(WebhookEndpointPatch(partial=True))(
        bp.response(200, WebhookEndpointOut)(webhook_patch))),
    "delete": guarded(ROLE, WebhookEndpoint)(bp.response(204)(webhook_delete))})
WebhookRecord.decorators = [method_roles({"GET": ROLE, "PATCH": ROLE, "DELETE": ROLE})]
bp.route("/webhooks/<int:record_id>", endpoint="webhook_detail")(WebhookRecord)


def state_route(action: str, state: str, doc: str) -> None:
    def view(record_id: int):
        endpoint = webhook_service.set_endpoint_state(**_ids(), endpoint_id=record_id,
                                                      state=state)
        return _json(WebhookEndpointOut().dump(endpoint), 200)

    view.__name__, view.__doc__ = f"webhook_{action}", doc
    bp.route(f"/webhooks/<int:record_id>/{action}", methods=["POST"])(
        guarded(ROLE, WebhookEndpoint)(bp.response(200, WebhookEndpointOut)(view)))


state_route("pause", "paused", "Pause an endpoint: its events wait no more; nothing is "
                               "sent to it until it is resumed.")
state_route("resume", "active", "Resume a paused (or archived) endpoint; its failures in a "
                                "row are forgotten.")


@bp.route("/webhooks/<int:record_id>/deliveries", methods=["GET"])
@bp.arguments(s.list_query_schema("WebhookDelivery", DELIVERIES), location="query")
@bp.response(200, s.page_schema(WebhookDeliveryOut))
@require_role(ROLE)
def webhook_deliveries(_args, record_id: int):
    """An endpoint's delivery log, newest first (filter `status`): each delivery's status,
    attempts, the endpoint's answer and how long it took."""
    endpoint = _endpoint(record_id)
    return page_body(replace(DELIVERIES, base=lambda: company_select(WebhookDelivery).where(
        WebhookDelivery.endpoint_id == endpoint.id)))


@idempotent_post("/webhook-deliveries/<int:record_id>/replay", ROLE, None, WebhookDeliveryOut,
                 WebhookDelivery)
def webhook_replay(record_id: int):
    """Send a logged delivery again, as a new delivery of the same body (queued: 201 with
    it); 409 when its endpoint is paused or archived."""
    def run():
        delivery = webhook_service.replay(**_ids(), delivery_id=record_id)
        return 201, WebhookDeliveryOut().dump(delivery)
    return idempotent(run)
