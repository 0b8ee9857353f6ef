"""Each API family answers errors in its own format; pages get an HTML page; never a trace."""
from __future__ import annotations

from flask import Blueprint


def add_failing_routes(app):
    failing = Blueprint("failing", __name__)

    @failing.get("/api/boom")
    @failing.get("/v1/boom")
    @failing.get("/api/statistics/boom")
    @failing.get("/boom")
    def boom():
        raise RuntimeError("secret internals")

    app.register_blueprint(failing)
    app.config["PROPAGATE_EXCEPTIONS"] = False


def test_unknown_paths_per_family(client):
    assert client.get("/api/nothing-here").get_json() == {"message": "Not Found"}
    tracks = client.get("/v1/nothing-here")
    body = tracks.get_json()
    assert tracks.status_code == 404 and body["ok"] is False and body["message"] == "Not found"
    assert body["api_request_id"] == tracks.headers["X-Api-Request-Id"]
    assert client.get("/api/statistics/nothing").get_json() == {"code": 404, "name": "Invalid route", "message": "Endpoint not found."}
    page = client.get("/nothing-here")
    assert page.status_code == 404 and "Page not found" in page.get_data(as_text=True)


def test_unhandled_errors_never_leak(client, app):
    add_failing_routes(app)
    api = client.get("/api/boom")
    assert api.status_code == 500 and api.get_json() == {"message": "Server Error"}
    tracks = client.get("/v1/boom").get_json()
    assert tracks["ok"] is False and tracks["message"] == "Internal server error"
    soundboard = client.get("/api/statistics/boom").get_json()
    assert soundboard == {"code": 500, "name": "Serverside error", "message": "An unexpected error occurred."}
    page = client.get("/boom")
    assert page.status_code == 500
    for response in (api, page):
        assert "secret internals" not in response.get_data(as_text=True)
        assert "Traceback" not in response.get_data(as_text=True)


def test_method_not_allowed_keeps_allow_header(client):
    response = client.delete("/healthz")
    assert response.status_code == 405
    assert "GET" in response.headers["Allow"]


def test_health_and_ping(client):
    health = client.get("/healthz").get_json()
    assert health["status"] == "ok"
    assert {name: check["status"] for name, check in health["checks"].items()} == {
        "database": "ok", "storage": "ok", "redis": "off", "queue": "ok",
    }
    assert all(check["latency_ms"] >= 0 for check in health["checks"].values())
    assert client.get("/ping").get_json() == {"pong": True}
