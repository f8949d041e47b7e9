"""The JSON API's own records: personal API tokens and idempotency keys.

A token is stored as the SHA-256 of its secret (the secret is shown once, at creation);
it acts as its user (company and role) and may be read-only, expire or be revoked.
An idempotency key stores the answer to a POST that created a document or moved stock,
so that a retried request gets the same answer instead of doing it twice.
"""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import AwareDateTime, CompanyScoped, utcnow
from erp.models.core import User


class ApiToken(CompanyScoped, db.Model):
    __tablename__ = "api_tokens"
    __table_args__ = (
        Index("ix_api_tokens_company_id_user_id", "company_id", "user_id"),
        UniqueConstraint("token_hash"),
    )

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    name: Mapped[str] = mapped_column(String(100))
    token_hash: Mapped[str] = mapped_column(String(64))
    prefix: Mapped[str] = mapped_column(String(12))  # the first characters, to recognise it
    read_only: Mapped[bool] = mapped_column(Boolean, default=False)
    expires_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    revoked_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)
    last_used_at: Mapped[datetime | None] = mapped_column(AwareDateTime(), nullable=True)

    user: Mapped[User] = relationship(lazy="joined", innerjoin=True)

    def usable(self, now: datetime | None = None) -> bool:
        now = now or utcnow()
        return (self.revoked_at is None and (self.expires_at is None or self.expires_at > now)
                and self.user.active)

    @property
    def state(self) -> str:
        if self.revoked_at is not None:
            return "revoked"
        if self.expires_at is not None and self.expires_at <= utcnow():
            return "expired"
        return "active"


class IdempotencyKey(CompanyScoped, db.Model):
    __tablename__ = "api_idempotency_keys"
    __table_args__ = (UniqueConstraint("company_id", "user_id", "key"),)

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    key: Mapped[str] = mapped_column(String(200))
    request: Mapped[str] = mapped_column(String(300))  # "POST /api/v1/..." it answered
    status: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(Text)
