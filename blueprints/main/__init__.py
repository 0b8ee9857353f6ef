"""Home page, admin dashboard and health check."""
from flask import Flask

from blueprints.main.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
