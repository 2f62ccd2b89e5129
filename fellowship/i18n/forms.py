"""The language switcher's form (on every page) and the fields other forms use to pick a language."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, SelectField, SubmitField
from wtforms.validators import DataRequired, Optional

from fellowship.forms import FellowshipForm
from fellowship.i18n import language_choices


class LanguageForm(FellowshipForm):
    locale = SelectField(_l("Language"), choices=language_choices(), validators=[DataRequired()])
    #: Where the switcher was used; only a path on this site is followed (fellowship.navigation.safe_local_path).
    next = HiddenField()
    submit = SubmitField(_l("Change language"))


def language_field(label: str | object, description: str | object | None = None) -> SelectField:
    """A select of the interface languages, each named in itself; left out of a post, nothing changes (Optional)."""
    # data-data: each language is named in itself (data, not a message to translate; the pseudo-locale test skips it)
    return SelectField(label, choices=language_choices(), validators=[Optional()], description=description,
                       render_kw={"data-data": ""})
