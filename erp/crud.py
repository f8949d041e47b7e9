"""Master data as declarations: one `Resource` registers a record's list, page, create,
edit, archive and delete views on a blueprint, with the same addresses, endpoint names,
roles and messages for every kind of record:

| endpoint            | address                         | role    |
| `<name>_list`       | `/<plural>`                     | viewer  |
| `<name>_create`     | `/<plural>/new`                 | staff (or `edit_role`) |
| `<name>_detail`     | `/<plural>/<name>_id>`          | viewer  |
| `<name>_edit`       | `/<plural>/<name>_id>/edit`     | staff (or `edit_role`) |
| `<name>_deactivate` | `/<plural>/<name>_id>/active`   | manager (POST active=0 archives, 1 restores) |
| `<name>_delete`     | `/<plural>/<name>_id>/delete`   | manager (GET asks, POST deletes) |

What is special about a resource is a hook: `prepare_form` (choices, initial values),
`values` (form -> service values, or None after putting an error on a field),
`detail_context` (what the record's page shows besides the record). The services
keep the rules: `create(company_id=, user=, **values)`, `update(company_id=,
<name>_id=, user=, **values)`, `set_active(company_id=, <name>_id=, active=, user=)`,
`delete(company_id=, <name>_id=, user=)`, each raising `ValidationError` or
`DomainError` for the user to read.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, flash, request, url_for
from flask_login import current_user

from erp.auth import require_role
from erp.csv_io import export_limited
from erp.lists import ListSpec
from erp.queries import scoped_get_or_404
from erp.services import DomainError, ValidationError
from erp.web import apply_field_errors, form_status, redirect_after_post, render
from erp.i18n import _


@dataclass
class Resource:
    """One kind of master record and the views it gets (see the module docstring)."""

    name: str                      # "product": endpoints product_*, URL argument product_id
    plural: str                    # "products": the address /products
    model: Any
    label: str                     # "Product", in messages and the delete page
    form: type
    fields: Sequence[str]          # form fields handed to the service as they are
    templates: str                 # "catalog/product": <t>s.html, <t>_detail.html, <t>_form.html
    nav: str                       # the module's navigation, for the delete page
    list_spec: ListSpec
    create: Callable
    update: Callable
    set_active: Callable | None = None
    delete: Callable | None = None
    in_use: Callable[[int, int], str | None] | None = None  # why it cannot be deleted
    title: Callable[[Any], str] = str  # how a record is named in messages
    prepare_form: Callable[[Any, Any], None] | None = None  # (form, record or None)
    values: Callable[[Any], dict | None] | None = None
    detail_options: Sequence[Any] = ()
    detail_context: Callable[[Any], dict] | None = None
    detail_block: str | None = None  # the block an htmx request of the page gets
    list_context: Callable | None = None
    list_template: str | None = None
    error_names: dict[str, str] = field(default_factory=dict)  # service field -> form field
    edit_role: str = "staff"       # the role of create and edit (settings: "manager")

    @property
    def id_arg(self) -> str:
        return f"{self.name}_id"

    def endpoint(self, view: str) -> str:
        return f"{self.module}.{self.name}_{view}"

    def get(self, record_id: int, *options):
        return scoped_get_or_404(self.model, record_id, *options)

    # the views ------------------------------------------------------------------------

    def list_view(self):
        return self.list_spec.response(self.list_template or f"{self.templates}s.html",
                                       context=self.list_context)

    def detail_view(self, **kwargs):
        record = self.get(kwargs[self.id_arg], *self.detail_options)
        extra = self.detail_context(record) if self.detail_context else {}
        return render(f"{self.templates}_detail.html", block=self.detail_block,
                      **{self.name: record}, **extra)

    def create_view(self):
        return self._form_view(None)

    def edit_view(self, **kwargs):
        return self._form_view(self.get(kwargs[self.id_arg]))

    def _form_view(self, record):
        if record is not None and request.method == "GET":
            form = self.form(obj=record)
        else:
            form = self.form()
        if self.prepare_form is not None:
            self.prepare_form(form, record)
        saved = self._save(form, record)
        if saved is not None:
            title = self.title(saved)
            flash(_("%(label)s %(title)s saved.", label=self.label, title=title) if record
                  else _("%(label)s %(title)s created.", label=self.label, title=title), "success")
            return redirect_after_post(self.endpoint("detail"), **{self.id_arg: saved.id})
        return render(f"{self.templates}_form.html", form=form, **{self.name: record},
                      status=form_status(form))

    def _save(self, form, record):
        if not form.validate_on_submit():
            return None
        values = (self.values(form) if self.values is not None
                  else {name: getattr(form, name).data for name in self.fields})
        if values is None:
            return None
        scope = {"company_id": current_user.company_id, "user": current_user}
        try:
            if record is None:
                return self.create(**scope, **values)
            return self.update(**scope, **{self.id_arg: record.id}, **values)
        except ValidationError as error:
            for old, new in self.error_names.items():
                if old in error.field_errors:
                    error.field_errors[new] = error.field_errors.pop(old)
            apply_field_errors(form, error)
        return None

    def active_view(self, **kwargs):
        """Archive (active=0, the default) or restore (active=1) a record."""
        record = self.get(kwargs[self.id_arg])
        active = request.form.get("active") == "1"
        try:
            self.set_active(company_id=current_user.company_id, user=current_user,
                            active=active, **{self.id_arg: record.id})
        except DomainError as error:
            flash(str(error), "danger")
        else:
            flash(_("%(title)s reactivated.", title=self.title(record)) if active
                  else _("%(title)s archived.", title=self.title(record)), "success")
        return redirect_after_post(self.endpoint("detail"), **{self.id_arg: record.id})

    def delete_view(self, **kwargs):
        record = self.get(kwargs[self.id_arg])
        ids = {self.id_arg: record.id}
        if request.method == "POST":
            try:
                self.delete(company_id=current_user.company_id, user=current_user, **ids)
            except DomainError as error:
                flash(str(error), "danger")
                return redirect_after_post(self.endpoint("detail"), **ids)
            flash(_('%(label)s %(title)s deleted.', label=self.label, title=self.title(record)), "success")
            return redirect_after_post(self.endpoint("list"))
        reason = self.in_use(current_user.company_id, record.id) if self.in_use else None
        return render("_confirm_delete.html", record=record, kind=self.label.lower(),
                      label=self.title(record), reason=reason, nav=self.nav,
                      cancel_url=url_for(self.endpoint("detail"), **ids),
                      delete_url=url_for(self.endpoint("delete"), **ids),
                      deactivate_url=(url_for(self.endpoint("deactivate"), **ids)
                                      if self.set_active else None))

    # registration -----------------------------------------------------------------------

    def register(self, bp: Blueprint) -> "Resource":
        self.module = bp.name
        base, one = f"/{self.plural}", f"/{self.plural}/<int:{self.id_arg}>"
        routes = [("list", base, "viewer", ["GET"], export_limited(self.list_view)),
                  ("create", f"{base}/new", self.edit_role, ["GET", "POST"], self.create_view),
                  ("detail", one, "viewer", ["GET"], self.detail_view),
                  ("edit", f"{one}/edit", self.edit_role, ["GET", "POST"], self.edit_view)]
        if self.set_active is not None:
            routes.append(("deactivate", f"{one}/active", "manager", ["POST"], self.active_view))
        if self.delete is not None:
            routes.append(("delete", f"{one}/delete", "manager", ["GET", "POST"],
                           self.delete_view))
        for view, rule, role, methods, function in routes:
            endpoint = f"{self.name}_{view}"
            bp.add_url_rule(rule, endpoint, _named(require_role(role)(function), endpoint),
                            methods=methods)
        return self


def _named(view, name: str):
    """A bound method as a view function with its own name (Flask keys views by it)."""
    def wrapped(**kwargs):
        return view(**kwargs)
    wrapped.__name__ = wrapped.__qualname__ = name
    wrapped.required_role = getattr(view, "required_role", None)
    return wrapped
