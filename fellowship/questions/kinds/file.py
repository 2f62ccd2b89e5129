"""A file answer: checked by its content (never its name) and kept in the document storage by a random key."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from werkzeug.datastructures import FileStorage
from wtforms import FileField

from fellowship.documents.cleanup import delete_after_rollback
from fellowship.documents.storage import StorageUnavailable, get_storage, new_key
from fellowship.documents.validation import MB, InvalidDocument, check_file
from fellowship.extensions import db
from fellowship.questions.kinds.base import AnswerError, ExportColumn, Kind, QuestionKind
from fellowship.questions.kinds.common import field_kwargs

if TYPE_CHECKING:
    from wtforms.fields.core import UnboundField

    from fellowship.questions.models import Question

FILE_TYPES = ("pdf", "jpeg", "png")
#: What the file input's accept attribute lists for each type (a hint to the browser; the server checks content).
_ACCEPT = {"pdf": ".pdf,application/pdf", "jpeg": ".jpg,.jpeg,image/jpeg", "png": ".png,image/png"}
STORED_KEYS = frozenset({"key", "filename", "content_type", "size"})


class File(Kind):
    kind = QuestionKind.FILE
    description = _l("A file upload (PDF, JPEG or PNG), checked by its content")

    def types(self, question: Question) -> list[str]:
        return list((question.config or {}).get("types") or FILE_TYPES)

    def validate(self, question: Question, value: Any) -> Any:
        if value is None or value == "":
            return None
        if isinstance(value, FileStorage):
            if not value.filename:
                return None
            return self.store(question, value)
        if isinstance(value, dict) and set(value) == STORED_KEYS and isinstance(value.get("key"), str):
            return dict(value)
        raise AnswerError(_("Choose a file to upload."))

    def store(self, question: Question, upload: FileStorage) -> dict[str, Any]:
        """Check the upload and keep it; the file is deleted again if this transaction does not commit."""
        config = question.config or {}
        max_mb = config.get("max_mb")
        try:
            checked = check_file(upload, fallback_name=question.key, types=self.types(question),
                                 max_bytes=int(float(max_mb) * MB) if max_mb else None)
        except InvalidDocument as exc:
            raise AnswerError(str(exc)) from exc
        storage = get_storage()
        key = new_key()
        delete_after_rollback(db.session(), storage, key)  # before the write: see documents.services
        try:
            storage.save(key, checked.data)
        except StorageUnavailable as exc:  # beside the field; the section's other answers are still saved
            raise AnswerError(str(exc)) from exc
        return {"key": key, "filename": checked.filename, "content_type": checked.content_type, "size": checked.size}

    def form_field(self, question: Question, locale: str | None) -> UnboundField:
        accept = ",".join(_ACCEPT[t] for t in self.types(question) if t in _ACCEPT)
        return FileField(**field_kwargs(question, locale, aria_required=False, accept=accept))

    def form_data(self, question: Question, value: Any) -> Any:
        return None  # a file input shows no value; the template names the file already kept

    def display(self, question: Question, value: Any, locale: str | None) -> str:
        return str(value.get("filename") or "") if isinstance(value, dict) else ""

    def export_columns(self, question: Question, locale: str | None) -> list[ExportColumn]:
        return [(question.key, lambda value: value.get("filename") if isinstance(value, dict) else None)]

    def check_config(self, config: dict[str, Any]) -> dict[str, Any]:
        types = config.get("types")
        if types is not None and (not isinstance(types, list) or not types or any(t not in FILE_TYPES for t in types)):
            raise AnswerError(_("Choose the accepted file types among PDF, JPEG and PNG."))
        max_mb = config.get("max_mb")
        if max_mb is not None and (isinstance(max_mb, bool) or not isinstance(max_mb, int | float) or max_mb <= 0):
            raise AnswerError(_("The size limit is a number of megabytes above 0."))
        return dict(config)
