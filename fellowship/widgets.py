"""Form widgets that render the same markup as wtforms' own, faster where a page renders many of them."""

from __future__ import annotations

import functools
from typing import Any

from markupsafe import Markup, escape
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
        for value, plain, selected in option_markup(tuple(choices)):
            parts.append(selected if field.coerce(value) == field.data else plain)
        parts.append(Markup("</select>"))
        return Markup("").join(parts)
