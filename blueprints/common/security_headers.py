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
HSTS = "max-age=31536000"  # one year; only sent in production, where TLS terminates in front


def add_security_headers(response: Response, *, production: bool) -> Response:
    embeddable = request.endpoint in EMBEDDABLE_ENDPOINTS
    framing = "frame-ancestors *" if embeddable else "frame-ancestors 'none'"
    response.headers.setdefault("Content-Security-Policy", f"{CONTENT_SECURITY_POLICY}; {framing}")
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
