"""The catalog kept on the context (fellowship.i18n.current_translations) follows every change of language in it."""

from __future__ import annotations

from flask import Flask, render_template_string
from flask_babel import force_locale, gettext, refresh

TEMPLATE = "{{ _('Region') }}|{{ ngettext('%(num)d review', '%(num)d reviews', 2) }}"


def test_template_and_python_messages_follow_force_locale_and_come_back(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "fr"}):
        assert gettext("Region") == "Région"
        page = render_template_string(TEMPLATE)
        assert page.startswith("Région|")
        with force_locale("ja"):  # an email rendered in its recipient's language, inside a French request
            assert gettext("Region") == "地域"
            assert render_template_string(TEMPLATE).startswith("地域|")
        assert gettext("Region") == "Région"
        assert render_template_string(TEMPLATE) == page


def test_messages_follow_nested_languages_and_a_refresh(app: Flask) -> None:
    with app.test_request_context("/", headers={"Accept-Language": "ja"}):
        assert render_template_string(TEMPLATE).startswith("地域|")
        with force_locale("fr"):
            assert render_template_string(TEMPLATE).startswith("Région|")
            with force_locale("en"):
                assert render_template_string(TEMPLATE) == "Region|2 reviews"
            assert gettext("Region") == "Région"
        refresh()  # as after a language switch: the locale is selected again (Japanese, from the header)
        assert render_template_string(TEMPLATE).startswith("地域|")
        assert gettext("Region") == "地域"


def test_messages_outside_a_request_are_english(app: Flask) -> None:
    with app.app_context():
        assert render_template_string(TEMPLATE) == "Region|2 reviews"
