"""Line editors as declarations: one `LineEditor` per document with lines (a sales order, a
purchase order, a bill of materials) says how to load the document, its add and edit
forms, its three services, its page and the ids of its markup; `add`, `update` and
`remove` do the rest the same way for every document, and `respond` answers after a line
change:

- htmx: the page's lines block, the out-of-band parts (`oob`, e.g. totals) and the
  message out of band (`_flash_oob.html`), with `Vary: HX-Request`;
- plain form posts: a flash and a redirect to the document, or the page again with 422
  and the errors next to the fields; a removal asks first (`ask_remove`, the GET of its
  URL: the Remove button is a GET form there, htmx asks in a dialog and posts).

The services are called with keywords: `company_id=`, `user=`, the document id
(`doc_key`), the line id (`line_key`, for a change or a removal) and the form's values
(the picker's value becomes `pick.key`). The rows are drawn with the macros of
`_lines.html`.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from flask import abort, flash, make_response, render_template, request, url_for
from flask_login import current_user

from erp.extensions import db
from erp.queries import scoped_get_or_404
from erp.services import DomainError, NotFound, ValidationError
from erp.services.catalog import find_product
from erp.web import (apply_field_errors, confirmation, is_htmx, redirect_after_post, render,
                     render_block)
from erp.i18n import _


@dataclass(frozen=True)
class Pick:
    """The add form's product picker: its field, the service argument its product id
    becomes, and the error when nothing matches (None: the service names the error)."""

    field: str
    key: str
    missing: str | None = None


@dataclass(frozen=True)
class LineEditor:
    model: type                      # the document (scoped to the company)
    line_model: type                 # its lines; `doc_key` is their column of the document
    doc_name: str                    # the document's name in the templates ("order")
    doc_key: str                     # its id in the URLs and services ("order_id")
    line_key: str                    # a line's id in the URLs and services ("line_id")
    detail: str                      # endpoint of the document's page
    endpoints: tuple[str, str, str]  # add, update, remove
    template: str                    # the document's page, with the lines `block`
    load: Callable[[int], Any]       # the document with what its page shows
    add_form: type
    edit_form: type
    add: Callable[..., Any]          # services
    update: Callable[..., Any]
    remove: Callable[..., Any]
    pick: Pick
    section: str                     # id of the lines section, "{id}" is the document's
    row_prefix: str = "line-"        # a row is `<row_prefix><line id>`
    context: Callable[[Any], dict] = field(default=lambda doc: {})
    editable: Callable[[Any], bool] = field(default=lambda doc: True)
    # the role that may change the lines in the document's state (None: nobody), e.g. a
    # document's `workflow.edit_role`; the services enforce the same rule
    role: Callable[[Any], str | None] = field(default=lambda doc: "staff")
    nested: bool = True              # the line URLs carry the document id
    block: str = "lines"
    oob: tuple[str, ...] = ()        # templates sent out of band beside the lines
    added: Callable[[Any], str] = field(default=lambda line: "Line added.")
    saved: str = "Line saved."
    removed: str = "Line removed."
    save_label: str = "Save"
    not_added: str | None = None
    not_saved: str = "Not changed: {errors}"

    # --- for the templates ------------------------------------------------------------

    def can_edit(self, doc, user) -> bool:
        role = self.role(doc) if self.editable(doc) else None
        return role is not None and user.has_role(role)

    def section_id(self, doc) -> str:
        return self.section.format(id=doc.id)

    def url(self, action: str, doc, line=None) -> str:
        endpoint = self.endpoints[("add", "update", "remove").index(action)]
        values = {} if line is not None and not self.nested else {self.doc_key: doc.id}
        if line is not None:
            values[self.line_key] = line.id
        return url_for(endpoint, **values)

    def page_context(self, doc, *, add_form=None, line_errors=None, line_values=None) -> dict:
        return {self.doc_name: doc, "editor": self,
                "add_form": add_form or self.add_form(formdata=None),
                "line_errors": line_errors or {}, "line_values": line_values or {},
                **self.context(doc)}

    # --- the three changes ------------------------------------------------------------

    def add_line(self, doc_id: int):
        doc_id = scoped_get_or_404(self.model, doc_id).id
        form = self.add_form()
        values = self._values(form) if form.validate_on_submit() else None
        if values is not None:
            try:
                line = self.add(**self._keys(doc_id), **values)
            except ValidationError as error:
                apply_field_errors(form, error)
            except DomainError as error:
                return self.respond(doc_id, status=409, message=str(error), category="danger")
            else:
                return self.respond(doc_id, message=self.added(line))
        return self.respond(doc_id, status=422, add_form=form, message=self.not_added,
                            category="danger")

    def update_line(self, doc_id: int | None, line_id: int):
        doc_id = self._line_parent(doc_id, line_id)
        form = self.edit_form()
        values = self._values(form) if form.validate_on_submit() else None
        if values is not None:
            try:
                self.update(**self._keys(doc_id, line_id), **values)
            except NotFound:
                abort(404)
            except ValidationError as error:
                apply_field_errors(form, error)
            except DomainError as error:
                return self.respond(doc_id, status=409, message=str(error), category="danger")
            else:
                return self.respond(doc_id, message=self.saved)
        errors = {name: list(messages) for name, messages in form.errors.items()}
        general = errors.pop(None, [])  # a message for no field: shown on the first
        if general:
            errors.setdefault(self._fields(form)[0], []).extend(general)
        text = "; ".join(str(message) for messages in errors.values() for message in messages)
        submitted = {name: request.form.get(name, "")[:50] for name in self._fields(form)}
        return self.respond(doc_id, status=422, line_errors={line_id: errors},
                            line_values={line_id: submitted},
                            message=self.not_saved.format(errors=text), category="danger")

    def remove_line(self, doc_id: int | None, line_id: int):
        if doc_id is None:
            doc_id = self._line_parent(None, line_id)
        else:  # a line already gone is the service's to judge (a replayed removal)
            doc_id = scoped_get_or_404(self.model, doc_id).id
        try:
            self.remove(**self._keys(doc_id, line_id))
        except NotFound:
            abort(404)
        except DomainError as error:
            return self.respond(doc_id, status=409, message=str(error), category="danger")
        return self.respond(doc_id, message=self.removed)

    def remove_view(self, doc_id: int | None, line_id: int):
        """The remove URL: its GET asks first (`ask_remove`), its POST removes."""
        if request.method == "GET":
            return self.ask_remove(doc_id, line_id)
        return self.remove_line(doc_id, line_id)

    def ask_remove(self, doc_id: int | None, line_id: int):
        """The question before a removal, for a browser without JavaScript (the GET of the
        remove URL; with JavaScript htmx asks): "Remove the line <its product> from <the
        document>?", or back to the document when its lines may no longer change."""
        doc_id = self._line_parent(doc_id, line_id)
        doc = scoped_get_or_404(self.model, doc_id)
        back = url_for(self.detail, **{self.doc_key: doc_id})
        if not self.can_edit(doc, current_user):
            flash(_('The lines of %(doc)s can no longer be changed.', doc=doc), "warning")
            return redirect_after_post(back)
        line = scoped_get_or_404(self.line_model, line_id)
        item = getattr(line, "component", None) or getattr(line, "product", None)
        return confirmation(_('Remove the line %(value)s from %(doc)s?', value=item or line_id, doc=doc),
                            url=self.url("remove", doc, line), button=_("Remove"),
                            style="btn btn-danger", back=back)

    # --- the answer -------------------------------------------------------------------

    def respond(self, doc_id: int, *, status: int = 200, message: str | None = None,
                category: str = "success", **state):
        """After a line change: the lines block with the message out of band (htmx); a
        flash and a redirect (plain), or the page again with the errors (plain, 422)."""
        if not is_htmx() and status != 422:
            if message:
                flash(message, category)
            return redirect_after_post(self.detail, **{self.doc_key: doc_id})
        db.session.rollback()  # end the write transaction; read the document as committed
        context = self.page_context(self.load(doc_id), **state)
        if not is_htmx():
            if message:
                flash(message, category)
            return render(self.template, status=status, **context)
        body = render_block(self.template, self.block, **context)
        body += "".join(render_template(name, oob=True, **context) for name in self.oob)
        body += render_template("_flash_oob.html", message=message, category=category)
        response = make_response(body, status)
        response.vary.add("HX-Request")
        return response

    # --- helpers ----------------------------------------------------------------------

    def _line_parent(self, doc_id: int | None, line_id: int) -> int:
        """The document id of a line of this company (and of `doc_id` when given), or 404."""
        line = scoped_get_or_404(self.line_model, line_id)
        parent = getattr(line, self.doc_key)
        if doc_id is not None and parent != doc_id:
            abort(404)
        return parent

    def _keys(self, doc_id: int, line_id: int | None = None) -> dict:
        keys = {"company_id": current_user.company_id,
                "user": current_user._get_current_object(), self.doc_key: doc_id}
        if line_id is not None:
            keys[self.line_key] = line_id
        return keys

    @staticmethod
    def _fields(form) -> list[str]:
        return [name for name in form._fields if name != "csrf_token"]

    def _values(self, form) -> dict | None:
        """The form's values for the service; None when the picker matches nothing."""
        values = {name: form[name].data for name in self._fields(form) if name != self.pick.field}
        if self.pick.field in form:
            product = find_product(current_user.company_id, form[self.pick.field].data)
            if product is None and self.pick.missing:
                form[self.pick.field].errors = [self.pick.missing]
                return None
            values[self.pick.key] = product.id if product else None
        return values


def register_line_routes(bp, editor: LineEditor, *, url: str, line_url: str,
                         remove: str = "remove") -> None:
    """The three POST routes (staff) of `editor.endpoints`: add at `url`, update at
    `line_url`, remove at `line_url/<remove>` (whose GET asks first: `remove_view`)."""
    from erp.auth import require_role

    def add(**kwargs):
        return editor.add_line(kwargs[editor.doc_key])

    def update(**kwargs):
        return editor.update_line(kwargs.get(editor.doc_key), kwargs[editor.line_key])

    def delete(**kwargs):
        return editor.remove_view(kwargs.get(editor.doc_key), kwargs[editor.line_key])

    rules = (url, line_url, f"{line_url}/{remove}")
    methods = (["POST"], ["POST"], ["GET", "POST"])
    for rule, endpoint, view, allowed in zip(rules, editor.endpoints, (add, update, delete),
                                             methods):
        name = endpoint.split(".", 1)[1]
        view.__name__ = view.__qualname__ = name
        bp.add_url_rule(rule, name, require_role("staff")(view), methods=allowed)
