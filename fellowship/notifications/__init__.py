"""Notifications: the email outbox, its delivery task and the staff view of it."""

from flask import Blueprint
from flask.blueprints import BlueprintSetupState

bp = Blueprint("notifications", __name__, url_prefix="/staff/outbox")


@bp.record_once
def _check_settings(state: BlueprintSetupState) -> None:
    from fellowship.notifications.services import check_settings

    check_settings(state.app.config)
