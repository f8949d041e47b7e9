"""Tasks."""
import factory

from erp.models.tasks import Todo
from tests.factories.core import CompanyScopedFactory


class TodoFactory(CompanyScopedFactory):
    class Meta:
        model = Todo

    title = factory.Sequence(lambda n: f"Task {n}")
    description = ""
    priority = "normal"
    status = "open"
