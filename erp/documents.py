"""One document engine: a document (sales order, purchase order, production order, and
every later one) declares its states and a transitions table, and everyone reads that
table instead of writing status rules of their own:

- the service calls `workflow.begin(document, action, user)` inside its transaction: it
  refuses a role that may not take the step (PermissionDenied) and a state the step does
  not start from (InvalidTransition), and says whether the step still has to run (False
  when the document is already where the step leads: a repeated click is a no-op);
- the view registers one POST route per action (`register_actions`), answered by the
  service function the table names;
- the template shows the buttons `document.allowed_actions(user)` gives;
- `edits` says in which states the document's lines may change, and for which role: the
  service calls `workflow.begin_edit(document, user)`, the line editor (erp/lines.py) asks
  `workflow.edit_role(document)` whether to draw its inputs.

The table lives with the model (`Model.workflow`), so a state's label and colour come
from the same place; `service` names the function in the domain's service module, which
takes `company_id=`, `<id_arg>=` and `user=` like every service.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Callable, ClassVar

from erp.i18n import _, gettext
from erp.services import InvalidTransition, PermissionDenied


def article(words: str) -> str:
    return "an" if words[:1] in ("a", "e", "i", "o", "u") else "a"


@dataclass(frozen=True)
class Action:
    """One row of a transitions table: `name` from `sources` to `target` for `role`."""

    name: str
    sources: tuple[str, ...]
    target: str | None       # None: the state does not change (e.g. a manager's override)
    role: str
    label: str               # the button
    service: str             # the function in the domain's service module
    done: str = ""           # the message after it ran; {number} is the document's number
    confirm: str | None = None  # the question asked first; {number} likewise
    style: str = "btn btn-primary"
    verb: str = ""           # "confirmed", for "only a draft order can be confirmed"
    page: bool = False       # the step has its own form page (GET) at the same endpoint: a link
    replay: bool = True      # False: a repeated step is refused (InvalidTransition), not a no-op
    button: bool = True      # False: the document's page offers the step in a form of its own
    refused: str = ""        # the refusal from another state, when the generated one reads badly
    lots: bool = False       # the step moves tracked stock: its form may name lots per line
                             # (`lot-<line id>`), passed to the service as `lots`
    # why the step is refused whatever the document's own state (None: it is not), e.g. a
    # work order of a production order that is done; the buttons and the service both ask
    guard: Callable[[Any], str | None] | None = None

    def blocked(self, document) -> str | None:
        return self.guard(document) if self.guard is not None else None

    def question(self, document) -> str | None:
        return gettext(self.confirm).format(number=document.number) if self.confirm else None

    def message(self, document) -> str:
        return gettext(self.done).format(number=document.number)


class Workflow:
    """The states of one kind of document and its transitions table."""

    def __init__(self, *, noun: str, states: Mapping[str, str], badges: Mapping[str, str],
                 actions: Sequence[Action], endpoint: str, id_arg: str = "order_id",
                 edits: Mapping[str, str] | None = None) -> None:
        self.noun = noun              # "order", in messages
        self.states = dict(states)    # state -> label
        self.badges = dict(badges)    # state -> Bootstrap colour
        self.actions = {action.name: action for action in actions}
        self.endpoint = endpoint      # "sales.order": the action routes are <endpoint>_<name>
        self.id_arg = id_arg
        self.edits = dict(edits or {})  # state -> the role that may change the lines in it
        for action in actions:
            unknown = set(action.sources) | ({action.target} - {None})
            if not unknown <= set(states):
                raise ValueError(f"{action.name}: unknown states {unknown - set(states)}")
        if not set(self.edits) <= set(states):
            raise ValueError(f"edits: unknown states {set(self.edits) - set(states)}")

    def label(self, state: str) -> str:
        """The state's name in the reader's language."""
        return gettext(self.states[state]) if state in self.states else state

    def allows(self, document, name: str, user=None) -> bool:
        """Whether `user` (anyone, when None) may take step `name` from the document's state."""
        action = self.actions[name]
        return (document.status in action.sources and not action.blocked(document)
                and (user is None or user.has_role(action.role)))

    def allowed(self, document, user) -> list[Action]:
        return [action for action in self.actions.values()
                if document.status in action.sources and user.has_role(action.role)
                and not action.blocked(document)]

    def begin(self, document, name: str, user) -> bool:
        """Check step `name` for `user` (None: the system itself) on the document, locked by
        the caller. True when the step is to run; False when the document already is in
        the step's target state (a replay). Raises PermissionDenied, InvalidTransition (a
        state the step does not start from, or the action's guard refuses)."""
        action = self.actions[name]
        if user is not None and not user.has_role(action.role):
            raise PermissionDenied(_("Only a %(role)s may %(action)s %(number)s.",
                                     role=gettext(action.role), action=gettext(action.label).lower(),
                                     number=document.number))
        if action.replay and action.target is not None and document.status == action.target:
            return False
        if document.status not in action.sources:
            states = _(" or ").join(self.label(state).lower() for state in action.sources)
            refused = gettext(action.refused) if action.refused else _(
                "only %(article)s %(states)s %(noun)s can be %(verb)s", article=article(states),
                states=states, noun=gettext(self.noun),
                verb=gettext(action.verb) if action.verb else gettext(action.label).lower())
            raise InvalidTransition(_("%(number)s is %(state)s: %(refused)s.", number=document.number,
                                      state=self.label(document.status).lower(), refused=refused))
        reason = action.blocked(document)
        if reason:
            raise InvalidTransition(reason)
        return True

    def edit_role(self, document) -> str | None:
        """The role that may change the document's lines in its state (None: nobody)."""
        return self.edits.get(document.status)

    def begin_edit(self, document, user) -> None:
        """Check that `user` (None: the system itself) may change the lines of the document,
        locked by the caller, in its state. Raises InvalidTransition, PermissionDenied."""
        role = self.edit_role(document)
        state = self.label(document.status).lower()
        if role is None:
            labels = [self.label(s).lower() for s in self.edits]
            if not labels:
                raise InvalidTransition(_('The lines of %(number)s cannot be changed.', number=document.number))
            states = _(" or ").join(filter(None, (", ".join(labels[:-1]), labels[-1])))
            raise InvalidTransition(_(
                "%(number)s is %(state)s: only the lines of %(article)s %(states)s %(noun)s can be "
                "changed.", number=document.number, state=state, article=article(states),
                states=states, noun=gettext(self.noun)))
        if user is not None and not user.has_role(role):
            raise PermissionDenied(_(
                "Only a %(role)s may change the lines of %(number)s now that it is %(state)s.",
                role=gettext(role), number=document.number, state=state))

    def url_endpoint(self, action: Action) -> str:
        return f"{self.endpoint}_{action.name}"


class Document:
    """Mixin of a model with a `status` column and a `workflow`."""

    workflow: ClassVar[Workflow]

    @property
    def status_label(self) -> str:
        return self.workflow.label(self.status)

    @property
    def status_badge(self) -> str:
        return self.workflow.badges.get(self.status, "secondary")

    def can(self, name: str, user=None) -> bool:
        """Whether the step `name` starts from the document's state, for `user` (any role
        when None)."""
        return self.workflow.allows(self, name, user)

    def allowed_actions(self, user) -> list[Action]:
        return self.workflow.allowed(self, user)


def register_actions(bp, model, service_module, *, detail: str, names: Sequence[str] = (),
                     url: str = "/orders/<int:order_id>") -> None:
    """One POST route per action of `model.workflow` (or of `names`): `<url>/<name>` named
    `<endpoint>_<name>`, for the action's role; it runs the service and goes back to the
    document's page with its message (or the refusal). An action with a `confirm` question
    also answers GET with that question (the page a browser without JavaScript shows
    before the POST; `ask` in `document_actions`)."""
    from flask import flash, request, url_for
    from flask_login import current_user

    from erp.auth import require_role
    from erp.queries import scoped_get_or_404
    from erp.services import DomainError
    from erp.web import by_line, confirmation, line_inputs, redirect_after_post

    workflow: Workflow = model.workflow
    for action in workflow.actions.values():
        if names and action.name not in names:
            continue

        def view(action: Action = action, **kwargs: Any):
            document = scoped_get_or_404(model, kwargs[workflow.id_arg])
            ids = {workflow.id_arg: document.id}
            if request.method == "GET":
                try:
                    pending = workflow.begin(document, action.name, current_user)
                except DomainError as error:
                    flash(str(error), "warning")
                    pending = False
                if not pending:  # refused, or done already: the document says why
                    return redirect_after_post(detail, **ids)
                return confirmation(action.question(document),
                                    url=url_for(workflow.url_endpoint(action), **ids),
                                    button=gettext(action.label), style=action.style,
                                    back=url_for(detail, **ids), nav=f"{bp.name}/_nav.html")
            extra = {"lots": by_line(line_inputs("lot-"), "lot-")} if action.lots else {}
            try:
                getattr(service_module, action.service)(
                    company_id=current_user.company_id, user=current_user, **ids, **extra)
            except DomainError as error:
                flash(str(error), "danger")
            else:
                flash(action.message(document), "success")
            return redirect_after_post(detail, **ids)

        endpoint = workflow.url_endpoint(action).split(".", 1)[1]
        view.__name__ = view.__qualname__ = endpoint
        methods = ["GET", "POST"] if action.confirm and not action.page else ["POST"]
        bp.add_url_rule(f"{url}/{action.name}", endpoint, require_role(action.role)(view),
                        methods=methods)


def header_form(template: str, form, values, save, *, detail: str, saved, document=None,
                refused: str | None = None):
    """The create (`document` None) or edit view of a document's header, one for every
    document: a document that may not be changed (`refused`, its message) goes back to its
    page; on POST `values(form)` gives the service's keyword arguments (None: its own errors
    are on the form already, so every error shows at once), then `save(**values)` runs; a
    ValidationError goes next to the fields, another refusal (the document changed
    meanwhile) is flashed on the document's page; done, `saved(result)` is flashed and the
    document's page follows. Else the form again (422 with errors)."""
    from flask import flash, request

    from erp.services import DomainError, ValidationError
    from erp.web import apply_field_errors, form_status, redirect_after_post, render

    if document is not None and refused:
        flash(refused, "warning")
        return redirect_after_post(detail, order_id=document.id)
    valid = form.validate_on_submit()
    data = values(form) if request.method == "POST" else None
    if valid and data is not None:
        try:
            result = save(**data)
        except ValidationError as error:
            apply_field_errors(form, error)
        except DomainError as error:
            if document is None:
                raise
            flash(str(error), "danger")
            return redirect_after_post(detail, order_id=document.id)
        else:
            flash(saved(result), "success")
            return redirect_after_post(detail, order_id=(document or result).id)
    return render(template, form=form, order=document, status=form_status(form))
