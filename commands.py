"""The flask CLI: users, tokens, demo content and the background worker."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app
from flask.cli import AppGroup, with_appcontext

from blueprints.accounts import services as accounts
from demo.seed import ordered_steps
from domain import DomainError

users_cli = AppGroup("users", help="Manage user accounts and API tokens.")


def _fail(error: DomainError) -> None:
    details = "; ".join(m for messages in (error.errors or {}).values() for m in messages)
    click.echo(f"Error: {details or error.message}", err=True)
    sys.exit(1)


@users_cli.command("create")
@click.argument("name")
@click.option("--email", required=True)
@click.option("--password", required=True, help="At least 8 characters.")
@click.option("--admin", is_flag=True, help="Give the user the admin role.")
def create_user_command(name: str, email: str, password: str, admin: bool) -> None:
    """Create a user NAME."""
    try:
        user = accounts.create_user(name, email, password, admin=admin)
    except DomainError as error:
        _fail(error)
    click.echo(f"Created {user.role.value} {user.name} <{user.email}>.")


@users_cli.command("token")
@click.argument("name")
@click.option("--label", default="cli", show_default=True)
@click.option("--expires-days", type=click.IntRange(min=1), default=None, help="Expire after this many days.")
def create_token_command(name: str, label: str, expires_days: int | None) -> None:
    """Create an API token for user NAME; the token alone is printed on the last line."""
    try:
        user = accounts.find_user(name)
        issued = accounts.create_token(user, label, expires_in_days=expires_days)
    except DomainError as error:
        _fail(error)
    click.echo(f"API token '{issued.token.label}' for {user.name} (shown once):")
    click.echo(issued.raw)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load the demo content (idempotent: a second run adds nothing)."""
    steps = ordered_steps()
    totals = {step.name: step.count() for step in steps}
    notes: list[str] = []
    with click.progressbar(length=sum(totals.values()) or 1, label="Loading demo content", file=sys.stderr) as bar:
        for step in steps:
            notes.extend(step.run(bar.update))
    for note in notes:
        click.echo(note)


@click.command("worker")
@click.option("--burst", is_flag=True, help="Exit once the queue is empty instead of waiting for more jobs.")
@with_appcontext
def worker_command(burst: bool) -> None:
    """Run background jobs (track processing) from the Redis queue (REDIS_URL, JOBS_QUEUE).

    Start as many as needed, on any machine that reaches the database, Redis and the storage;
    SIGTERM lets the current job finish. Each worker also sweeps for tracks left processing.
    """
    import jobs
    from blueprints.tracks import processing

    app = current_app._get_current_object()
    if not app.config.get("REDIS_URL"):
        click.echo("Error: REDIS_URL is not set; without it background jobs run inside the web processes.", err=True)
        sys.exit(1)
    if burst:
        processing.sweep(app)  # once, then drain the queue: a cron-style run
    else:
        processing.start_sweeper(app)
    jobs.run_worker(app, burst=burst)


def register_commands(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(seed_command)
    app.cli.add_command(worker_command)
