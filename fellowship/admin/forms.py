"""Admin forms: inviting someone to an account."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import EmailField, RadioField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from fellowship.auth.models import Role
from fellowship.forms import FellowshipForm


class InviteForm(FellowshipForm):
    full_name = StringField(_l("Full name"), validators=[DataRequired(), Length(max=200)],
                            description=_l("As the email should greet them; they can correct it when they accept."))
    email = EmailField(_l("Email"), validators=[DataRequired(), Email(), Length(max=254)])
    role = RadioField(_l("Role"), choices=[
        (Role.REVIEWER.value, _l("Reviewer: scores the applications assigned to them on a selection panel")),
        (Role.STAFF.value, _l("Staff: runs programmes, calls, selection, fellows and alumni")),
    ], validators=[DataRequired(message=_l("Choose a role."))])
    submit = SubmitField(_l("Send the invitation"))
