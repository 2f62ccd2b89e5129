"""Flask extensions, created unbound and initialised in create_app()."""

from flask import request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect

from fellowship.models import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
limiter = Limiter(key_func=get_remote_address, default_limits=[])


def remote_address_and_email() -> str:
    """Rate-limit key for login: one client hammering one account."""
    email = (request.form.get("email") or "").strip().lower()
    return f"{get_remote_address()}|{email}"
