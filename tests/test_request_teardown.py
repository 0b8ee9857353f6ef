"""A database connection that dies after a request's answer is made (found by `make stress`: the
PostgreSQL proxy closed the held connections when the database came back) must not turn that
answer into gunicorn's bare 500 page: the request's teardown discards the dead connection."""
from __future__ import annotations

import pytest
from flask import request
from sqlalchemy.engine import make_url

from config import database_engine_options, normalise_database_url
from extensions import db
from tests.conftest import TEST_DATABASE_URL, _empty_tables, _prepare_schema, make_app
from tests.fault_proxy import FaultProxy


@pytest.fixture()
def app_through_proxy(tmp_path):
    if not TEST_DATABASE_URL:
        pytest.skip("a connection cut under a request needs PostgreSQL (TEST_DATABASE_URL)")
    url = make_url(normalise_database_url(TEST_DATABASE_URL))
    with FaultProxy(url.host or "127.0.0.1", url.port or 5432) as proxy:
        through = url.set(host="127.0.0.1", port=proxy.port).render_as_string(hide_password=False)
        app = make_app(tmp_path, SQLALCHEMY_DATABASE_URI=through, SQLALCHEMY_ENGINE_OPTIONS=database_engine_options(through))

        @app.after_request
        def cut_when_asked(response):
            # The network dies here: after the view answered, before the request's session ends.
            if request.headers.get("X-Test-Cut"):
                proxy.cut()
            return response

        _prepare_schema(app)
        yield app, proxy
        proxy.mode = "pass"
        _empty_tables(app)
        with app.app_context():
            db.session.remove()
            db.engine.dispose()


@pytest.mark.parametrize("path", ["/api/anime", "/audio", "/api/counter"])
def test_a_connection_lost_after_the_answer_keeps_the_answer(app_through_proxy, path):
    app, proxy = app_through_proxy
    client = app.test_client()
    assert client.get(path).status_code == 200  # the pool holds a connection through the proxy

    answered = client.get(path, headers={"X-Test-Cut": "1"})

    assert answered.status_code == 200, answered.get_data(as_text=True)[:300]
    proxy.mode = "pass"
    assert client.get(path).status_code == 200  # the dead connection was discarded, a new one opened
    with app.app_context():
        assert db.engine.pool.checkedout() == 0  # and nothing was left checked out of the pool
