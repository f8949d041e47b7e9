"""Business operations. One function per use case; no Flask request, forms or templates here.

Every public service runs inside `atomic()`: one transaction per use case, committed by
the outermost call only, rolled back on any error, so nothing is ever half-written.

One calling convention: keyword-only arguments, the company first (`company_id=`), then
the record's id (`order_id=`, `task_id=`...), then the acting user (`user=`), then the
values. The view passes the company; a service never derives it from the user.

One rule for roles: a view declares the role its route needs (`require_role`), and the
service does not repeat it. A service checks a role only where the rule is about the
record: who owns a task (erp/services/tasks.py `can_edit`), which step a document's
transitions table allows in its state (erp/documents.py `Workflow.begin`), that an admin
does not demote or deactivate themselves (erp/services/users.py); it raises
PermissionDenied then.

Picker text ('Name [#id]') is searched and resolved in erp/services/pickers.py; form
values are checked with the helpers of erp/services/validation.py.
"""
from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from erp.database import begin_write
from erp.extensions import db


class DomainError(Exception):
    """A business rule refused the operation; `str(error)` is a message for the user."""


class ValidationError(DomainError):
    """Bad input. `field_errors` maps a form field name to its messages."""

    def __init__(self, message: str = "Please correct the errors below.",
                 field_errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(message)
        self.field_errors = field_errors or {}


class NotFound(DomainError):
    """The record does not exist in the acting user's company."""


class PermissionDenied(DomainError):
    """The acting user may not do this."""


class InvalidTransition(DomainError):
    """The document is not in a state that allows this step."""


@contextmanager
def atomic() -> Iterator:
    """Run a use case in one transaction: commit at the outermost level, roll back on error.

    Nested calls only flush, so a service may call another and still be all or nothing.
    """
    session = db.session()  # the real Session behind the scoped proxy
    depth = session.info.get("atomic_depth", 0)
    if depth == 0:
        begin_write(session)
    session.info["atomic_depth"] = depth + 1
    try:
        yield session
        if depth == 0:
            session.commit()
        else:
            session.flush()
    except BaseException:
        if depth == 0:
            session.rollback()
        raise
    finally:
        session.info["atomic_depth"] = depth
