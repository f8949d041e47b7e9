"""The base factory: objects go through the app's session and are committed."""
import factory
from sqlalchemy import inspect

from erp.extensions import db


def id_of(record) -> int:
    """The record's id, without the SELECT that reading `.id` of an object expired by the
    last commit costs (every factory commits): from its identity key."""
    state = inspect(record, raiseerr=False)
    if state is not None and state.identity is not None:
        return state.identity[0]
    return record.id  # not a mapped object (e.g. a SimpleNamespace standing for a row)


class Factory(factory.alchemy.SQLAlchemyModelFactory):
    class Meta:
        abstract = True
        sqlalchemy_session_factory = lambda: db.session  # noqa: E731
        sqlalchemy_session_persistence = "commit"
