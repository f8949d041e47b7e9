"""Tasks: a to-do item of a company, with an assignee, a due date, a priority and a status.

A task whose due date has passed and that is not done is overdue (`Todo.is_overdue`).
Deleting a user keeps their tasks (assignee and creator become NULL).
"""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.i18n import N_
from erp.models.base import AwareDateTime, CompanyScoped, choice_label, in_check
from erp.models.core import User

TASK_PRIORITIES = {"low": N_("Low"), "normal": N_("Normal"), "high": N_("High")}
TASK_STATUSES = {"open": N_("Open"), "in_progress": N_("In progress"), "done": N_("Done")}
# Sorting by priority means high first: the rank is stored, not the label's alphabet.
PRIORITY_RANK = {"low": 1, "normal": 2, "high": 3}


STATUS_BADGES = {"done": "success", "in_progress": "primary"}


class Todo(CompanyScoped, db.Model):
    __tablename__ = "todos"
    __table_args__ = (
        Index("ix_todos_company_assignee_status", "company_id", "assignee_id", "status"),
        Index("ix_todos_company_status_due", "company_id", "status", "due_date"),
        in_check("priority", TASK_PRIORITIES),
        in_check("status", TASK_STATUSES),
    )

    title: Mapped[str] = mapped_column(String(200))
    description: Mapped[str] = mapped_column(Text, default="")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True)
    due_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    priority: Mapped[str] = mapped_column(String(10), default="normal")
    status: Mapped[str] = mapped_column(String(20), default="open")
    completed_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    assignee: Mapped[User | None] = relationship(foreign_keys=[assignee_id])
    created_by: Mapped[User | None] = relationship(foreign_keys=[created_by_id])

    @property
    def is_overdue(self) -> bool:
        return (self.status != "done" and self.due_date is not None
                and self.due_date < date.today())

    status_label = choice_label("status", TASK_STATUSES)

    @property
    def is_done(self) -> bool:
        return self.status == "done"

    @property
    def status_badge(self) -> str:
        return STATUS_BADGES.get(self.status, "secondary")

    priority_label = choice_label("priority", TASK_PRIORITIES)

    def __str__(self) -> str:
        return self.title

    def __repr__(self) -> str:
        return f"<Todo {self.id} {self.title!r} {self.status}>"
