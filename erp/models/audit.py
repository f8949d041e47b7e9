"""The audit trail: who changed which record, when, and how."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from erp.extensions import db
from erp.models.base import AwareDateTime, utcnow
from erp.models.core import User


class AuditEntry(db.Model):
    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_company_time", "company_id", "created_at"),
        Index("ix_audit_entries_company_record", "company_id", "record_type", "record_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    company_id: Mapped[int] = mapped_column(ForeignKey("companies.id", ondelete="CASCADE"))
    # SET NULL keeps the entry when its user is deleted; user_name keeps who it was.
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), index=True, nullable=True
    )
    user_name: Mapped[str] = mapped_column(String(254), default="")
    created_at: Mapped[datetime] = mapped_column(AwareDateTime(), default=utcnow)
    action: Mapped[str] = mapped_column(String(40))  # create, update, delete, confirm, login ...
    record_type: Mapped[str] = mapped_column(String(60))
    record_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    summary: Mapped[str] = mapped_column(String(300), default="")
    changes: Mapped[dict] = mapped_column(JSON, default=dict)  # field -> [old, new]
    ip_address: Mapped[str | None] = mapped_column(String(45), nullable=True)

    user: Mapped[User | None] = relationship()
