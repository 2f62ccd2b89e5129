"""Staff forms for programmes and calls."""

from __future__ import annotations

from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    DecimalField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    SelectField,
    SelectMultipleField,
    StringField,
    SubmitField,
    TextAreaField,
)
from wtforms.utils import unset_value
from wtforms.validators import DataRequired, Length, NumberRange, Optional, Regexp, ValidationError

from fellowship.calls.models import CallStatus, DegreeLevel, DocumentKind
from fellowship.forms import FellowshipForm
from fellowship.geo import RegionGroup, countries_by_region, region_codes
from fellowship.timezones import is_valid_zone

REGIONS = ("Africa", "Asia", "Americas", "Oceania", "Europe")


class CountryPickerField(SelectMultipleField):
    """Countries as checkboxes grouped by region (templates/calls/_country_picker.html), no JavaScript needed.

    Each region has a "whole region" box, ticked on the page when every country of the region is selected; the
    page also sends which regions it showed whole (`<name>-was-whole`). A whole-region box ticked since then adds
    the whole region, one unticked since then empties that region; every other country is as its box was sent, so
    no click changes any other region's selection. The usual choices check then refuses unknown codes.
    """

    def process(self, formdata: Any, data: Any = unset_value, extra_filters: Any = None) -> None:
        super().process(formdata, data, extra_filters)
        if formdata is None or f"{self.name}-picker" not in formdata:
            return  # not sent by the picker (a test or script posting codes only): the codes as sent
        whole_now = set(formdata.getlist(f"{self.name}-whole"))
        whole_before = set(formdata.getlist(f"{self.name}-was-whole"))
        selected: set[str] = set(self.data or [])  # type: ignore[has-type]
        for region in whole_now - whole_before:
            selected |= region_codes(region)
        for region in whole_before - whole_now:
            selected -= region_codes(region)
        self.data = sorted(selected)

    @property
    def region_groups(self) -> list[RegionGroup]:
        """Every country the picker offers, by region."""
        return countries_by_region()


class ProgrammeForm(FellowshipForm):
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=200)])
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=5000)])
    time_zone = StringField(_l("Time zone"), default="Asia/Tokyo", validators=[DataRequired()],
                            description=_l("IANA name, e.g. Asia/Tokyo. Call times are entered in this zone."))
    followup_months = StringField(_l("Follow-up surveys after return (months)"), default="6, 12, 24, 36, 60",
                                  validators=[DataRequired(), Regexp(r"^\s*\d+(\s*,\s*\d+)*\s*$",
                                                                     message=_l("Whole numbers separated by commas."))])
    submit = SubmitField(_l("Save programme"))

    def validate_time_zone(self, field: StringField) -> None:
        if not is_valid_zone(field.data):
            raise ValidationError(_("Unknown time zone. Use an IANA name such as Asia/Tokyo or Africa/Nairobi."))


class CriterionForm(Form):
    """One rubric criterion; a row left without a name is ignored."""

    name = StringField(_l("Criterion"), validators=[Optional(), Length(max=120)])
    weight = DecimalField(_l("Weight"), places=3, validators=[Optional(), NumberRange(min=0.001, max=100)])
    description = TextAreaField(_l("What it looks for"), validators=[Optional(), Length(max=2000)])
    levels = TextAreaField(_l("Score levels 1–5, one line each"), validators=[Optional(), Length(max=3000)],
                           description=_l("Line 1 describes a score of 1, line 5 a score of 5."))


class QuotaForm(Form):
    region = StringField(_l("Region"), render_kw={"readonly": True})
    min_share_percent = IntegerField(_l("Minimum share of places (%)"),
                                     validators=[Optional(), NumberRange(min=0, max=100)])


class CallForm(FellowshipForm):
    programme_id = SelectField(_l("Programme"), coerce=int, validators=[DataRequired()])
    title = StringField(_l("Title"), validators=[DataRequired(), Length(max=200)])
    year = IntegerField(_l("Intake year"), validators=[DataRequired(), NumberRange(min=2000, max=2100)])
    description = TextAreaField(_l("Description for applicants"), validators=[Optional(), Length(max=10000)])
    opens_at = DateTimeLocalField(_l("Opens"), format="%Y-%m-%dT%H:%M",
                                  validators=[DataRequired(message=_l("Enter the opening date and time."))],
                                  description=_l("In the programme's time zone."))
    closes_at = DateTimeLocalField(_l("Closes (deadline)"), format="%Y-%m-%dT%H:%M",
                                   validators=[DataRequired(message=_l("Enter the deadline."))],
                                   description=_l("In the programme's time zone. Nothing can change after it."))
    status = SelectField(_l("Status"), choices=CallStatus.lazy_choices(), default=CallStatus.DRAFT.value)
    places = IntegerField(_l("Places"), default=10, validators=[DataRequired(), NumberRange(min=1, max=10000)])
    max_age = IntegerField(_l("Maximum age at the deadline"), default=35,
                           validators=[Optional(), NumberRange(min=16, max=100)])
    min_degree = SelectField(_l("Minimum degree"),
                             choices=[("", _l("Any")), *((d.value, d.lazy_label) for d in DegreeLevel)],
                             default=DegreeLevel.BACHELOR.value)
    eligible_countries = CountryPickerField(
        _l("Eligible nationalities"),
        description=_l("Tick each country, or a whole region. To find a country, use your browser's find "
                       "(Ctrl+F, or Cmd+F on a Mac)."))
    use_developing_preset = BooleanField(
        _l("Replace the selection with the preset: developing countries (OECD DAC list) in Africa and Asia"))
    required_documents = SelectMultipleField(
        _l("Required documents"),
        choices=[(k.value, k.lazy_label) for k in DocumentKind if k is not DocumentKind.REFERENCE_LETTER],
        default=["cv", "transcript", "passport"], render_kw={"size": 6})
    references_required = IntegerField(_l("Reference letters required"), default=2,
                                       validators=[Optional(), NumberRange(min=0, max=5)])
    reference_prefix = StringField(_l("Reference number prefix"), default="ELF",
                                   validators=[DataRequired(),
                                               Regexp(r"^[A-Z]{2,6}$", message=_l("2–6 capital letters."))])
    reviewers_per_application = IntegerField(_l("Reviewers per application"), default=3,
                                             validators=[DataRequired(), NumberRange(min=1, max=10)])
    blind_review = BooleanField(_l("Blind review (reviewers do not see names and contact details)"))
    same_nationality_conflict = BooleanField(_l("A reviewer of the applicant's nationality has a conflict of interest"))
    quotas = FieldList(FormField(QuotaForm), min_entries=len(REGIONS), max_entries=len(REGIONS))
    criteria = FieldList(FormField(CriterionForm), min_entries=6, max_entries=12)
    submit = SubmitField(_l("Save call"))

    def validate_closes_at(self, field: DateTimeLocalField) -> None:
        if self.opens_at.data and field.data and field.data <= self.opens_at.data:
            raise ValidationError(_("The deadline must be after the opening time."))

    def validate_quotas(self, field: FieldList) -> None:
        total = sum((entry.form.min_share_percent.data or 0) for entry in field.entries)
        if total > 100:
            raise ValidationError(_("The regional minimums add up to %(total)d%%; they cannot exceed 100%%.",
                                    total=total))
