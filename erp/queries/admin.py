"""Reads of the user administration: the user list as a declaration."""
from __future__ import annotations

from erp.lists import Csv, ListSpec, archive_filter, attrs, choice_filter, contains
from erp.models import User
from erp.models.core import ROLES

USERS = ListSpec(
    model=User,
    sorts={"email": User.email, "name": User.name, "role": User.role,
           "created": User.created_at},
    default_sort="email",
    search=contains(User.email, User.name),
    # every user by default; `status` active or archived (the older `inactive`)
    filters=[choice_filter("role", User.role, ROLES), archive_filter(User, default="all")],
    csv=Csv("users", [
        *attrs(User, "id", "email", "name", "role", "active", "last_login_at", "created_at")]),
)

USER_STATUSES = [("all", "All users"), ("active", "Active"), ("archived", "Inactive")]
