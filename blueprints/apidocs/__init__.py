"""The API's OpenAPI 3.1 document and a page that reads it, built from the code that declares each resource."""
from flask import Flask

from blueprints.apidocs.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
