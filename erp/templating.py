"""Template globals: navigation, formatting filters, static file fingerprints."""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from datetime import date, datetime, timezone
from decimal import Decimal
from functools import lru_cache
from zoneinfo import ZoneInfo

from flask import Flask, current_app, request
from flask.globals import _cv_request
from markupsafe import Markup, escape

from erp import formatting
from erp.formatting import plural, quantity
from erp.i18n import N_, current_language, gettext, translations
from erp.web import viewer_zone

@dataclass(frozen=True)
class NavLink:
    """A link of the navigation bar, shown to `role` and up; `section` is the endpoint
    prefix of the pages it is current on (its blueprint by default); `args` its URL's;
    `menu` the drop-down it sits in (blank: on the bar itself)."""

    label: str
    endpoint: str
    role: str
    section: str = ""
    args: tuple[tuple[str, str], ...] = ()
    menu: str = ""

    def current(self, endpoint: str) -> bool:
        section = self.section or self.endpoint.split(".")[0] + "."
        return endpoint.startswith(section)


# A module not yet built shows as disabled.
NAVIGATION = [
    NavLink(N_("Dashboard"), "main.dashboard", "viewer"),
    NavLink(N_("Catalog"), "catalog.product_list", "viewer"),
    NavLink(N_("Inventory"), "inventory.stock_list", "viewer"),
    NavLink(N_("Valuation"), "inventory.valuation", "viewer", section="inventory.valuation"),
    NavLink(N_("Sales"), "sales.order_list", "viewer"),
    NavLink(N_("Purchasing"), "purchasing.order_list", "viewer"),
    NavLink(N_("Production"), "production.order_list", "viewer"),
    NavLink(N_("Quality"), "quality.inspection_list", "viewer"),
    NavLink(N_("Tasks"), "tasks.task_list", "viewer"),
    # money: the customer side, the supplier side and their settings, one menu
    NavLink(N_("Invoices"), "money.invoice_list", "viewer", section="money.",
            menu=N_("Money")),
    NavLink(N_("Supplier bills"), "money.bill_list", "viewer", section="money.bill",
            menu=N_("Money")),
    NavLink(N_("Supplier payments"), "money.supplier_payment_list", "viewer",
            section="money.supplier_payment", menu=N_("Money")),
    NavLink(N_("Payables aging"), "money.payables_aging", "viewer",
            section="money.payables", menu=N_("Money")),
    NavLink(N_("Receivables aging"), "money.receivables_aging", "viewer",
            section="money.receivables_aging", menu=N_("Reports")),
    NavLink(N_("Sales analysis"), "money.sales_analysis", "viewer",
            section="money.sales_analysis", menu=N_("Reports")),
    NavLink(N_("Forms"), "forms.form_list", "viewer"),
    # the CSV import of master data and the audit trail: the roles of their routes
    # the set-up and oversight pages: one "Admin" menu, so the bar fits a laptop's screen
    NavLink(N_("Import"), "audit.import_upload", "manager", section="audit.import",
            args=(("kind", "products"),), menu=N_("Admin")),
    NavLink(N_("Users"), "admin.user_list", "admin", section="admin.user", menu=N_("Admin")),
    NavLink(N_("Company settings"), "admin.company_settings", "admin", section="admin.compan",
            menu=N_("Admin")),
    NavLink(N_("Audit trail"), "audit.audit_list", "admin", section="audit.audit_", menu=N_("Admin")),
    NavLink(N_("Background jobs"), "jobs.job_list", "admin", section="jobs.job_", menu=N_("Admin")),
    NavLink(N_("Webhooks"), "jobs.endpoint_list", "admin", section="jobs.endpoint", menu=N_("Admin")),
    NavLink(N_("Monitoring"), "monitoring.dashboard", "install_admin",  # erp.models.core.INSTALL_ADMIN
            section="monitoring.", menu=N_("Admin")),
]


def when(value, zone: ZoneInfo | None = None) -> str:
    """A date, or a datetime in `zone` (by default the viewer's company's zone), in the
    request's language (erp.formatting.day / moment). Datetimes are stored in UTC: a naive
    one is read as UTC."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=timezone.utc)
        return formatting.moment(value.astimezone(zone or viewer_zone()), current_language())
    if isinstance(value, date):
        return formatting.day(value, current_language())
    return str(value)


def money(value, currency: str | None = None) -> str:
    return formatting.money(value, currency, current_language())


def local_quantity(value) -> str:
    return formatting.quantity(value, current_language())


def number(value) -> str:
    return formatting.number(value, current_language())


def month_label(value: str) -> str:
    """"2026-12" as the reader's month (Dec 2026, Ara 2026)."""
    return formatting.month(date.fromisoformat(value + "-01"), current_language())


@lru_cache(maxsize=1)
def _state_labels() -> dict[str, str]:
    """Every document state's label by its stored name (the workflows' dictionaries; a
    name means the same in every document that has it)."""
    from erp.documents import Document
    from erp.extensions import db

    labels: dict[str, str] = {}
    for mapper in db.Model.registry.mappers:
        workflow = getattr(mapper.class_, "workflow", None)
        if isinstance(mapper.class_, type) and issubclass(mapper.class_, Document) and workflow:
            labels.update(workflow.states)
    return labels


def state_label(value) -> str:
    """`partially_received` -> "Partially received" (any document's state); else the value."""
    return gettext(_state_labels().get(value, value)) if isinstance(value, str) else value


QUANTITY_FIELDS = ("quantity", "qty", "on_hand", "reserved")


def change_value(value, field: str = ""):
    """A value of an audit entry's changes as a page shows it: a state's label, a quantity
    without its trailing zeros (the entry keeps "10.000")."""
    if field == "status":
        return state_label(value)
    if isinstance(value, str) and any(name in field for name in QUANTITY_FIELDS):
        try:
            return quantity(Decimal(value))
        except ArithmeticError:
            return value
    return value


@lru_cache(maxsize=512)
def _fingerprint(path: str, mtime: float | None) -> str | None:
    try:
        with open(path, "rb") as handle:
            return hashlib.sha256(handle.read()).hexdigest()[:12]
    except OSError:
        return None


def static_fingerprint(app: Flask, filename: str) -> str | None:
    """A short hash of a static file's content. In debug it follows the file's
    modification time; otherwise it is read once per process (files change only with a
    deploy, which restarts the workers), so building a static URL costs no stat."""
    path = os.path.join(app.static_folder, filename)
    if not app.debug:
        return _fingerprint(path, None)
    try:
        return _fingerprint(path, os.path.getmtime(path))
    except OSError:
        return None


URL_CACHE_SIZE = 4096


def template_url_for(app: Flask):
    """`url_for` for templates, memoised per process: a page builds dozens of URLs (nav,
    sort headers, one or two per row) and the same endpoint and arguments always give
    the same URL for the same script root, host and scheme (part of the key). Relative
    endpoints, unhashable arguments, calls outside a request and debug mode (static
    files change under it) go to Flask's `url_for` as before."""
    build = app.url_for

    @lru_cache(maxsize=URL_CACHE_SIZE)
    def cached(_where: tuple, endpoint: str, items: tuple) -> str:
        return build(endpoint, **{name: value for name, _kind, value in items})

    def url_for(endpoint: str, /, **values) -> str:
        ctx = _cv_request.get(None)
        adapter = ctx.url_adapter if ctx is not None else None
        if adapter is None or endpoint[:1] == "." or app.debug:
            return build(endpoint, **values)
        where = (adapter.script_name, adapter.server_name, adapter.url_scheme,
                 adapter.subdomain)
        # in the caller's order (extra arguments become the query string in that order);
        # the type is part of the key: page=1 and page=True are equal but not the same URL
        items = tuple((name, value.__class__, value) for name, value in values.items())
        try:
            return cached(where, endpoint, items)
        except TypeError:  # an unhashable argument (a list): not memoised
            return build(endpoint, **values)

    url_for.cache_info = cached.cache_info  # type: ignore[attr-defined]
    return url_for


def select_options(options, current) -> Markup:
    """The <option>s of a list filter (`select_filter` in _macros.html) in one call: a
    category filter has hundreds, and each cost the template a loop step, a `|string`, a
    `|translate` and two escapes (#17). The same HTML: each text translated when it is a
    marked text (`|translate`), values and texts escaped, `current` selected."""
    translate = translations().ugettext  # the request's catalog, looked up once
    parts = []
    for value, text in options:
        selected = " selected" if current == str(value) else ""
        shown = translate(text) if text else text
        parts.append(f'<option value="{escape(value)}"{selected}>{escape(shown)}</option>')
    return Markup("\n".join(parts))


KEPT_SIZE = 4096


def kept_fragments(app: Flask):
    """`kept(template, key, **context)`: `template` rendered with `context` once per
    language, script root and `key`, and kept per process, for the parts of the layout
    that depend on nothing else: the same HTML for every request with that key, rendered
    on every page otherwise (the navigation bar's links cost ~0.9 ms of CPU a page, twice
    a hello-world request; the scripts' texts and the style sheets' URLs ~0.2 ms; #17).
    Not kept in debug mode (templates and static files change there)."""
    kept: dict[tuple, Markup] = {}

    def fragment(template: str, key: tuple = (), **context) -> Markup:
        ctx = _cv_request.get(None)
        full_key = (template, current_language(),
                    ctx.url_adapter.script_name if ctx is not None else None, *key)
        html = kept.get(full_key)
        if html is None:
            html = Markup(app.jinja_env.get_template(template).render(**context).strip())
            if ctx is not None and not app.debug and len(kept) < KEPT_SIZE:
                kept[full_key] = html
        return html

    return fragment


def navigation_links(kept):
    """The navigation bar's links (_navigation.html) for the request's user: they depend on
    the language, the page (endpoint) and the role (with the installation admin flag)."""

    def links() -> Markup:
        from flask_login import current_user

        user = current_user._get_current_object()
        endpoint = request.endpoint or ""
        return kept("_navigation.html", (endpoint, user.role, user.is_install_admin),
                    navigation=navigation(current_app), current_endpoint=endpoint,
                    has_role=user.has_role)

    return links


def navigation(app: Flask) -> tuple[tuple[NavLink, bool], ...]:
    """Each link of NAVIGATION with whether its page exists in this app (known once every
    blueprint is registered, which is before the first request)."""
    found = app.extensions.get("erp_navigation")
    if found is None:
        found = app.extensions["erp_navigation"] = tuple(
            (link, link.endpoint in app.view_functions) for link in NAVIGATION)
    return found


FOREVER = "public, max-age=31536000, immutable"


def company_logo() -> str | None:
    """The logged-in user's company logo as a data: URL (printed documents and their PDFs,
    which fetch no URL), or None without one."""
    from flask_login import current_user

    from erp.services.money import logo_data_url

    if not current_user or not current_user.is_authenticated:
        return None
    return logo_data_url(current_user.company_id)


def register(app: Flask) -> None:
    app.jinja_env.filters.update(money=money, quantity=local_quantity, number=number, when=when,
                                 month_label=month_label, plural=plural,
                                 state_label=state_label, change_value=change_value)
    app.jinja_env.globals["url_for"] = template_url_for(app)
    app.jinja_env.globals["company_logo"] = company_logo
    app.jinja_env.globals["select_options"] = select_options

    @app.url_defaults
    def fingerprint_static_urls(endpoint, values):
        """url_for('static', ...) gets ?v=<content hash>: a changed file gets a new URL, so
        browsers may cache every version for good."""
        if endpoint == "static" and "filename" in values and "v" not in values:
            version = static_fingerprint(app, values["filename"])
            if version:
                values["v"] = version

    @app.after_request
    def cache_fingerprinted_static(response):
        if request.endpoint == "static" and request.args.get("v") and response.status_code == 200:
            response.headers["Cache-Control"] = FOREVER
        return response
    app.jinja_env.trim_blocks = True
    app.jinja_env.lstrip_blocks = True
    # The shared macros are globals: a block rendered alone for htmx (erp.web.render_block)
    # runs none of its template's top-level imports, and a list page's blocks use them.
    macros = app.jinja_env.get_template("_macros.html").module
    app.jinja_env.globals.update({name: getattr(macros, name) for name in dir(macros)
                                  if not name.startswith("_")})

    kept = app.jinja_env.globals["kept"] = kept_fragments(app)
    app.jinja_env.globals["navigation_links"] = navigation_links(kept)

    @app.context_processor
    def globals_():
        return {
            "current_endpoint": request.endpoint or "",
            "current_app": current_app,
        }
