"""Companies and users."""
import factory
from werkzeug.security import generate_password_hash

from erp.models import Company, User
from tests.factories.base import Factory, id_of

PASSWORD = "correct horse battery"
# Hashed once with a cheap method: tests log in often (production uses scrypt N=2**16).
_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1000")


class CompanyFactory(Factory):
    class Meta:
        model = Company

    name = factory.Sequence(lambda n: f"Company {n}")


class UserFactory(Factory):
    class Meta:
        model = User

    company = factory.SubFactory(CompanyFactory)
    email = factory.Sequence(lambda n: f"user{n}@example.com")
    name = factory.Sequence(lambda n: f"User {n}")
    role = "staff"
    active = True
    password_hash = _HASH


class CompanyScopedFactory(Factory):
    """Base for business records: pass `company=`; a new company is made when omitted."""

    class Meta:
        abstract = True

    class Params:
        company = factory.SubFactory(CompanyFactory)

    company_id = factory.LazyAttribute(lambda o: id_of(o.company))
