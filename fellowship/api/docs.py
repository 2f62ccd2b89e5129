"""The readable API documentation at /api/v1/docs: our own server-side page rendered from the OpenAPI document
(no JavaScript, no CDN), linked from the profile's token section."""

from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, render_template

bp = Blueprint("api_pages", __name__, template_folder="templates")


@bp.route("/api/v1/docs")
def docs() -> Any:
    spec = current_app.extensions["fellowship.api"].spec.to_dict()
    return render_template("api/docs.html", spec=spec)
