"""Form widgets that render the same markup as wtforms' own, faster where a page renders many of them."""

from __future__ import annotations

import functools
from typing import Any

from flask import render_template
from flask_babel import get_locale
from markupsafe import Markup, escape
from werkzeug.datastructures import MultiDict
from wtforms import Form
from wtforms.widgets import Select, html_params


@functools.lru_cache(maxsize=64)
def option_markup(choices: tuple[tuple[Any, Any], ...]) -> tuple[tuple[Any, Markup, Markup], ...]:
    """Each choice's value with its <option> markup, unselected and selected (wtforms' attribute order)."""
    rendered = []
    for value, label in choices:
        shown = escape(str(value) if isinstance(value, bool) else value)
        text = escape(label or value)
        rendered.append((value, Markup('<option value="') + shown + Markup('">') + text + Markup("</option>"),
                         Markup('<option selected value="') + shown + Markup('">') + text + Markup("</option>")))
    return tuple(rendered)


class QuickSelect(Select):
    """wtforms' Select with exactly its markup, for long lists of plain (value, label) choices: their options are
    rendered once and reused (html_params per option made a 250-country list most of a filter page's time)."""

    def __call__(self, field: Any, **kwargs: Any) -> Markup:
        choices = field.choices
        if (self.multiple or not isinstance(choices, list | tuple)
                or not all(isinstance(c, tuple) and len(c) == 2 for c in choices)):
            return super().__call__(field, **kwargs)
        kwargs.setdefault("id", field.id)
        flags = getattr(field, "flags", {})
        for k in dir(flags):
            if k in self.validation_attrs and k not in kwargs:
                kwargs[k] = getattr(flags, k)
        parts = [Markup("<select ") + html_params(name=field.name, **kwargs) + Markup(">")]  # already Markup
        # Labels as text in the reader's language: a lazy label would compare equal to a cached one of another language.
        for value, plain, selected in option_markup(tuple((value, str(label)) for value, label in choices)):
            parts.append(selected if field.coerce(value) == field.data else plain)
        parts.append(Markup("</select>"))
        return Markup("").join(parts)


@functools.lru_cache(maxsize=256)
def _filter_fields(form_class: type[Form], values: tuple[tuple[str, str], ...],
                   choices: tuple[tuple[str, tuple[tuple[str, str], ...]], ...], locale: str = "en") -> Markup:
    # `locale` is part of the key only: the labels are rendered in the request's language.
    form = form_class(MultiDict(values))
    for name, options in choices:
        form[name].choices = list(options)
    return Markup(render_template("_filter_fields.html", form=form))  # noqa: S704 - an autoescaped template's output


def filter_fields(form_class: type[Form], values: dict[str, str], choices: dict[str, list[tuple[str, str]]],
                  *, keep: bool = True) -> Markup:
    """The fields of a list page's GET filter form (labels, selects, inputs) as HTML, with `values` chosen and the
    choices that depend on the data set. They are the same for every view with the same values and choices, so
    each combination is rendered once per process and kept (a fifth of a list page's rendering otherwise); pass
    `keep=False` when a value is free text (a search), which is rendered afresh each time instead."""
    chosen = tuple(sorted(values.items()))
    options = tuple((name, tuple((value, str(label)) for value, label in pairs))
                    for name, pairs in sorted(choices.items()))
    if not keep:
        return _filter_fields.__wrapped__(form_class, chosen, options)
    locale = get_locale()  # each language's rendering is kept apart
    return _filter_fields(form_class, chosen, options, str(locale) if locale else "en")  # type: ignore[arg-type]
