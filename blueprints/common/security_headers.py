"""Security headers on every response: CSP, nosniff, Referrer-Policy, framing, HSTS in production.

The Content-Security-Policy allows only this site's own files: no inline ``<script>``, ``<style>``,
``style=""`` or ``on...=`` handler runs, so an injected one does nothing. Pages pass URLs and
settings to their scripts in ``data-`` attributes instead. Only the embeddable track player may be
framed, by any site; everything else refuses to be (clickjacking).
"""
from __future__ import annotations

from flask import Flask, Response, request

# 'self' also covers ws:/wss: to this host (the soundboard's WebSocket) in CSP Level 3 browsers.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; media-src 'self'; "
    "connect-src 'self'; font-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'"
)
EMBEDDABLE_ENDPOINTS = frozenset({"tracks.embed"})
# templates/soundboard/* still carry an inline <style> (theme colours), an inline <script> (its
# config) and onchange=; until their owners move them to static files these pages alone allow
# inline code, and links to them load a whole page (a boosted swap would keep the strict policy
# of the page it came from). Empty this set when they are moved.
INLINE_CODE_ENDPOINTS = frozenset(
    {"soundboard.index", "soundboard.board", "soundboard.rankings", "soundboard.statistics", "soundboard.admin", "soundboard.admin_milestones"}
)
INLINE_CODE_POLICY = CONTENT_SECURITY_POLICY.replace("script-src 'self'", "script-src 'self' 'unsafe-inline'").replace(
    "style-src 'self'", "style-src 'self' 'unsafe-inline'"
)
HSTS = "max-age=31536000"  # one year; only sent in production, where TLS terminates in front


def add_security_headers(response: Response, *, production: bool) -> Response:
    embeddable = request.endpoint in EMBEDDABLE_ENDPOINTS
    framing = "frame-ancestors *" if embeddable else "frame-ancestors 'none'"
    policy = INLINE_CODE_POLICY if request.endpoint in INLINE_CODE_ENDPOINTS else CONTENT_SECURITY_POLICY
    response.headers.setdefault("Content-Security-Policy", f"{policy}; {framing}")
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    # Unlisted playlists and signed upload URLs are secrets in the URL: never tell other sites.
    response.headers.setdefault("Referrer-Policy", "same-origin")
    if not embeddable:
        response.headers.setdefault("X-Frame-Options", "DENY")  # for browsers without frame-ancestors
    if production:
        response.headers.setdefault("Strict-Transport-Security", HSTS)
    return response


def register_security_headers(app: Flask) -> None:
    production = app.config.get("APP_ENV") == "production"
    if production:
        # Cookies travel only over HTTPS (the session and Flask-Login's remember-me cookie).
        app.config.update(SESSION_COOKIE_SECURE=True, REMEMBER_COOKIE_SECURE=True, REMEMBER_COOKIE_HTTPONLY=True)

    @app.after_request
    def security_headers(response: Response) -> Response:
        return add_security_headers(response, production=production)
