"""The soundboard: sounds, clicks, live counters, statistics, milestones, admin upload."""
from flask import Flask

from blueprints.soundboard import seed  # noqa: F401  (registers the demo sounds step)
from blueprints.soundboard.api import api
from blueprints.soundboard.live_views import bp as live_bp
from blueprints.soundboard.services import make_todays_statistics_at_startup
from blueprints.soundboard.views import bp


def register(app: Flask) -> None:
    app.register_blueprint(bp)
    app.register_blueprint(api)
    app.register_blueprint(live_bp)
    # As the original: today's statistics row exists from start-up, clicked or not.
    make_todays_statistics_at_startup(app)
