"""The review-and-submit page's declarations (the sections' forms are built from the call's questionnaire:
fellowship.questions.forms)."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SubmitField
from wtforms.validators import DataRequired

from fellowship.applications.declarations import DECLARATIONS
from fellowship.forms import FellowshipForm


class DeclarationForm(FellowshipForm):
    """The declarations on the review-and-submit page; the server refuses a submit without every one ticked."""

    declare_true = BooleanField(_l(DECLARATIONS["true"]), validators=[
        DataRequired(message=_l("Tick this box to declare that your information is true and complete."))])
    consent_privacy = BooleanField(_l(DECLARATIONS["privacy"]), validators=[
        DataRequired(message=_l("Tick this box to consent to the processing described in the privacy notice."))])
    submit = SubmitField(_l("Submit application"))

    #: Form field -> declaration key (applications.declarations.DECLARATIONS).
    KEYS = {"declare_true": "true", "consent_privacy": "privacy"}

    def ticked(self) -> set[str]:
        return {key for name, key in self.KEYS.items() if self[name].data}
