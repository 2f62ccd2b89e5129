"""Forms of the interviews area (every one a FellowshipForm: CSRF, text cut to its maximum)."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    EmailField,
    IntegerField,
    RadioField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from fellowship.forms import FellowshipForm
from fellowship.interviews.models import InterviewMode
from fellowship.interviews.scoring import MAX_NOTES
from fellowship.selection.models import StageCriterion


class SlotForm(FellowshipForm):
    """A new interview time; its start is entered in the programme's zone (the label names it)."""

    starts_at = DateTimeLocalField(_l("Starts (programme time)"), format="%Y-%m-%dT%H:%M",
                                   validators=[InputRequired()])
    duration_minutes = IntegerField(_l("Length (minutes)"), default=30, validators=[InputRequired(),
                                                                                    NumberRange(5, 480)])
    capacity = IntegerField(_l("Candidates (places)"), default=1, validators=[InputRequired(), NumberRange(1, 200)],
                            description=_l("More than one for a group interview or an assessment session."))
    mode = SelectField(_l("Mode"), choices=InterviewMode.lazy_choices(), validators=[InputRequired()])
    location = StringField(_l("Video link, phone arrangements or place"), validators=[Length(max=500)])
    panel = SelectMultipleField(_l("Interviewers"), coerce=int, validators=[InputRequired()],
                                description=_l("Chosen among the stage's panel."))
    submit = SubmitField(_l("Add the slot"))


class InterviewerForm(FellowshipForm):
    email = EmailField(_l("Email of a reviewer or staff member"), validators=[InputRequired(), Length(max=254)])
    submit = SubmitField(_l("Add to the panel"))


class CriterionForm(FellowshipForm):
    name = StringField(_l("Criterion"), validators=[InputRequired(), Length(max=120)])
    weight = DecimalField(_l("Weight"), default=1, places=3, validators=[InputRequired(), NumberRange(0.001, 100)])
    description = StringField(_l("What a 5 looks like"), validators=[Length(max=2000)])
    submit = SubmitField(_l("Add the criterion"))


class BookForm(FellowshipForm):
    """The candidate's choice among the open slots (labels: the time in their zone, the zone named)."""

    slot = RadioField(_l("Interview time"), coerce=int, validators=[InputRequired(_l("Choose an interview time."))])
    submit = SubmitField(_l("Book this time"))


class StaffBookForm(FellowshipForm):
    reference = StringField(_l("Candidate's reference number"), validators=[InputRequired(), Length(max=32)])
    submit = SubmitField(_l("Book for this candidate"))


class ConfirmForm(FellowshipForm):
    submit = SubmitField(_l("Confirm"))


class NoteQuestionForm(FellowshipForm):
    """A question of the interview stage's notes questionnaire."""

    label = StringField(_l("Question"), validators=[InputRequired(), Length(max=500)])
    kind = SelectField(_l("Kind of answer"), validators=[InputRequired()])
    choices = TextAreaField(_l("Options (single choice only)"), validators=[Optional(), Length(max=4000)],
                            description=_l("One option per line."))
    help_text = StringField(_l("Help for the interviewer"), validators=[Optional(), Length(max=1000)])
    required = BooleanField(_l("An answer is required to save the scores"))
    submit = SubmitField(_l("Add the question"))


class ScoreForm(FellowshipForm):
    notes = TextAreaField(_l("Notes"), validators=[Optional(), Length(max=MAX_NOTES)],
                          description=_l("What the candidate said and how you judged it; other interviewers read "
                                         "them."))
    submit = SubmitField(_l("Save the scores"))


def score_field_name(criterion: StageCriterion) -> str:
    return f"score_{criterion.id}"


def score_form(criteria: list[StageCriterion], data: dict[str, Any] | None = None) -> ScoreForm:
    """The score form for the stage's rubric: one 1-5 choice per criterion, then the notes."""
    fields = {score_field_name(c): RadioField(c.name, choices=[(n, str(n)) for n in range(1, 6)], coerce=int,
                                              validators=[InputRequired(_l("Give a score from 1 to 5."))])
              for c in criteria}
    form_class: Any = type("InterviewScoreForm", (ScoreForm,), fields)
    return form_class(data=data) if data is not None else form_class()
