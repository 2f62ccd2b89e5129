"""Call pages: staff manage programmes and calls; everyone sees the open calls."""

from __future__ import annotations

from typing import Any

from flask import abort, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required
from sqlalchemy import select

from fellowship.applications import services as application_services
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls import bp, services
from fellowship.calls.forms import REGIONS, CallForm, ProgrammeForm
from fellowship.calls.models import Call, CallStatus, DegreeLevel, Programme
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm, field_for
from fellowship.geo import countries_by_region, country_choices
from fellowship.pagination import paginate
from fellowship.timezones import utc_to_local

STAFF = (Role.STAFF, Role.ADMIN)


# --- Applicants and the public -------------------------------------------------------------

@bp.route("/calls")
def open_calls():
    return render_template("calls/open_calls.html", calls=services.open_calls())


@bp.route("/calls/<int:call_id>")
def call_detail(call_id: int):
    call = db.get_or_404(Call, call_id)
    if call.status is CallStatus.DRAFT and not (current_user.is_authenticated and current_user.has_role(*STAFF)):
        abort(404)
    existing = (application_services.application_for(call.id, current_user.id)
                if current_user.is_authenticated else None)
    return render_template("calls/call_detail.html", call=call, accepting=services.is_accepting(call),
                           existing=existing, form=FellowshipForm(),
                           country_groups=countries_by_region(call.eligible_countries))


@bp.route("/calls/<int:call_id>/apply", methods=["POST"])
@login_required
def apply(call_id: int):
    call = db.get_or_404(Call, call_id)
    if not FellowshipForm().validate_on_submit():
        abort(400)
    try:
        application = application_services.start_application(call, current_user)
    except DomainError as exc:
        flash(str(exc), "error")
        return redirect(url_for("calls.call_detail", call_id=call.id))
    db.session.commit()
    return redirect(url_for("applications.overview", application_id=application.id))


# --- Staff: programmes -----------------------------------------------------------------------

@bp.route("/staff/programmes")
@roles_required(*STAFF)
def programmes():
    items = db.session.scalars(select(Programme).order_by(Programme.name)).all()
    return render_template("calls/programmes.html", programmes=items)


@bp.route("/staff/programmes/new", methods=["GET", "POST"])
@bp.route("/staff/programmes/<int:programme_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_programme(programme_id: int | None = None):
    programme = db.get_or_404(Programme, programme_id) if programme_id else None
    form = ProgrammeForm(obj=programme)
    if request.method == "GET" and programme is not None:
        form.followup_months.data = ", ".join(str(m) for m in programme.followup_months)
    if form.validate_on_submit():
        try:
            programme = services.save_programme(
                programme, name=form.name.data or "", description=form.description.data or "",
                time_zone=form.time_zone.data or "",
                followup_months=[int(m) for m in (form.followup_months.data or "").split(",") if m.strip()])
        except DomainError as exc:
            field_for(form, exc, default=form.name).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Programme “%(name)s” saved.", name=programme.name), "success")
            return redirect(url_for("calls.programmes"))
    return render_template("calls/programme_form.html", form=form, programme=programme)


# --- Staff: calls ------------------------------------------------------------------------------

@bp.route("/staff/calls")
@roles_required(*STAFF)
def staff_calls():
    return render_template("calls/staff_calls.html", page=paginate(services.staff_calls_query()))


def _call_form(call: Call | None) -> CallForm:
    form = CallForm(obj=call)
    form.programme_id.choices = [(p.id, p.name) for p in db.session.scalars(select(Programme).order_by(Programme.name))]
    form.eligible_countries.choices = country_choices()
    if request.method == "GET":
        if call is None:
            form.eligible_countries.data = services.developing_preset()
        else:
            # Staff edit the English source; translations are edited on the call's Translations page.
            form.title.data, form.description.data = call.title_source, call.description_source
            zone = call.programme.time_zone
            form.opens_at.data = utc_to_local(call.opens_at, zone).replace(tzinfo=None)
            form.closes_at.data = utc_to_local(call.closes_at, zone).replace(tzinfo=None)
            form.min_degree.data = call.min_degree.value if call.min_degree else ""
            form.status.data = call.status.value
            shares = {q.region: q.min_share_percent for q in call.quotas}
            for entry, region in zip(form.quotas.entries, REGIONS, strict=True):
                entry.form.min_share_percent.data = shares.get(region)
            for entry, criterion in zip(form.criteria.entries, call.criteria, strict=False):
                entry.form.name.data, entry.form.weight.data = criterion.name_source, criterion.weight
                entry.form.description.data = criterion.description_source
                entry.form.levels.data = "\n".join(criterion.level_descriptions.get(str(i), "") for i in range(1, 6))
    for entry, region in zip(form.quotas.entries, REGIONS, strict=True):
        entry.form.region.data = region
    return form


@bp.route("/staff/calls/new", methods=["GET", "POST"])
@bp.route("/staff/calls/<int:call_id>/edit", methods=["GET", "POST"])
@roles_required(*STAFF)
def edit_call(call_id: int | None = None):
    call = db.get_or_404(Call, call_id) if call_id else None
    form = _call_form(call)
    if not form.programme_id.choices:
        flash(_("Create a programme first."), "info")
        return redirect(url_for("calls.edit_programme"))
    if form.validate_on_submit():
        programme = db.get_or_404(Programme, form.programme_id.data)
        countries = services.developing_preset() if form.use_developing_preset.data else form.eligible_countries.data
        data: dict[str, Any] = {
            "title": form.title.data, "year": form.year.data, "description": form.description.data or "",
            "opens_at_local": form.opens_at.data, "closes_at_local": form.closes_at.data,
            "status": CallStatus(form.status.data), "places": form.places.data, "max_age": form.max_age.data,
            "min_degree": DegreeLevel(form.min_degree.data) if form.min_degree.data else None,
            "eligible_countries": sorted(countries or []), "required_documents": form.required_documents.data or [],
            "references_required": form.references_required.data or 0, "reference_prefix": form.reference_prefix.data,
            "reviewers_per_application": form.reviewers_per_application.data,
            "blind_review": form.blind_review.data, "same_nationality_conflict": form.same_nationality_conflict.data,
        }
        quotas = {e.form.region.data: e.form.min_share_percent.data or 0 for e in form.quotas.entries}
        criteria = [{"name": e.form.name.data.strip(), "weight": e.form.weight.data,
                     "description": e.form.description.data, "levels": services.parse_levels(e.form.levels.data)}
                    for e in form.criteria.entries if e.form.name.data and e.form.name.data.strip()]
        try:
            call = services.save_call(call, programme, data, quotas, criteria)
        except DomainError as exc:
            field_for(form, exc, default=form.title).errors.append(str(exc))
        else:
            db.session.commit()
            flash(_("Call “%(title)s” saved.", title=call.title), "success")
            return redirect(url_for("calls.staff_calls"))
    return render_template("calls/call_form.html", form=form, call=call, form_rules=_form_rules(call))


def _form_rules(call: Call | None) -> list[str] | None:
    """The completeness rules of the call's application form (None when it has none yet), for its staff page."""
    from fellowship.questions.models import Questionnaire
    from fellowship.questions.services import completeness_rules

    questionnaire = db.session.get(Questionnaire, call.questionnaire_id) if call and call.questionnaire_id else None
    return completeness_rules(questionnaire) if questionnaire is not None else None


# The application-form builder's pages are the call's pages too (form_views.py); importing it registers them.
from fellowship.calls import form_views as _form_views  # noqa: E402, F401
