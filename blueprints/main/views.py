from __future__ import annotations

from flask import Blueprint, current_app, jsonify, render_template

from blueprints.common.auth import admin_page_required
from blueprints.common.errors import RETRY_AFTER_SECONDS
from blueprints.main.health import health_report

bp = Blueprint("main", __name__)


@bp.get("/")
def index():
    return render_template("main/index.html")


@bp.get("/admin")
@admin_page_required
def admin():
    return render_template("main/admin.html")


@bp.get("/healthz")
def health():
    """Each dependency's state (blueprints/main/health.py): 503 when a required one is down."""
    report, status = health_report(current_app._get_current_object())
    response = jsonify(report)
    response.status_code = status
    if status == 503:
        response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    response.headers["Cache-Control"] = "no-store"
    return response


@bp.get("/ping")
def ping():
    """The trivial endpoint the benchmarks measure as their baseline (no database)."""
    return jsonify({"pong": True})
