"""Interviews: slots staff offer for an interview stage, candidates' bookings (across time zones, with .ics
invitations and reminders), and the panel's scores that feed the interview stage of the final ranking."""

from flask import Blueprint

bp = Blueprint("interviews", __name__)
