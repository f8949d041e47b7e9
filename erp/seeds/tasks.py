"""Demo tasks: a few per demo user, some overdue, some in progress or done."""
from __future__ import annotations

import random
import sys
from datetime import date, timedelta

from sqlalchemy import select

from erp.extensions import db
from erp.models import Company, User
from erp.models.tasks import Todo
from erp.seeds.turkish import words
from erp.services import tasks as task_service

TITLES = [
    "Call back the supplier about the late delivery", "Count the stock in aisle 3",
    "Check the open quotes of last week", "Update the price list for next quarter",
    "Prepare the monthly production report", "Review the quality findings of batch 12",
    "Order packaging material", "Clean up archived products", "Plan the inventory count",
    "Answer the customer's complaint about damaged goods", "Renew the forklift inspection",
    "Confirm the shipping dates with the carrier",
]
PLAN = [  # (days from today or None, priority, final status)
    (-3, "high", "open"), (2, "normal", "in_progress"), (None, "low", "open"), (-10, "normal", "done"),
]


def seed(company: Company, admin: User) -> str | None:
    if db.session.scalar(select(Todo.id).where(Todo.company_id == company.id).limit(1)):
        return None
    rng = random.Random(7)
    users = list(db.session.scalars(select(User).where(User.company_id == company.id,
                                                        User.active.is_(True))
                                    .order_by(User.id)))
    manager = next((u for u in users if u.role == "manager"), admin)
    today = date.today()
    count = 0
    for user in users:
        titles = rng.sample(words(company, sys.modules[__name__]).TITLES, len(PLAN))
        for title, (days, priority, status) in zip(titles, PLAN):
            creator = user if user.has_role("staff") else manager
            task = task_service.create_task(
                company_id=creator.company_id, user=creator, title=title, assignee_id=user.id,
                priority=priority,
                due_date=today + timedelta(days=days) if days is not None else None,
                description="A demo task." if rng.random() < 0.5 else "")
            if status != "open":
                task_service.change_status(company_id=task.company_id, task_id=task.id,
                                           user=creator, status=status)
            count += 1
    return f"{count} tasks"
