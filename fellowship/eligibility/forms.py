"""The staff form to override an application's eligibility."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from fellowship.eligibility.services import MAX_REASON_LENGTH
from fellowship.forms import FellowshipForm


class EligibilityOverrideForm(FellowshipForm):
    # The reason is checked by the service (its message shows beside the field), so no validator repeats it here.
    decision = SelectField(_l("Decision"), choices=[("", _l("Choose…")), ("eligible", _l("Eligible")),
                                                ("ineligible", _l("Not eligible"))],
                           validators=[DataRequired(message=_l("Choose eligible or not eligible."))])
    reason = TextAreaField(_l("Reason"), validators=[Length(max=MAX_REASON_LENGTH)],
                           description=_l("Shown to staff beside the decision and kept in the audit log."),
                           render_kw={"rows": 3})
    submit = SubmitField(_l("Record override"))
