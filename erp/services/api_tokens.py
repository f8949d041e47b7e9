"""Personal API tokens and idempotency keys (the JSON API's own rules).

A token's secret is `erp_` + 40 random characters; only its SHA-256 is stored, so the
secret is shown once. Looking a secret up is one indexed query on its hash (a hash of a
high-entropy random secret needs no slow password hash).
"""
from __future__ import annotations

import hashlib
import secrets
from datetime import date, datetime, time, timedelta

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from erp.i18n import _
from erp.extensions import db
from erp.models.api import ApiToken, IdempotencyKey
from erp.models.base import utcnow
from erp.models.core import User, company_today
from erp.services import NotFound, ValidationError, atomic, audit

PREFIX = "erp_"
NAME_MAX = 100
MAX_TOKENS_PER_USER = 50
IDEMPOTENCY_KEY_MAX = 200
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often


def hash_secret(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


MAX_LIFETIME = timedelta(days=3653)  # a later date is a typo (and 9999-12-31 overflows)


def create_token(*, company_id: int, user: User, name: str, read_only: bool = False,
                 expires_on: date | None = None) -> tuple[ApiToken, str]:
    """A new token of `user` named `name`, optionally read-only and expiring at the end of
    `expires_on` (UTC). Returns the token and its secret (shown once, never stored).
    Raises ValidationError. Commits."""
    errors: dict[str, list[str]] = {}
    name = (name or "").strip()
    if not name:
        errors["name"] = ["Give the token a name, e.g. the program that uses it."]
    elif len(name) > NAME_MAX:
        errors["name"] = [f"At most {NAME_MAX} characters."]
    if expires_on is not None and expires_on <= company_today(company_id):
        errors["expires_on"] = ["The expiry date must be in the future."]
    elif expires_on is not None and expires_on > company_today(company_id) + MAX_LIFETIME:
        errors["expires_on"] = ["At most ten years ahead (leave it empty for no expiry)."]
    with atomic():
        count = len(db.session.scalars(select(ApiToken.id).where(
            ApiToken.company_id == company_id, ApiToken.user_id == user.id,
            ApiToken.revoked_at.is_(None))).all())
        if count >= MAX_TOKENS_PER_USER:
            errors.setdefault("name", []).append(
                _('You have %(MAX_TOKENS_PER_USER)s tokens: revoke one you no longer use first.', MAX_TOKENS_PER_USER=MAX_TOKENS_PER_USER))
        if errors:
            raise ValidationError(field_errors=errors)
        secret = PREFIX + secrets.token_urlsafe(30)
        expires_at = (datetime.combine(expires_on + timedelta(days=1), time.min,
                                       user.company.zone) if expires_on else None)
        token = ApiToken(company_id=company_id, user_id=user.id, name=name,
                         token_hash=hash_secret(secret), prefix=secret[:10],
                         read_only=bool(read_only), expires_at=expires_at)
        db.session.add(token)
        db.session.flush()
        audit.record(company_id=company_id, user=user, action="create", record_type="ApiToken",
                     record_id=token.id, summary=f"API token {name} created"
                     + (" (read-only)" if read_only else ""))
    return token, secret


def revoke_token(*, company_id: int, token_id: int, user: User) -> ApiToken:
    """Revoke one of `user`'s own tokens (a repeated revoke is a no-op). Raises NotFound
    for a token of someone else. Commits."""
    with atomic():
        token = db.session.scalar(select(ApiToken).where(
            ApiToken.id == token_id, ApiToken.company_id == company_id,
            ApiToken.user_id == user.id))
        if token is None:
            raise NotFound(_("No such token."))
        if token.revoked_at is None:
            token.revoked_at = utcnow()
            audit.record(company_id=company_id, user=user, action="update",
                         record_type="ApiToken", record_id=token.id,
                         summary=f"API token {token.name} revoked")
    return token


def user_tokens(company_id: int, user_id: int, limit: int = MAX_TOKENS_PER_USER * 2) -> list[ApiToken]:
    return list(db.session.scalars(select(ApiToken).where(
        ApiToken.company_id == company_id, ApiToken.user_id == user_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.id.desc()).limit(limit)))


def authenticate(secret: str) -> ApiToken | None:
    """The usable token (not revoked, not expired, active user) with this secret, else None.
    Notes when it was last used (at most once a minute: no write on every request)."""
    if not secret.startswith(PREFIX) or len(secret) > 100:
        return None
    token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == hash_secret(secret)))
    now = utcnow()
    if token is None or not token.usable(now):
        return None
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        db.session.execute(update(ApiToken).where(ApiToken.id == token.id)
                           .values(last_used_at=now))
        db.session.commit()
    return token


# --- idempotency keys -------------------------------------------------------------------

def stored_answer(*, company_id: int, user_id: int, key: str) -> IdempotencyKey | None:
    return db.session.scalar(select(IdempotencyKey).where(
        IdempotencyKey.company_id == company_id, IdempotencyKey.user_id == user_id,
        IdempotencyKey.key == key))


def store_answer(*, company_id: int, user_id: int, key: str, request: str, status: int,
                 body: str) -> bool:
    """Keep the answer to the request made with `key`; False when a concurrent request
    with the same key stored one first. Commits."""
    try:
        with atomic():
            db.session.add(IdempotencyKey(company_id=company_id, user_id=user_id, key=key,
                                          request=request[:300], status=status, body=body))
    except IntegrityError:
        return False
    return True
