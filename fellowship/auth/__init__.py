"""Accounts: registration, email confirmation, login, password reset and change, roles."""

from flask import Blueprint

bp = Blueprint("auth", __name__, url_prefix="/auth")

