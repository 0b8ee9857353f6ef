from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user

from blueprints.accounts import services
from blueprints.accounts.forms import EmptyForm, LoginForm, PasswordForm, RegisterForm, TokenForm
from blueprints.common import rate_limits
from blueprints.common.auth import safe_next_url
from blueprints.common.htmx import render_page
from domain import NotFound, ValidationFailed
from extensions import limiter, login_manager

bp = Blueprint("accounts", __name__)


def failures_per(key_func, scope: str):
    """LOGIN_RATE_LIMIT on the failed (422) POSTs of a form, counted per ``key_func``."""
    return limiter.limit(
        rate_limits.login_limit, key_func=key_func, methods=["POST"], deduct_when=rate_limits.form_refused, scope=scope
    )


@bp.route("/register", methods=["GET", "POST"])
@failures_per(rate_limits.client_address, "address")
def register():
    form = RegisterForm()
    if form.validate_on_submit():
        try:
            user = services.register_user(form.name.data, form.email.data, form.password.data)
        except ValidationFailed as error:
            for field, messages in (error.errors or {}).items():
                getattr(form, field).errors = list(messages)
        else:
            login_user(user)
            flash(f"Welcome, {user.name}!", "success")
            return redirect(url_for("main.index"), code=303)
    status = 422 if form.is_submitted() else 200
    return render_template("accounts/register.html", form=form), status


@bp.route("/login", methods=["GET", "POST"])
@failures_per(rate_limits.client_address, "address")
@failures_per(rate_limits.login_account, "account")
def login():
    form = LoginForm(next=request.args.get("next", ""))
    error = None
    if form.validate_on_submit():
        user = services.authenticate(form.login.data, form.password.data)
        if user is not None:
            services.start_session(user)
            login_user(user)
            return redirect(safe_next_url(form.next.data) or url_for("main.index"), code=303)
        error = "Wrong name, email or password."
    status = 422 if form.is_submitted() else 200
    # Sent here from a page that needs a session: say why (the unauthorized handler adds next=).
    notice = login_manager.login_message if safe_next_url(form.next.data) else None
    return render_template("accounts/login.html", form=form, error=error, notice=notice), status


@bp.post("/logout")
def logout():
    if current_user.is_authenticated:
        services.end_session(current_user.login_session_key)
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("main.index"), code=303)


# Settings take the session only: a bearer token is ignored on pages (blueprints/common/auth.py),
# so a token can never mint another token, change the password or end sessions.


@bp.get("/settings")
@login_required
def settings():
    return _render_settings(TokenForm())


@bp.post("/settings/password")
@login_required
@failures_per(rate_limits.logged_in_account, "account")
@failures_per(rate_limits.client_address, "address")
def change_password():
    form = PasswordForm()
    if form.validate():
        try:
            services.change_password(
                current_user, form.current_password.data, form.new_password.data, keep_session=current_user.login_session_key
            )
        except ValidationFailed as error:
            for field, messages in (error.errors or {}).items():
                getattr(form, field).errors = list(messages)
        else:
            flash("Password changed. Every other session of your account is logged out.", "success")
            return redirect(url_for("accounts.settings"), code=303)
    return _render_settings(TokenForm(formdata=None), status=422, password_form=form, full_page=True)


@bp.post("/settings/logout-everywhere")
@login_required
def logout_everywhere():
    services.end_sessions(current_user)
    logout_user()
    flash("You are logged out everywhere, on this device too.", "info")
    return redirect(url_for("accounts.login"), code=303)


@bp.post("/settings/tokens")
@login_required
def create_token():
    form = TokenForm()
    if not form.validate():
        return _render_settings(form, status=422)
    days = int(form.expires.data) if form.expires.data else None
    issued = services.create_token(current_user, form.label.data, expires_in_days=days)
    return _render_settings(TokenForm(formdata=None), new_token=issued.raw, new_label=issued.token.label)


@bp.post("/settings/tokens/<int:token_id>/revoke")
@login_required
def revoke_token(token_id: int):
    try:
        token = services.revoke_token(current_user, token_id)
    except NotFound:
        flash("That token does not exist or was already revoked.", "error")
    else:
        flash(f"Token “{token.label}” revoked.", "success")
    return redirect(url_for("accounts.settings"), code=303)


def _render_settings(form: TokenForm, status: int = 200, *, password_form: PasswordForm | None = None, full_page: bool = False, **extra):
    context = dict(
        form=form,
        tokens=services.list_tokens(current_user),
        revoke_form=EmptyForm(),
        password_form=password_form or PasswordForm(formdata=None),
        session_count=services.count_sessions(current_user),
        **extra,
    )
    if full_page:
        return render_template("accounts/settings.html", **context), status
    return render_page("accounts/settings.html", "accounts/_tokens.html", status=status, **context)
