"""A questionnaire with a question of every kind, built through the engine's services."""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from fellowship.extensions import db
from fellowship.questions import services
from fellowship.questions.models import Question, Questionnaire
from tests.documents.files import PDF


def real_png() -> bytes:
    """A genuine 1x1 PNG (signature, IHDR, IDAT, IEND with their CRCs)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
            + chunk(b"IEND", b""))


PNG = real_png()
PDF_BYTES = PDF
CHOICES = [{"value": "biodiversity", "label": {"en": "Biodiversity", "fr": "Biodiversité"}},
           {"value": "energy", "label": {"en": "Energy"}}, {"value": "water", "label": {"en": "Water"}}]


@pytest.fixture
def ctx(app: Flask) -> Iterator[Flask]:
    """An app context with a request context (gettext, url building), cleaned up afterwards."""
    with app.app_context(), app.test_request_context("/"):
        yield app
        db.session.rollback()
        db.session.remove()


def build_questionnaire() -> Questionnaire:
    """Two sections: every kind of question, a conditional one, and a repeatable group."""
    q = services.create_questionnaire({"en": "Application form", "fr": "Formulaire"})
    about = services.add_section(q, "about", "About you")
    add = lambda **kw: services.add_question(about, **kw)  # noqa: E731
    add(kind="short_text", key="name", label="Full name", required=True, personal_data=True, config={"max_length": 20})
    add(kind="long_text", key="essay", label="Motivation", required=True, config={"min_words": 3, "max_words": 10})
    add(kind="number", key="age", label="Age", config={"integer": True, "min": 18, "max": 40})
    add(kind="number", key="score", label="Score", config={"min": 0, "max": 4.5})
    add(kind="date", key="birth", label="Date of birth", config={"min": "1980-01-01", "max": "2005-12-31"})
    add(kind="single_choice", key="field", label="Field", required=True, tag="field", config={"choices": CHOICES})
    add(kind="multiple_choice", key="topics", label="Topics", config={"choices": CHOICES, "max_chosen": 2})
    add(kind="yes_no", key="has_degree", label="Do you hold a degree?", required=True)
    add(kind="short_text", key="degree_subject", label="Subject of your degree", required=True,
        condition={"question": "has_degree", "values": ["yes"]})
    add(kind="country", key="nationality", label="Nationality", tag="nationality", personal_data=True,
        config={"only": ["KE", "VN", "JP"]})
    add(kind="language_level", key="japanese", label="Japanese", config={"language": "ja", "scale": "jlpt"})
    add(kind="language_level", key="other_language", label="Another language", config={"scale": "cefr"})
    add(kind="email", key="email", label="Email")
    add(kind="url", key="website", label="Website", in_export=False)
    add(kind="file", key="cv", label="CV", config={"types": ["pdf"], "max_mb": 1})
    history = services.add_section(q, "history", "Education")
    group = services.add_question(history, kind="group", key="education", label="Education",
                                  config={"min_entries": 1, "max_entries": 2})
    services.add_question(history, kind="short_text", key="institution", label="Institution", required=True,
                          group=group)
    services.add_question(history, kind="number", key="year", label="Year", config={"integer": True}, group=group)
    db.session.flush()
    db.session.expire_all()
    return q


@pytest.fixture
def questionnaire(ctx: Flask) -> Questionnaire:
    return build_questionnaire()


def question(q: Questionnaire, key: str) -> Question:
    return db.session.scalars(db.select(Question).filter_by(questionnaire_id=q.id, key=key)).one()


def section(q: Questionnaire, key: str) -> Any:
    return next(s for s in q.sections if s.key == key)
