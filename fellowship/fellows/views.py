"""Staff pages for fellows (edit, return home, returns due) and alumni (list, timeline, overdue list)."""

from __future__ import annotations

from datetime import date
from typing import Any

from flask import current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from fellowship.applications.models import Application
from fellowship.auth.permissions import roles_required
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.fellows import bp, queries, services
from fellowship.fellows.forms import AlumniFilterForm, ConfirmReturnsForm, FellowFilterForm, FellowForm, ReturnForm
from fellowship.fellows.models import Fellow, FellowStatus
from fellowship.fellows.permissions import STAFF_ROLES, get_fellow_or_404
from fellowship.navigation import row_url
from fellowship.pagination import paginate, requested_page
from fellowship.widgets import filter_fields


def _link_args(filters: dict[str, str], per_page: int) -> dict[str, Any]:
    args: dict[str, Any] = dict(filters)
    if per_page != current_app.config["PER_PAGE"]:
        args["per_page"] = per_page
    return args


@bp.route("/staff/fellows")
@roles_required(*STAFF_ROLES)
def fellow_list():
    filters = queries.FellowFilters.from_args(request.args)
    form = FellowFilterForm(MultiDict(filters.as_args()))
    form.cohort.choices = [("", _("Any cohort")), *queries.cohort_choices()]
    page = paginate(queries.fellows_query(filters))
    return render_template("fellows/fellow_list.html", page=page, form=form, filters=filters,
                           link_args=_link_args(filters.as_args(), page.per_page))


def _render_fellow(fellow: Fellow, form: FellowForm, return_form: ReturnForm) -> str:
    application = db.session.get_one(Application, fellow.application_id)
    return render_template("fellows/fellow_detail.html", fellow=fellow, form=form, return_form=return_form,
                           application=application, call=application.call,
                           can_return=fellow.status is FellowStatus.IN_JAPAN)


@bp.route("/staff/fellows/<int:fellow_id>", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def fellow_detail(fellow_id: int):
    fellow = get_fellow_or_404(fellow_id)
    form = FellowForm(obj=fellow if request.method == "GET" else None)
    if request.method == "GET":
        form.status.data = fellow.status.value
    if form.validate_on_submit():
        try:
            services.update_fellow(
                fellow, by=current_user, host_institution=form.host_institution.data or None,
                supervisor=form.supervisor.data or None, study_programme=form.study_programme.data or None,
                arrival_date=form.arrival_date.data, planned_return_date=form.planned_return_date.data,
                status=FellowStatus(form.status.data), notes=form.notes.data or "")
        except services.FellowFieldError as exc:
            db.session.rollback()
            fellow = get_fellow_or_404(fellow_id)
            getattr(form, exc.field).errors = [*getattr(form, exc.field).errors, str(exc)]
        else:
            db.session.commit()
            flash(_("The fellow's details are saved."), "success")
            return redirect(url_for("fellows.fellow_detail", fellow_id=fellow.id))
    return _render_fellow(fellow, form, ReturnForm())


@bp.route("/staff/fellows/<int:fellow_id>/return", methods=["POST"])
@roles_required(*STAFF_ROLES)
def record_return(fellow_id: int):
    fellow = get_fellow_or_404(fellow_id)
    return_form = ReturnForm()
    if return_form.validate_on_submit():
        try:
            services.record_return(fellow, return_form.actual_return_date.data, current_user)
        except services.FellowFieldError as exc:
            db.session.rollback()
            return_form.actual_return_date.errors = [*return_form.actual_return_date.errors, str(exc)]
        except DomainError as exc:
            db.session.rollback()
            flash(str(exc), "error")
            return redirect(url_for("fellows.fellow_detail", fellow_id=fellow_id))
        else:
            db.session.commit()
            flash(_("The return home is recorded; the follow-up surveys are scheduled."), "success")
            return redirect(url_for("fellows.fellow_detail", fellow_id=fellow_id))
    fellow = get_fellow_or_404(fellow_id)
    form = FellowForm(obj=fellow, formdata=None)
    form.status.data = fellow.status.value
    return _render_fellow(fellow, form, return_form)


@bp.route("/staff/fellows/returns-due", methods=["GET", "POST"])
@roles_required(*STAFF_ROLES)
def returns_due():
    today = date.today()
    form = ConfirmReturnsForm()
    if form.validate_on_submit():
        ids = [int(v) for v in request.form.getlist("fellow_id") if v.isdigit()]
        if not ids:
            flash(_("Choose at least one fellow to confirm."), "error")
        else:
            confirmed = services.confirm_returns_due(today, current_user, ids)
            db.session.commit()
            flash(ngettext("%(num)d return home confirmed.", "%(num)d returns home confirmed.", confirmed), "success")
        args: dict[str, Any] = request.args.to_dict()
        return redirect(url_for("fellows.returns_due", **args))
    page = paginate(queries.returns_due_query(today))
    return render_template("fellows/returns_due.html", page=page, form=form, today=today,
                           link_args=_link_args({}, page.per_page))


@bp.route("/staff/alumni")
@roles_required(*STAFF_ROLES)
def alumni_list():
    filters = queries.AlumniFilters.from_args(request.args)
    fields = filter_fields(AlumniFilterForm, filters.as_args(),
                           {"cohort": [("", _("Any cohort")), *queries.cohort_choices()]})
    today = date.today()
    page = paginate(queries.alumni_query(filters, today), total=queries.cached_alumni_total(filters),
                    count=queries.alumni_count(filters, today))
    return render_template("fellows/alumni_list.html", page=page, filter_fields=fields, filters=filters,
                           link_args=_link_args(filters.as_args(), page.per_page),
                           timeline_url=row_url("fellows.alumni_timeline", "fellow_id"))


@bp.route("/staff/alumni/<int:fellow_id>")
@roles_required(*STAFF_ROLES)
def alumni_timeline(fellow_id: int):
    fellow = get_fellow_or_404(fellow_id)
    return render_template("fellows/alumni_timeline.html", timeline=queries.timeline(fellow))


@bp.route("/staff/alumni/overdue")
@roles_required(*STAFF_ROLES)
def alumni_overdue():
    page_number, per_page = requested_page()
    lost_page_number = max(request.args.get("lost_page", 1, type=int) or 1, 1)
    follow_ups = paginate(queries.overdue_follow_ups_query(), page_number, per_page)
    lost = paginate(queries.lost_contact_query(), lost_page_number, per_page)
    return render_template("fellows/alumni_overdue.html", follow_ups=follow_ups, lost=lost,
                           link_args=_link_args({}, per_page))
