"""Extension singletons, created unbound and attached in create_app()."""
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from models.base import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
from flask_sock import Sock  # noqa: E402

sock = Sock()  # the soundboard's WebSocket (/ws); routes attach to the soundboard blueprint
