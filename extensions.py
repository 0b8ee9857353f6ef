"""Extension singletons, created unbound and attached in create_app()."""
from flask_compress import Compress
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from blueprints.common import rate_limits
from models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
compress = Compress()
# Storage, on/off and the limits' values come from the app's config (RATELIMIT_*, *_RATE_LIMIT).
limiter = Limiter(
    key_func=rate_limits.client_address,
    application_limits=rate_limits.APPLICATION_LIMITS,
    strategy="fixed-window",
    swallow_errors=True,  # a failing limit storage (Redis down) must not take the site down with it
    key_prefix="themeboard",
)
