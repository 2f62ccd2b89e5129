"""The applicant's upload form; errors are shown beside the field."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired

from fellowship.documents.services import APPLICANT_KINDS
from fellowship.documents.validation import DEFAULT_MAX_BYTES, MB
from fellowship.forms import FellowshipForm

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def file_hint(max_bytes: int = DEFAULT_MAX_BYTES) -> Any:
    """The upload hint, lazy (form classes are built at import time), translated when the form is rendered."""
    return _l("PDF, JPEG or PNG, at most %(num)d MB. Scans and phone photos are fine if they are readable.",
              num=max_bytes // MB)


class UploadForm(FellowshipForm):
    kind = SelectField(_l("Type of document"), choices=[(k.value, k.lazy_label) for k in APPLICANT_KINDS],
                       validators=[DataRequired()])
    file = FileField(_l("File"), validators=[FileRequired(_l("Choose a file to upload."))], description=file_hint(),
                     render_kw={"accept": ACCEPT})
    submit = SubmitField(_l("Upload"))
