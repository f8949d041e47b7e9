"""Request and response helpers shared by every blueprint: HTMX-aware rendering,
redirects after POST, list parameters from the query string, and form errors."""
from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlencode

from zoneinfo import ZoneInfo

from flask import (current_app, has_request_context, make_response, redirect, render_template,
                   request, url_for)
from flask_login import current_user
from jinja2 import nodes
from erp.models.core import zone_of
from erp.services import pickers

# The bodies Werkzeug parses into request.form; for any other body the form is empty.
FORM_MIMETYPES = {"application/x-www-form-urlencoded", "multipart/form-data"}


def reject_nul_bytes() -> None:
    """400 for a NUL character in the query string or form: no field ever holds one, and
    PostgreSQL refuses them in text (before_request, so every view is covered)."""
    from flask import abort

    form = request.mimetype in FORM_MIMETYPES  # else no form to build (every GET)
    for values in (request.args, request.form) if form else (request.args,):
        for value in values.values():
            if "\x00" in value:
                abort(400)


def viewer_zone() -> ZoneInfo:
    """The time zone of the logged-in user's company, the one its pages show times in;
    UTC outside a request or logged out."""
    if has_request_context() and current_user.is_authenticated:
        return current_user.company.zone  # joined with the user: no query
    return zone_of(None)


def is_htmx() -> bool:
    """A real htmx swap: not a boosted navigation and not a history restore (full pages)."""
    return (request.headers.get("HX-Request") == "true"
            and request.headers.get("HX-Boosted") != "true"
            and request.headers.get("HX-History-Restore-Request") != "true")


_parents: dict[str, str | None] = {}


def _parent_template(env, name: str) -> str | None:
    """The template that `name` extends (read from its source once per process)."""
    if name not in _parents:
        source = env.loader.get_source(env, name)[0]
        extends = next(iter(env.parse(source).find_all(nodes.Extends)), None)
        _parents[name] = (extends.template.value
                          if extends is not None and isinstance(extends.template, nodes.Const)
                          else None)
    return _parents[name]


def render_block(template_name: str, block: str, **context) -> str:
    """Only `block` of a template, also when the block is defined by a template it extends
    (a list page extends `_list.html` and overrides its rows): the child's blocks override
    the parents' as in a whole render."""
    env = current_app.jinja_env
    chain = [env.get_template(template_name)]
    while block not in chain[-1].blocks:
        parent = _parent_template(env, chain[-1].name)
        if parent is None:
            raise KeyError(f"block {block!r} is not in {template_name} or what it extends")
        chain.append(env.get_template(parent))
    current_app.update_template_context(context)
    ctx = chain[0].new_context(context)
    for template in chain[1:]:
        for name, function in template.blocks.items():
            ctx.blocks.setdefault(name, []).append(function)
    return env.concat(chain[-1].blocks[block](ctx))


def render(template: str, *, block: str | None = None, status: int = 200, **context):
    """The full page; for an htmx request only `block` of the same template, when the
    view names one (a page without a named block is always whole)."""
    if block is not None and is_htmx():
        body = render_block(template, block, **context)
    else:
        body = render_template(template, **context)
    response = make_response(body, status)
    response.vary.add("HX-Request")
    return response




def redirect_after_post(endpoint_or_url: str, **values):
    """303 to the next page; htmx is told with HX-Redirect (it would not follow the 303 page)."""
    url = endpoint_or_url if endpoint_or_url.startswith("/") else url_for(endpoint_or_url, **values)
    if is_htmx():
        response = make_response("", 204)
        response.headers["HX-Redirect"] = url
        return response
    return redirect(url, 303)


def confirmation(question: str, *, url: str, button: str, back: str,
                 style: str = "btn btn-primary", nav: str | None = None):
    """The page asking `question` before the POST to `url` (its `button`), for a browser
    without JavaScript: a button with a question (`post_button(..., confirm=, ask=)`) is a
    GET form to it there, while htmx asks in a dialog and posts."""
    return render("_confirm.html", question=question, url=url, button=button, back=back,
                  style=style, nav=nav)


def form_status(form) -> int:
    """422 when the form has errors (field or form-level; htmx is configured to swap 422),
    else 200: the status of every re-rendered form."""
    return 422 if form.errors else 200


def int_arg(name: str, default: int, *, minimum: int = 1, maximum: int | None = None) -> int:
    """An integer query argument; anything unparsable or out of range falls back or is clamped."""
    try:
        value = int(request.args.get(name, default))
    except (TypeError, ValueError):
        return default
    value = max(minimum, value)
    if maximum is not None:
        value = min(maximum, value)
    return value


@dataclass
class ListParams:
    """What a list page was asked for: search text, filters, sort key, page and size.

    The sort key is taken only from `sort_keys` (a whitelist); `-key` sorts descending.
    """

    q: str = ""
    sort: str = ""
    page: int = 1
    per_page: int = 20
    filters: dict[str, str] = field(default_factory=dict)
    endpoint: str = ""  # the list's own address, for its sort, page and export links
    view_args: dict = field(default_factory=dict)

    @classmethod
    def from_request(cls, *, sort_keys: list[str], default_sort: str,
                     filters: list[str] = (), per_page_default: int = 20,
                     per_page_max: int = 100) -> "ListParams":
        sort = request.args.get("sort", default_sort)
        if sort.lstrip("-") not in sort_keys:
            sort = default_sort
        return cls(
            q=request.args.get("q", "").strip()[:100],
            sort=sort,
            page=int_arg("page", 1, maximum=100_000),
            per_page=int_arg("per_page", per_page_default, maximum=per_page_max),
            filters={name: request.args.get(name, "").strip()[:100] for name in filters},
            endpoint=request.endpoint or "", view_args=dict(request.view_args or {}),
        )

    @property
    def sort_key(self) -> str:
        return self.sort.lstrip("-")

    @property
    def descending(self) -> bool:
        return self.sort.startswith("-")

    def query(self, **changes) -> str:
        """The query string of this list with some values changed (for links)."""
        values = {"q": self.q, "sort": self.sort, "page": self.page, "per_page": self.per_page,
                  **self.filters}
        values.update(changes)
        defaults = {"page": 1, "per_page": 20}
        return urlencode({k: v for k, v in values.items()
                          if v not in ("", None) and defaults.get(k) != v})

    def sort_query(self, key: str) -> str:
        """The query string that sorts by `key`, flipping direction if it is the current key."""
        new = f"-{key}" if self.sort == key else key
        return self.query(sort=new, page=1)

    def url(self, query: str = "") -> str:
        """This list's address with a query string (from `query()` or `sort_query()`). The
        address is built once per list (a page asks for it 7-10 times: the filter form,
        sort headers, pager, export link; #17)."""
        where = (self.endpoint, tuple(self.view_args.items()))
        built = self.__dict__.get("_built")
        if built is None or built[0] != where:
            built = self.__dict__["_built"] = (where, url_for(self.endpoint, **self.view_args))
        base = built[1]
        return f"{base}?{query}" if query else base


def apply_field_errors(form, error) -> None:
    """Put a service's ValidationError messages next to the form's fields (all at once)."""
    for name, messages in error.field_errors.items():
        field = getattr(form, name, None)
        if field is None:
            form.form_errors.extend(messages)
        else:
            field.errors = list(field.errors) + list(messages)
    if not error.field_errors:
        form.form_errors.append(str(error))


LINE_INPUT_MAX = 2000  # the longest per-line input (a delivery line's serial numbers)


def line_inputs(*prefixes: str) -> dict[str, str]:
    """A document form's per-line inputs (`qty-<id>`, `lot-<id>` ...) as sent, truncated."""
    return {key: request.form.get(key, "")[:LINE_INPUT_MAX] for key in request.form
            if key.startswith(prefixes)}


def by_line(inputs: dict[str, str], prefix: str) -> dict[str, str]:
    """{line id text: value} of the inputs named `<prefix><id>`."""
    return {key[len(prefix):]: value for key, value in inputs.items() if key.startswith(prefix)}


def split_line_errors(form, error, inputs: set[str]) -> dict[str, list[str]]:
    """A document form with a quantity input per line (`qty-<id>`, a receipt, a delivery):
    the errors of the lines with an input are returned, to show under it; the others go on
    the form, whose one banner (`form_errors`) counts them all."""
    from erp.services import ValidationError

    line_errors = {k: v for k, v in error.field_errors.items() if k in inputs}
    others = {k: v for k, v in error.field_errors.items() if k not in inputs}
    if others or not line_errors:
        apply_field_errors(form, ValidationError(str(error), others))
    return line_errors


PICKER_OPTIONS = {"stocked", "kind", "active"}


def picker_query() -> str:
    """The text typed into a picker: `q`, or the input's own field (htmx sends it by name)."""
    if "q" in request.args:
        return request.args["q"][:100]
    for name, value in request.args.items():
        if name not in PICKER_OPTIONS:
            return value[:100]
    return ""


def picker_response(model, *columns, hint=None, **search):
    """A picker's suggestions: the company's records matching what was typed (erp/services/
    pickers.py `search`), as `<option value="{picker_label}">{hint(record)}</option>`s for
    its datalist; a fragment for htmx and plain requests alike."""
    records = pickers.search(model, current_user.company_id, picker_query(), columns, **search)
    return render_template("_options.html", records=records, hint=hint or (lambda record: ""))


def submit_form(form, save, done, *, form_errors: tuple = ()):
    """A form's POST: when it validates, `save()` runs and `done(result)` answers (flash and
    redirect); a ValidationError goes next to the fields, an error of `form_errors` (e.g.
    DomainError) above the form; None then: render the form again (`form_status`)."""
    from erp.services import ValidationError

    if not form.validate_on_submit():
        return None
    try:
        result = save()
    except ValidationError as error:
        apply_field_errors(form, error)
    except form_errors as error:
        form.form_errors.append(str(error))
    else:
        return done(result)
    return None
