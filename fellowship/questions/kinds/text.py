"""Kinds whose answer is a string: short text, long text (word limits), email, URL."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from wtforms import EmailField, StringField, TextAreaField, URLField
from wtforms.validators import Length

from fellowship.questions.kinds.base import AnswerError, Kind, QuestionKind
from fellowship.questions.kinds.common import as_text, field_kwargs

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question

DEFAULT_MAX_LENGTH = 200
#: A long text's hard limit in characters, whatever its word limit (20,000 is about 3,000 words).
LONG_TEXT_MAX_CHARS = 20_000
EMAIL_MAX_LENGTH = 254
URL_MAX_LENGTH = 2_000
# Deliberately loose: one @, something before it, a dot in the domain, no spaces. Mail delivery is the real test.
_EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")


def word_count(text: str) -> int:
    """Words as a reader counts them: runs of non-space characters."""
    return len(text.split())


def _wrong_type() -> AnswerError:
    return AnswerError(_("Enter text."))


class ShortText(Kind):
    kind = QuestionKind.SHORT_TEXT
    description = _l("One line of text")

    def max_length(self, question: Question) -> int:
        return int((question.config or {}).get("max_length") or DEFAULT_MAX_LENGTH)

    def validate(self, question: Question, value: Any) -> Any:
        if value is None:
            return None
        text = as_text(value)
        if text is None:
            raise _wrong_type()
        maximum = self.max_length(question)
        if len(text) > maximum:
            raise AnswerError(ngettext("Use at most %(num)d character.", "Use at most %(num)d characters.", maximum))
        return text or None

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        maximum = self.max_length(question)
        return StringField(validators=[Length(max=maximum)], **field_kwargs(question, locale, maxlength=maximum))

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        maximum = config.get("max_length")
        if maximum is not None and (not isinstance(maximum, int) or isinstance(maximum, bool) or maximum < 1):
            raise AnswerError(_("The maximum length is a whole number of at least 1."))
        return dict(config)


class LongText(Kind):
    kind = QuestionKind.LONG_TEXT
    description = _l("Several paragraphs, with optional word limits")

    def validate(self, question: Question, value: Any) -> Any:
        if value is None:
            return None
        text = as_text(value)
        if text is None:
            raise _wrong_type()
        if len(text) > LONG_TEXT_MAX_CHARS:
            raise AnswerError(_("Use at most %(num)s characters.", num=f"{LONG_TEXT_MAX_CHARS:,}"))
        # Word limits do not refuse a draft (the text is kept while it is being cut); missing() reports them.
        return text or None

    def limit_problem(self, question: Question, value: Any) -> str | None:
        """What a kept text still needs to meet its word limits, or None when it meets them."""
        if not isinstance(value, str) or not value:
            return None
        config = question.config or {}
        words = word_count(value)
        if config.get("max_words") and words > int(config["max_words"]):
            return ngettext("Use at most %(num)d word (you have %(count)d).",
                            "Use at most %(num)d words (you have %(count)d).", int(config["max_words"]), count=words)
        if config.get("min_words") and words < int(config["min_words"]):
            return ngettext("Write at least %(num)d word (you have %(count)d).",
                            "Write at least %(num)d words (you have %(count)d).", int(config["min_words"]),
                            count=words)
        return None

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        return TextAreaField(validators=[Length(max=LONG_TEXT_MAX_CHARS)],
                             **field_kwargs(question, locale, rows=8, maxlength=LONG_TEXT_MAX_CHARS))

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        low, high = config.get("min_words"), config.get("max_words")
        for limit in (low, high):
            if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 1):
                raise AnswerError(_("Word limits are whole numbers of at least 1."))
        if low and high and low > high:
            raise AnswerError(_("The minimum number of words is more than the maximum."))
        return dict(config)


class Email(Kind):
    kind = QuestionKind.EMAIL
    description = _l("An email address")

    def validate(self, question: Question, value: Any) -> Any:
        if value is None:
            return None
        text = as_text(value)
        if text is None:
            raise _wrong_type()
        if not text:
            return None
        if len(text) > EMAIL_MAX_LENGTH or not _EMAIL_RE.match(text):
            raise AnswerError(_("Enter an email address like name@example.org."))
        return text

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        return EmailField(validators=[Length(max=EMAIL_MAX_LENGTH)],
                          **field_kwargs(question, locale, maxlength=EMAIL_MAX_LENGTH, autocomplete="email"))


class Url(Kind):
    kind = QuestionKind.URL
    description = _l("A web address")

    def validate(self, question: Question, value: Any) -> Any:
        if value is None:
            return None
        text = as_text(value)
        if text is None:
            raise _wrong_type()
        if not text:
            return None
        if "://" not in text:
            text = f"https://{text}"  # people type "example.org"; the address they mean is https
        try:
            parts = urlsplit(text)
        except ValueError:
            parts = None
        if (len(text) > URL_MAX_LENGTH or parts is None or parts.scheme not in ("http", "https")
                or "." not in (parts.hostname or "") or any(c.isspace() for c in text)):
            raise AnswerError(_("Enter a web address like https://example.org/page."))
        return text

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        return URLField(validators=[Length(max=URL_MAX_LENGTH)],
                        **field_kwargs(question, locale, maxlength=URL_MAX_LENGTH))
