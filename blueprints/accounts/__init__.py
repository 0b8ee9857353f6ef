"""Accounts: register, log in and out, settings with API tokens."""
from flask import Flask

from blueprints.accounts import seed  # noqa: F401  (registers the demo accounts step)
from blueprints.accounts.api import api
from blueprints.accounts.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api)
