"""The call's Translations page: staff write each programme text of a call in each language, and see what is missing."""

from __future__ import annotations

from typing import Any

from flask import flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from wtforms import StringField, SubmitField, TextAreaField
from wtforms.validators import Length

from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls import bp
from fellowship.calls.models import Call
from fellowship.calls.translations import TARGET_LOCALES, TextItem, call_texts, missing_translations, save_translations
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.i18n import LANGUAGE_NAMES, LOCALES, text_direction

STAFF = (Role.STAFF, Role.ADMIN)


def translations_form(items: list[TextItem], locale: str) -> FellowshipForm:
    """A form with one field per text of the call, holding its text in `locale`."""

    class TranslationsForm(FellowshipForm):
        submit = SubmitField(_("Save the translations"))

    for item in items:
        kind: Any = TextAreaField if item.multiline else StringField
        setattr(TranslationsForm, item.key, kind(
            item.label, default=item.texts.get(locale, ""), validators=[Length(max=10000)],
            render_kw={"lang": locale, "dir": text_direction(locale)}))
    return TranslationsForm()


@bp.route("/staff/calls/<int:call_id>/translations", methods=["GET", "POST"])
@roles_required(*STAFF)
def call_translations(call_id: int):
    """One language's texts of the call (?lang=fr), and per language the texts still missing."""
    call = db.get_or_404(Call, call_id)
    locale = request.args.get("lang", TARGET_LOCALES[0])
    if locale not in LOCALES:
        locale = TARGET_LOCALES[0]
    items = call_texts(call)
    form = translations_form(items, locale)
    if form.validate_on_submit():
        values = {item.key: form[item.key].data or "" for item in items}
        changed = save_translations(call, locale, values)
        db.session.commit()
        flash(ngettext("%(num)d text saved in %(language)s.", "%(num)d texts saved in %(language)s.", changed,
                       language=LANGUAGE_NAMES[locale]), "success")
        return redirect(url_for("calls.call_translations", call_id=call.id, lang=locale))
    groups: dict[str, list[TextItem]] = {}
    for item in items:
        groups.setdefault(item.group, []).append(item)
    return render_template("calls/translations.html", call=call, form=form, locale=locale, groups=groups,
                           missing=missing_translations(call), locales=LOCALES, target_locales=TARGET_LOCALES)
