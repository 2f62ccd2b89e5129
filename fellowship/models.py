"""Declarative base and the mixins every table shares."""

from __future__ import annotations

import enum
import weakref
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime, Dialect, Enum, MetaData, TypeDecorator, func
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

# Named constraints so Alembic migrations are stable on PostgreSQL and SQLite alike.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware DateTime that stores UTC and always gives back aware UTC datetimes, also on SQLite."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given for a UTC column; use fellowship.models.utcnow()")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is not None and value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value


class IdMixin:
    id: Mapped[int] = mapped_column(primary_key=True)


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(UTCDateTime(), default=utcnow, server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime(), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


def enum_column(enum_cls: type[enum.Enum], name: str) -> Enum:
    """A portable enum column storing the values (not the member names) with a named CHECK."""
    return Enum(enum_cls, name=name, native_enum=False, create_constraint=True, length=32,
                values_callable=lambda members: [m.value for m in members], validate_strings=True)


class LabelledEnum(enum.StrEnum):
    """A StrEnum whose members read as words for people: `member.label` is the one label of each value.

    Templates, forms and emails show `label`, never `value`. A subclass names every member's label in its
    `_labels()` as `lazy_gettext` strings, so the catalogs hold them ("ngo" is "NGO / civil society"); `label` gives
    it translated into the current language (the request's, or the recipient's while an email is rendered).
    """

    @classmethod
    def _labels(cls) -> Mapping[str, Any]:
        return {}

    @property
    def lazy_label(self) -> Any:
        """The label as a lazy string (a LazyString), for what is built once at import time, such as form choices."""
        labels = _LABELS.get(type(self))
        if labels is None:
            labels = _LABELS[type(self)] = dict(self._labels())
        return labels.get(self.value) or self.value.replace("_", " ").capitalize()

    @property
    def label(self) -> str:
        # Kept per catalog: a list page shows a status or a field on every row, and translating the lazy label anew
        # each time (Flask-Babel's whole lookup) was a twelfth of the staff application list (make bench). The
        # catalog object is the one this label would be translated with now (the request's, or an email's forced
        # language), and Flask-Babel keeps one per language for the app's life.
        from fellowship.i18n import current_translations

        catalog = current_translations()
        kept = _TRANSLATED_LABELS.get(catalog)
        if kept is None:
            kept = _TRANSLATED_LABELS[catalog] = {}
        key = (type(self), self.value)  # not the member: str enums of two classes with one value are equal
        text = kept.get(key)
        if text is None:
            text = kept[key] = str(self.lazy_label)
        return text

    @classmethod
    def choices(cls) -> list[tuple[str, str]]:
        """(value, label) pairs for a select, in the enum's order, the labels in the current language."""
        return [(member.value, member.label) for member in cls]

    @classmethod
    def lazy_choices(cls) -> list[tuple[str, Any]]:
        """`choices()` with lazy labels, translated when rendered: for form fields built at import time."""
        return [(member.value, member.lazy_label) for member in cls]


#: Each LabelledEnum's labels, built once: `_labels()` makes a lazy string per member.
_LABELS: dict[type[LabelledEnum], dict[str, Any]] = {}
#: Labels translated, per catalog object (LabelledEnum.label).
_TRANSLATED_LABELS: weakref.WeakKeyDictionary[Any, dict[tuple[type[LabelledEnum], str], str]] = (
    weakref.WeakKeyDictionary())
