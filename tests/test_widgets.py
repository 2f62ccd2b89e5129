"""QuickSelect renders exactly wtforms' Select markup (escaping, selection, attributes), only faster."""

from __future__ import annotations

import pytest
from werkzeug.datastructures import MultiDict
from wtforms import Form, SelectField

from fellowship.geo import country_choices
from fellowship.widgets import QuickSelect

CHOICES = [("", "Any"), ('a&b"', "A & <b>"), ("x", "X"), ("<script>", "<script>alert(1)</script>")]


class Plain(Form):
    choice = SelectField("Choice", choices=CHOICES)


class Quick(Form):
    choice = SelectField("Choice", choices=CHOICES, widget=QuickSelect())


@pytest.mark.parametrize("data", [{}, {"choice": "x"}, {"choice": 'a&b"'}, {"choice": "<script>"}, {"choice": "no"}])
def test_quick_select_renders_the_same_markup_as_wtforms(data):
    plain, quick = Plain(MultiDict(data)), Quick(MultiDict(data))
    attrs = {"aria-describedby": "choice-error", "aria-invalid": "true"}
    assert str(quick.choice()) == str(plain.choice())
    assert str(quick.choice(**attrs)) == str(plain.choice(**attrs))
    assert "<script>" not in str(quick.choice())


def test_quick_select_renders_a_changed_long_list_and_its_selection():
    plain, quick = Plain(MultiDict({"choice": "KE"})), Quick(MultiDict({"choice": "KE"}))
    for form in (plain, quick):
        form.choice.choices = [("", "Any country"), *country_choices()]
    assert str(quick.choice()) == str(plain.choice())
    assert '<option selected value="KE">Kenya</option>' in str(quick.choice())


class Filters(Form):
    choice = SelectField("Choice", choices=CHOICES, widget=QuickSelect())
    place = SelectField("Place", choices=[("", "Anywhere")], widget=QuickSelect())


def test_kept_filter_fields_are_the_markup_rendered_afresh_and_follow_their_values_and_choices(app):
    from fellowship.widgets import filter_fields

    places = [("", "Anywhere"), ("KE", "Kenya"), ("<b>", "<b>bold</b>")]
    with app.test_request_context("/"):
        first = filter_fields(Filters, {"choice": "x"}, {"place": places})
        again = filter_fields(Filters, {"choice": "x"}, {"place": places})
        fresh = filter_fields(Filters, {"choice": "x"}, {"place": places}, keep=False)
        assert first is again  # kept
        assert str(first) == str(fresh)
        assert '<option selected value="x">' in first and "Kenya" in first and "<b>bold" not in first
        other_value = filter_fields(Filters, {"place": "KE"}, {"place": places})
        assert '<option selected value="KE">' in other_value and '<option selected value="x">' not in other_value
        more_places = filter_fields(Filters, {"choice": "x"}, {"place": [*places, ("NP", "Nepal")]})
        assert "Nepal" in more_places and "Nepal" not in first
