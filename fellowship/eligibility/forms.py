"""The staff form to override an application's eligibility."""

from __future__ import annotations

from wtforms import SelectField, SubmitField, TextAreaField
from wtforms.validators import DataRequired, Length

from fellowship.eligibility.services import MAX_REASON_LENGTH
from fellowship.forms import FellowshipForm


class EligibilityOverrideForm(FellowshipForm):
    # The reason is checked by the service (its message shows beside the field), so no validator repeats it here.
    decision = SelectField("Decision", choices=[("", "Choose…"), ("eligible", "Eligible"),
                                                ("ineligible", "Not eligible")],
                           validators=[DataRequired(message="Choose eligible or not eligible.")])
    reason = TextAreaField("Reason", validators=[Length(max=MAX_REASON_LENGTH)],
                           description="Shown to staff beside the decision and kept in the audit log.",
                           render_kw={"rows": 3})
    submit = SubmitField("Record override")
