"""Notifications: the email outbox, its delivery task and the staff view of it."""

from flask import Blueprint

bp = Blueprint("notifications", __name__, url_prefix="/staff/outbox")

