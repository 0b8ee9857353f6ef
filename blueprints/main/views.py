from __future__ import annotations

from flask import Blueprint, jsonify, render_template
from sqlalchemy import text

from blueprints.common.auth import admin_page_required
from extensions import db

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
    """Liveness plus a database round trip; also the benchmarks' baseline endpoint."""
    db.session.execute(text("SELECT 1"))
    return jsonify({"status": "ok"})


@bp.get("/ping")
def ping():
    """The trivial endpoint the benchmarks measure as their baseline (no database)."""
    return jsonify({"pong": True})
