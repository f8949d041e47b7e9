"""The dashboard."""
from __future__ import annotations

from flask import Blueprint
from flask_login import current_user

from erp.auth import require_role
from erp.web import render

bp = Blueprint("main", __name__)


@bp.route("/")
@require_role("viewer")
def dashboard():
    return render("main/dashboard.html", company=current_user.company)
