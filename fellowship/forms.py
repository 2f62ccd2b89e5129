"""What every piece of typed input goes through before a form or a filter sees it.

- NUL characters are removed from every query and form value as the request parses them (`TextRequest`):
  PostgreSQL's text type refuses them, so one arriving in a name, an essay or a search would otherwise end the
  request in a database error. Nobody types a NUL; dropping it loses nothing a person meant.
- Every form derives from `FellowshipForm`: a value longer than its field's maximum is refused beside the field,
  and is not sent back whole in the page (a 10 MB essay would otherwise be echoed into the HTML): the field keeps
  what fits, and its message says so.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from flask import Request
from flask_babel import format_number
from flask_babel import gettext as _
from flask_wtf import FlaskForm
from markupsafe import Markup
from werkzeug.datastructures import ImmutableMultiDict, MultiDict
from wtforms import Field, FieldList, FormField
from wtforms.widgets import HiddenInput

NUL = "\x00"


def _without_nul(value: Any) -> Any:
    return value.replace(NUL, "") if isinstance(value, str) else value


def _pairs(mapping: Any) -> Iterator[tuple[Any, Any]]:
    if isinstance(mapping, MultiDict):
        yield from mapping.items(multi=True)
    elif isinstance(mapping, Mapping):
        for key, value in mapping.items():
            for item in (value if isinstance(value, list | tuple) else [value]):
                yield key, item
    else:
        yield from mapping


class TextParameters(ImmutableMultiDict):
    """Query and form parameters without NUL characters (files pass through untouched)."""

    def __init__(self, mapping: Mapping[Any, Any] | Iterable[tuple[Any, Any]] | None = None) -> None:
        if mapping is None:
            super().__init__()
        else:
            super().__init__([(_without_nul(key), _without_nul(value)) for key, value in _pairs(mapping)])


class TextRequest(Request):
    """The app's request: its `args`, `form` and `values` never hold a NUL character."""

    parameter_storage_class = TextParameters


def _leaf_fields(fields: Iterable[Field]) -> Iterator[Field]:
    for field in fields:
        if isinstance(field, FieldList):
            yield from _leaf_fields(field.entries)
        elif isinstance(field, FormField):
            yield from _leaf_fields(field.form)
        else:
            yield field


def cut_to_maximum(fields: Iterable[Field]) -> None:
    """A text field refused for being too long keeps only what fits, and says so beside the field."""
    for field in _leaf_fields(fields):
        maximum = getattr(field.flags, "maxlength", None)
        if not field.errors or not maximum or not isinstance(field.data, str) or len(field.data) <= maximum:
            continue
        field.data = field.data[:maximum]
        field.raw_data = [field.data]
        errors = list(field.errors)
        errors.append(_("Only the first %(num)s characters are shown below; shorten the text and save again.",
                        num=format_number(maximum)))
        field.errors = errors


class FellowshipForm(FlaskForm):
    """The base of every form in the app (FlaskForm: CSRF), which never echoes an oversized value whole."""

    def validate(self, extra_validators: Mapping[str, Any] | None = None) -> bool:
        valid = super().validate(extra_validators)
        if not valid:
            cut_to_maximum(self)
        return valid

    def hidden_tag(self, *fields: Any) -> Markup:
        """The hidden fields (the CSRF token) without ids: a page with two forms would otherwise repeat
        id="csrf_token", which HTML forbids (and a hidden input needs no id: no label points at it)."""
        chosen = [getattr(self, f) if isinstance(f, str) else f for f in fields] or \
            [f for f in self if isinstance(f.widget, HiddenInput)]
        return Markup("").join(f(id=False) for f in chosen)


def field_for(form: FlaskForm, error: Exception, *, default: Field) -> Field:
    """The field a domain error belongs beside (a FieldError names it), else `default`."""
    name = getattr(error, "field", None)
    field = form._fields.get(name) if name else None
    return field if field is not None else default
