"""The applicant's upload form; errors are shown beside the field."""

from __future__ import annotations

from flask_wtf.file import FileField, FileRequired
from wtforms import SelectField, SubmitField
from wtforms.validators import DataRequired

from fellowship.documents.services import APPLICANT_KINDS
from fellowship.documents.validation import DEFAULT_MAX_BYTES, MB
from fellowship.forms import FellowshipForm

ACCEPT = ".pdf,.jpg,.jpeg,.png,application/pdf,image/jpeg,image/png"


def file_hint(max_bytes: int = DEFAULT_MAX_BYTES) -> str:
    return f"PDF, JPEG or PNG, at most {max_bytes // MB} MB. Scans and phone photos are fine if they are readable."


class UploadForm(FellowshipForm):
    kind = SelectField("Type of document", choices=[(k.value, k.label) for k in APPLICANT_KINDS],
                       validators=[DataRequired()])
    file = FileField("File", validators=[FileRequired("Choose a file to upload.")], description=file_hint(),
                     render_kw={"accept": ACCEPT})
    submit = SubmitField("Upload")
