"""Admin forms: inviting someone to an account."""

from __future__ import annotations

from wtforms import EmailField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from fellowship.auth.models import Role
from fellowship.forms import FellowshipForm


class InviteForm(FellowshipForm):
    full_name = StringField("Full name", validators=[DataRequired(), Length(max=200)],
                            description="As the email should greet them; they can correct it when they accept.")
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    role = RadioField("Role", choices=[
        (Role.REVIEWER.value, "Reviewer: scores the applications assigned to them on a selection panel"),
        (Role.STAFF.value, "Staff: runs programmes, calls, selection, fellows and alumni"),
    ], validators=[DataRequired(message="Choose a role.")])
    submit = SubmitField("Send the invitation")
