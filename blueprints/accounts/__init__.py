"""Accounts: register, log in and out, settings with API tokens."""
import email_validator
from flask import Flask

from blueprints.accounts import seed  # noqa: F401  (registers the demo accounts step)
from blueprints.accounts.api import api
from blueprints.accounts.views import bp


def register(app: Flask) -> None:
    # Self-hosted instances live on home networks whose mail domains end in ".local" (mDNS):
    # accept them as email-validator documents (its special-use list), since nothing is mailed.
    if "local" in email_validator.SPECIAL_USE_DOMAIN_NAMES:
        email_validator.SPECIAL_USE_DOMAIN_NAMES.remove("local")
    app.register_blueprint(bp)
    app.register_blueprint(api)
