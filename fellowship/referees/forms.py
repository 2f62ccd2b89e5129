"""Forms of the referee pages; errors are shown beside each field."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import EmailField, SelectField, StringField, SubmitField
from wtforms.validators import DataRequired, Email, Length

from fellowship.documents.forms import ACCEPT, file_hint
from fellowship.forms import FellowshipForm
from fellowship.i18n import language_choices
from fellowship.i18n.forms import language_field


class RefereeForm(FellowshipForm):
    name = StringField(_l("Referee's full name"), validators=[DataRequired(), Length(max=200)],
                       render_kw={"autocomplete": "off"})
    email = EmailField(_l("Referee's email"), validators=[DataRequired(), Email(), Length(max=254)],
                       description=_l("We email the referee a link to upload the letter."),
                       render_kw={"autocomplete": "off"})
    relation = StringField(_l("How they know you"), validators=[DataRequired(), Length(max=200)],
                           description=_l("For example: master's thesis supervisor, line manager at your employer."))
    locale = language_field(_l("Language of the referee's emails"),
                            _l("We write to the referee in this language; you can change it later."))
    submit = SubmitField(_l("Add referee and send the invitation"))


class RefereeLanguageForm(FellowshipForm):
    """Change the language a referee is written to in (their reminders come in it)."""

    locale = SelectField(_l("Language of the referee's emails"), choices=language_choices(),
                         validators=[DataRequired()], render_kw={"data-data": ""})
    submit = SubmitField(_l("Change language"))


class LetterForm(FellowshipForm):
    file = FileField(_l("Reference letter"), validators=[FileRequired(_l("Choose the letter to upload."))],
                     description=file_hint(), render_kw={"accept": ACCEPT})
    submit = SubmitField(_l("Upload the letter"))
