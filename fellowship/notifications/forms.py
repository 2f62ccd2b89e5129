"""Forms of the staff outbox page: the failed list's filters, which the bulk re-send also takes."""

from __future__ import annotations

from datetime import UTC, datetime, time

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField, StringField
from wtforms.validators import Length, Optional

from fellowship.forms import FellowshipForm
from fellowship.notifications.services import FailedFilter, failed_templates


class FailedFilterForm(FellowshipForm):
    class Meta:
        csrf = False  # read from the query string to filter a list; the re-send's own form carries the CSRF token

    template = SelectField(_l("Kind of email"), validators=[Optional()])
    recipient = StringField(_l("Recipient contains"), validators=[Optional(), Length(max=254)])
    failed_since = DateField(_l("Failed since"), validators=[Optional()],
                             description=_l("From the start of that day (UTC)."))

    def filters(self) -> FailedFilter:
        """The filters as given (call after validate(): an invalid value must not widen a re-send)."""
        since = self.failed_since.data
        return FailedFilter(template=self.template.data or None,
                            recipient=(self.recipient.data or "").strip() or None,
                            failed_since=datetime.combine(since, time.min, tzinfo=UTC) if since else None)

    def args(self) -> dict[str, str]:
        """The filters as query arguments, to carry them to the re-send page and back."""
        values = {"template": self.template.data or "", "recipient": (self.recipient.data or "").strip(),
                  "failed_since": self.failed_since.data.isoformat() if self.failed_since.data else ""}
        return {key: value for key, value in values.items() if value}


def failed_filter_form(formdata: object) -> FailedFilterForm:
    """The filter form read from `formdata` (request.args or request.form), with the kinds of failed email."""
    form = FailedFilterForm(formdata=formdata)
    form.template.choices = [("", _("Any kind")), *((name, name) for name in failed_templates())]
    return form
