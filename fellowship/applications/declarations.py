"""The declarations an applicant makes on the review-and-submit page, before the reference number is issued.

Their wording lives here only: the page shows it beside each checkbox and the application stores, with the time,
exactly the sentences that were ticked (`Application.declarations`, `declared_at`).
"""

from __future__ import annotations

from collections.abc import Collection

from flask_babel import gettext as _

from fellowship.errors import DomainError
from fellowship.words import N_

#: key -> the sentence the applicant ticks, in page order; every one is needed to submit. Messages (English),
#: translated where shown; the application stores them in the language the applicant read them in.
DECLARATIONS: dict[str, str] = {
    "true": N_("The information in this application, its documents and the names of my referees are true and "
               "complete to the best of my knowledge."),
    "privacy": N_("I consent to the programme processing my personal data, and my referees' letters, as described "
                  "in the privacy notice."),
}


class DeclarationsMissing(DomainError):
    """A submit without every declaration: nothing is submitted and no reference number is taken."""


def declarations_record(ticked: Collection[str]) -> str:
    """The declarations' wording as stored on the application (one per line); refuses if one is missing."""
    missing = [key for key in DECLARATIONS if key not in ticked]
    if missing:
        raise DeclarationsMissing(_("Tick every declaration before you submit: %(declarations)s",
                                    declarations=" ".join(_(DECLARATIONS[key]) for key in missing)))
    return "\n".join(_(text) for text in DECLARATIONS.values())
