"""Companies, users, roles, passwords and logging in."""
from __future__ import annotations

from datetime import datetime, timedelta, timezone

from flask import current_app
from sqlalchemy import case, cast, insert, literal, null, select, update
from sqlalchemy.exc import IntegrityError
from werkzeug.security import check_password_hash, generate_password_hash

from erp.collation import same_text
from erp.extensions import db
from erp.i18n import LANGUAGES, _
from erp.models import ROLES, AuditEntry, Company, User
from erp.models.core import COMPANY_TEXT, DEFAULT_TIMEZONE
from erp.models.money import CURRENCIES, PaymentTerms, TaxCode
from erp.services import NotFound, PermissionDenied, ValidationError, atomic
from erp.services import audit, inventory, validation
from erp.services.defaults import choose_default

MIN_PASSWORD_LENGTH = 10
# Failed logins in a row, from any address, before the account-wide lock (a backstop:
# erp.login_throttle slows each address down long before; see authenticate()).
LOCKOUT_THRESHOLD = 50
LOCKOUT_MINUTES = 15


def hash_password(password: str) -> str:
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


def normalize_email(email: str) -> str:
    return (email or "").strip().lower()


def password_problems(password: str) -> list[str]:
    problems = []
    if len(password) < MIN_PASSWORD_LENGTH:
        problems.append(_('Use at least %(MIN_PASSWORD_LENGTH)s characters.', MIN_PASSWORD_LENGTH=MIN_PASSWORD_LENGTH))
    if len(password) > 200:
        problems.append(_("Use at most 200 characters."))
    if password.lower() in COMMON_PASSWORDS:
        problems.append(_("This password is too common."))
    return problems


def create_company(name: str, *, timezone: str = DEFAULT_TIMEZONE) -> Company:
    """Create a company; a blank or taken name, or an unknown time zone, raises
    ValidationError. Commits."""
    name = (name or "").strip()
    if not name or len(name) > 200:
        raise ValidationError(field_errors={"name": ["Give a name of 1 to 200 characters."]})
    errors: dict[str, list[str]] = {}
    timezone = validation.timezone_name(timezone, "timezone", errors)
    taken = _('A company named %(value)s exists.', value=repr(name))
    try:
        with atomic():
            if db.session.scalar(select(Company.id).where(same_text(Company.name, name))):
                validation.add_error(errors, "name", taken)
            if errors:
                raise ValidationError(field_errors=errors)
            company = Company(name=name, timezone=timezone)
            db.session.add(company)
    except IntegrityError:  # the unique name, taken meanwhile (or folded differently)
        raise ValidationError(field_errors={"name": [taken]}) from None
    return company


def update_company(*, company_id: int, user: User | None, name: str, currency: str,
                   timezone: str, default_language: str | None = None, default_warehouse_id: int | None | object = ...,
                   default_tax_code_id: int | None | object = ...,
                   default_payment_terms_id: int | None | object = ...,
                   auto_reorder: bool | None = None, **texts) -> Company:
    """Change the company's settings: its name (unique, 1 to 200 characters), currency (an
    ISO 4217 code of CURRENCIES, or the one it has), time zone (an IANA name: dates and
    times are shown in it, new documents are dated with its today), the seller's data on
    its documents (`COMPANY_TEXT`: legal name, address, tax number, bank details, invoice
    footer; left out: unchanged), its default warehouse, tax code and payment terms
    (None for none, left out: unchanged) and whether the nightly reorder job drafts its
    purchase orders (`auto_reorder`; None: unchanged). Every field problem is raised at once
    (ValidationError); NotFound for an unknown company. Audited. Commits."""
    errors: dict[str, list[str]] = {}
    values = {"name": validation.text(name, "name", errors, max_length=200, required=True,
                                      missing=_("Enter the company's name.")),
              "currency": (currency or "").strip().upper(),
              "timezone": validation.timezone_name(timezone, "timezone", errors)}
    if default_language is not None:  # left out: unchanged
        values["default_language"] = language_code(default_language, "default_language",
                                                   errors, required=True)
    values.update(validation.clean_texts(
        texts, {key: spec for key, spec in COMPANY_TEXT.items() if key in texts}, errors))
    if auto_reorder is not None:
        values["auto_reorder"] = bool(auto_reorder)
    with atomic():
        company = db.session.get(Company, company_id)
        if company is None:
            raise NotFound(_("No such company."))
        if values["currency"] not in CURRENCIES and values["currency"] != company.currency:
            validation.add_error(errors, "currency", _("Choose a currency from the list."))
        if values["name"] and db.session.scalar(select(Company.id).where(
                same_text(Company.name, values["name"]), Company.id != company_id)):
            validation.add_error(errors, "name", _("Another company has this name."))
        changes = {}
        if default_warehouse_id is not ...:
            changes = inventory.choose_default_warehouse(company_id, default_warehouse_id,
                                                         errors)
        if default_tax_code_id is not ...:
            changes |= choose_default(TaxCode, company_id, default_tax_code_id, errors,
                                      field="default_tax_code_id",
                                      message=_("Choose an active tax code of this company."))
        if default_payment_terms_id is not ...:
            changes |= choose_default(PaymentTerms, company_id, default_payment_terms_id,
                                      errors, field="default_payment_terms_id",
                                      message=_("Choose active payment terms of this company."))
        if errors:
            raise ValidationError(field_errors=errors)
        changes.update(audit.diff(company, values))
        if changes:
            audit.record(company_id=company.id, user=user, action="update",
                         record_type="Company", record_id=company.id, changes=changes,
                         summary="Company settings")
    return company


def create_company_with_admin(*, name: str, timezone: str, currency: str, admin_email: str,
                              admin_password: str, admin_name: str = "",
                              user: User) -> tuple[Company, User]:
    """A new company (a tenant) and its first admin, both or neither: every problem of
    either is raised at once (ValidationError; the admin's fields as `admin_email`,
    `admin_password`, `admin_name`). The new company shares nothing with the creator's: the
    creator's company records the creation in its audit trail. Commits."""
    errors: dict[str, list[str]] = {}
    currency = (currency or "").strip().upper()
    if currency not in CURRENCIES:
        validation.add_error(errors, "currency", _("Choose a currency from the list."))
    for field, messages in user_problems(admin_email, admin_password, "admin",
                                         admin_name).items():
        errors.setdefault(f"admin_{field}", []).extend(messages)
    with atomic():
        try:
            company = create_company(name, timezone=timezone)
        except ValidationError as error:
            for field, messages in error.field_errors.items():
                errors.setdefault(field, []).extend(messages)
            company = None
        if errors:
            raise ValidationError(field_errors=errors)
        company.currency = currency
        admin = create_user(company=company, email=admin_email, password=admin_password,
                            role="admin", name=admin_name, actor=None)
        audit.record(company_id=user.company_id, user=user, action="create",
                     record_type="Company", record_id=company.id,
                     summary=f"Created company {company.name} with admin {admin.email}")
    return company, admin


def user_problems(email: str, password: str, role: str, name: str = "", *,
                  check_password: bool = True) -> dict[str, list[str]]:
    """What is wrong with a new user's fields (field -> messages), e.g. a taken email."""
    email = normalize_email(email)
    errors: dict[str, list[str]] = {}
    if not email or "@" not in email or len(email) > 254:
        errors["email"] = ["Enter a valid email address."]
    elif db.session.scalar(select(User.id).where(User.email == email)):
        errors["email"] = ["A user with this email exists."]
    if role not in ROLES:
        errors["role"] = [f"Role must be one of: {', '.join(ROLES)}."]
    if check_password:
        if problems := password_problems(password or ""):
            errors["password"] = problems
    elif not password:
        errors["password"] = ["Enter a password."]
    if len(name or "") > 200:
        errors["name"] = ["Use at most 200 characters."]
    return errors


def create_user(*, company: Company, email: str, password: str, role: str, name: str = "",
                actor: User | None = None, check_password: bool = True) -> User:
    """Create a user in `company`. All field problems are raised at once. Commits.

    `check_password=False` is for the demo seed only (its password is the short 'admin').
    """
    email = normalize_email(email)
    errors = user_problems(email, password, role, name, check_password=check_password)
    if errors:
        raise ValidationError(field_errors=errors)
    with atomic():
        user = User(company_id=company.id, email=email, name=(name or "").strip(),
                    password_hash=hash_password(password), role=role, active=True)
        db.session.add(user)
        db.session.flush()
        audit.record(company_id=company.id, user=actor, action="create", record_type="User",
                     record_id=user.id, summary=f"User {email} ({role})")
    return user


def set_install_admin(email: str, granted: bool = True) -> User:
    """Make an admin an installation administrator (system-wide pages), or stop it.

    For the shell only (`flask set-install-admin`, `create-user --install-admin`,
    `seed-demo`): no page can grant it, so no company's admin can give it to themselves.
    Only an admin can hold it. Audited in the user's company. Commits.
    """
    with atomic():
        user = db.session.scalar(select(User).where(User.email == normalize_email(email)))
        if user is None:
            raise NotFound(_('No user with the email %(value)s.', value=repr(email)))
        if granted and user.role != "admin":
            raise ValidationError(field_errors={"role": [
                f"{user.email} is a {user.role}: only an admin can be an installation "
                "administrator."]})
        changes = audit.diff(user, {"is_superuser": granted})
        if changes:
            audit.record(company_id=user.company_id, user=None, action="update",
                         record_type="User", record_id=user.id, changes=changes,
                         summary=f"Installation administrator: {'yes' if granted else 'no'} "
                                 f"({user.email})")
    return user


def get_user(user_id: int, *, company_id: int) -> User:
    user = db.session.scalar(select(User).where(User.id == user_id, User.company_id == company_id))
    if user is None:
        raise NotFound(_("No such user."))
    return user


def change_role(user_id: int, role: str, *, actor: User) -> User:
    """Give a user of the actor's company another role; admins cannot demote themselves."""
    if role not in ROLES:
        raise ValidationError(field_errors={"role": [f"Role must be one of: {', '.join(ROLES)}."]})
    with atomic():
        user = get_user(user_id, company_id=actor.company_id)
        if user.id == actor.id and role != user.role:
            raise PermissionDenied(_("You cannot change your own role."))
        changes = audit.diff(user, {"role": role})
        if changes:
            audit.record(company_id=user.company_id, user=actor, action="update",
                         record_type="User", record_id=user.id, changes=changes,
                         summary=f"Role of {user.email}")
    return user


def set_active(user_id: int, active: bool, *, actor: User) -> User:
    """Deactivate or reactivate a user (never yourself). A deactivated user is logged out."""
    with atomic():
        user = get_user(user_id, company_id=actor.company_id)
        if user.id == actor.id:
            raise PermissionDenied(_("You cannot deactivate yourself."))
        changes = audit.diff(user, {"active": active})
        if changes:
            user.session_version += 1
            audit.record(company_id=user.company_id, user=actor,
                         action="activate" if active else "deactivate",
                         record_type="User", record_id=user.id, changes=changes,
                         summary=user.email)
    return user


def authenticate(email: str, password: str, *, ip_address: str | None = None,
                 known_client: bool = False) -> User | None:
    """Check a login. Returns the user, or None for any failure (one generic answer).

    Every failure costs the same and runs the same statements, whatever the cause (no
    such account, inactive, locked, wrong password): one password hash (of a dummy when
    there is no usable account), one UPDATE of the account's counters and one INSERT ...
    SELECT of its audit entry (both match no row for an unknown e-mail). So neither the
    answer, nor its time, nor its statements tell which accounts exist.

    The account-wide lock is a backstop against guessing from very many addresses (one
    address is slowed down long before by erp.login_throttle): after LOCKOUT_THRESHOLD
    failures in a row the account is locked for LOCKOUT_MINUTES, except for addresses it
    logged in from lately (`known_client`), so that its owner is not locked out. When the
    lock expires, the count starts again from zero. Commits.
    """
    email = normalize_email(email)
    now = datetime.now(timezone.utc)
    with atomic():
        user = db.session.scalar(select(User).where(User.email == email))
        locked = user is not None and user.locked_until is not None and user.locked_until > now
        expired = user is not None and user.locked_until is not None and not locked
        usable = user is not None and user.active and (not locked or known_client)
        if usable:
            ok = check_password_hash(user.password_hash, password or "")
        else:  # the same cost as checking a real hash
            generate_password_hash(password or "",
                                   method=current_app.config["PASSWORD_HASH_METHOD"])
            ok = False
        if ok:
            user.failed_logins = 0
            user.locked_until = None
            user.last_login_at = now
            audit.record(company_id=user.company_id, user=user, action="login",
                         record_type="User", record_id=user.id, summary="Logged in",
                         ip_address=ip_address)
            return user
        _record_failure(user, now=now, locked=locked, expired=expired, ip_address=ip_address)
    return None


def _record_failure(user: User | None, *, now: datetime, locked: bool, expired: bool,
                    ip_address: str | None) -> None:
    """Count a failed login and audit it: two statements, also for an unknown e-mail."""
    user_id, company_id = (user.id, user.company_id) if user is not None else (0, 0)
    failures = case((literal(expired), 1), else_=User.failed_logins + 1)  # atomic
    db.session.execute(
        update(User).where(User.id == user_id, User.company_id == company_id)
        .values(failed_logins=failures,
                locked_until=case((literal(locked), User.locked_until),
                                  (failures >= LOCKOUT_THRESHOLD,
                                   literal(now + timedelta(minutes=LOCKOUT_MINUTES),
                                           User.locked_until.type)),
                                  (literal(expired), null()),
                                  else_=User.locked_until))
        .execution_options(synchronize_session=False))
    summary = "Account locked" if locked else "Wrong password or inactive"
    columns = ("company_id", "user_id", "user_name", "created_at", "action", "record_type",
               "record_id", "summary", "changes", "ip_address")
    db.session.execute(insert(AuditEntry).from_select(columns, select(
        User.company_id, User.id, User.email, literal(now, AuditEntry.created_at.type),
        literal("login_failed"), literal("User"), User.id, literal(summary),
        cast(literal({}, AuditEntry.changes.type), AuditEntry.changes.type),
        literal(ip_address, AuditEntry.ip_address.type)).where(User.id == user_id)))


def logout(user: User) -> None:
    """End every session of the user: the session version in the old cookies no longer matches."""
    with atomic():
        db.session.execute(
            update(User).where(User.id == user.id)
            .values(session_version=User.session_version + 1)
            .execution_options(synchronize_session=False)
        )


def unlock(user_id: int, *, actor: User) -> User:
    with atomic():
        user = get_user(user_id, company_id=actor.company_id)
        user.failed_logins = 0
        user.locked_until = None
        audit.record(company_id=user.company_id, user=actor, action="unlock",
                     record_type="User", record_id=user.id, summary=user.email)
    return user


# The most common passwords of at least ten characters (from public breach corpora),
# lower case; a full list is not worth a dependency for this check.
COMMON_PASSWORDS = frozenset("""
1234567890 0123456789 12345678910 1q2w3e4r5t 1qaz2wsx3edc qwertyuiop password1 password12
password123 password1234 passw0rd123 iloveyou12 qwerty1234 qwerty12345 abcdefghij 1111111111
0000000000 9876543210 abc1234567 football12 baseball12 princess12 superman12 letmein123
welcome123 welcome1234 administrator admin12345 admin123456 changeme123 trustno1234
starwars12 q1w2e3r4t5 zaq12wsxcde sunshine12 123qweasdzxc qazwsxedcrfv monkey1234 dragon1234
michael123 computer12 internet12 123456789a a123456789 1234567890a 987654321a 11111111111
1234512345 1122334455 5555555555 7777777777 8888888888 asdfghjkl1 asdfghjkl123 zxcvbnm123
""".split())


def language_code(value, field: str, errors: dict, *, required: bool = False) -> str | None:
    """A language we have a catalog for (erp.i18n.LANGUAGES); blank is None unless required."""
    value = (value or "").strip()
    if not value and not required:
        return None
    if value not in LANGUAGES:
        validation.add_error(errors, field, _("Choose a language from the list."))
    return value


def set_language(user: User, language: str | None) -> User:
    """A user chooses the language of their pages (blank: their company's). Commits."""
    errors: dict[str, list[str]] = {}
    language = language_code(language, "language", errors)
    if errors:
        raise ValidationError(field_errors=errors)
    with atomic():
        user = db.session.get(User, user.id)
        if changes := audit.diff(user, {"language": language}):
            audit.record(company_id=user.company_id, user=user, action="update",
                         record_type="User", record_id=user.id, changes=changes,
                         summary="Changed own language")
    return user


def change_password(user: User, current_password: str, new_password: str) -> User:
    """A user changes their own password. Ends every other session of the user. Commits."""
    errors: dict[str, list[str]] = {}
    if not check_password_hash(user.password_hash, current_password or ""):
        errors["current_password"] = ["This is not your current password."]
    if problems := password_problems(new_password or ""):
        errors["new_password"] = problems
    elif new_password == current_password:
        errors["new_password"] = ["Choose a password different from the current one."]
    if errors:
        raise ValidationError(field_errors=errors)
    with atomic():
        user = db.session.get(User, user.id)
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        audit.record(company_id=user.company_id, user=user, action="password_change",
                     record_type="User", record_id=user.id, summary="Changed own password")
    return user


def reset_password(user_id: int, new_password: str, *, actor: User) -> User:
    """An admin sets a new password for a user of their company; their sessions end. Commits."""
    if problems := password_problems(new_password or ""):
        raise ValidationError(field_errors={"password": problems})
    with atomic():
        user = get_user(user_id, company_id=actor.company_id)
        user.password_hash = hash_password(new_password)
        user.session_version += 1
        user.failed_logins = 0
        user.locked_until = None
        audit.record(company_id=user.company_id, user=actor, action="password_reset",
                     record_type="User", record_id=user.id, summary=user.email)
    return user
