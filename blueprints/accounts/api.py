"""`GET /api/me`: who the token (or session) belongs to, AnimeThemes-style."""
from __future__ import annotations

from flask import Blueprint, jsonify
from flask_login import current_user

from blueprints.common.auth import api_login_required
from models.base import isoformat
from models.user import User

api = Blueprint("accounts_api", __name__)


def user_json(user: User) -> dict:
    return {
        "id": user.id,
        "name": user.name,
        "email": user.email,
        "role": user.role.value,
        "created_at": isoformat(user.created_at),
        "updated_at": isoformat(user.updated_at),
    }


@api.get("/api/me")
@api_login_required
def me():
    return jsonify({"user": user_json(current_user)})
