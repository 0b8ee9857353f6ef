"""Schemathesis fuzzes a running server from its own OpenAPI document, as anonymous, as a user and
as an admin: no 5xx, and every response (status, content type, headers, body) as documented.

Fixed seed and a bounded number of examples per operation, so a run is repeatable and takes
about a minute per caller on two cores. The server is the in-process LiveServer with the demo
content (and PostgreSQL when TEST_DATABASE_URL is set). To fuzz harder by hand, see the README.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.factories import user_with_token

pytestmark = pytest.mark.slow

SCHEMATHESIS = str(Path(sys.executable).with_name("st"))
SEED = 20261202
EXAMPLES_PER_OPERATION = 8
CHECKS = "not_a_server_error,status_code_conformance,content_type_conformance,response_headers_conformance,response_schema_conformance"


@pytest.fixture(scope="module")
def fuzz_target(tmp_path_factory):
    """One seeded server for the three runs (module scope: seeding costs seconds)."""
    from tests.conftest import LiveServer, _close_live, _empty_tables, _prepare_schema, make_app

    app = make_app(tmp_path_factory.mktemp("fuzz"), SERVER_NAME=None, WTF_CSRF_ENABLED=True, RATELIMIT_ENABLED=False)
    _prepare_schema(app)
    assert app.test_cli_runner().invoke(args=["seed"]).exit_code == 0
    tokens = {"anonymous": None, "user": user_with_token(app)[1], "admin": user_with_token(app, admin=True)[1]}
    server = LiveServer(app).start()
    yield server, tokens
    server.stop()
    _close_live(app)
    _empty_tables(app)
    from extensions import db

    with app.app_context():
        db.session.remove()
        db.engine.dispose()


# Admin last: its writes delete and change the demo content the other runs read.
@pytest.mark.parametrize("caller", ["anonymous", "user", "admin"])
def test_fuzz_the_api_from_its_openapi_document(fuzz_target, caller, tmp_path):
    server, tokens = fuzz_target
    command = [
        SCHEMATHESIS, "run", f"{server.url}/api/openapi.json", "--url", server.url,
        "--checks", CHECKS,
        "--phases", "examples,fuzzing",
        "--max-examples", str(EXAMPLES_PER_OPERATION),
        "--seed", str(SEED),
        "--workers", "2",
        "--generation-database", "none",
        "--request-timeout", "30",
        "--no-color",
        "--report", "junit", "--report-dir", str(tmp_path),
    ]
    if tokens[caller]:
        command += ["--header", f"Authorization: {tokens[caller]['Authorization']}"]
    # In tmp_path: schemathesis keeps a cache of failures in its working directory.
    run = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=tmp_path)
    summary = run.stdout[-6000:]
    assert run.returncode == 0, summary
    assert "generated" in summary, summary
