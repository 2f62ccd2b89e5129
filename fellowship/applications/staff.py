"""Staff pages over the applications of a call: the list with filters, the CSV export, the detail and overrides."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup
from wtforms import Form, SearchField, SelectField

from fellowship.applications import answer_exports, answer_filters, staff_bp, staff_services
from fellowship.applications.models import Application, ApplicationStatus, EnvironmentalField
from fellowship.applications.permissions import get_application_or_404
from fellowship.applications.staff_services import ELIGIBILITY_CHOICES, ListFilters
from fellowship.audit.services import PendingEntry, audited_download
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.eligibility import services as eligibility_services
from fellowship.eligibility.forms import EligibilityOverrideForm
from fellowship.eligibility.rules import RULE_LABELS
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.geo import country_name, lazy_region_choices
from fellowship.navigation import row_url
from fellowship.pagination import paginate
from fellowship.spreadsheets import XLSX_MIMETYPE
from fellowship.widgets import QuickSelect, filter_fields

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


class ApplicationFilterForm(Form):
    """The list's filters, sent as GET parameters (no CSRF: it changes nothing)."""

    q = SearchField(_l("Name or reference"), description=_l("Part of the name, or the start of the reference number."))
    status = SelectField(_l("Status"), choices=[("", _l("Any status")), *ApplicationStatus.lazy_choices()],
                         widget=QuickSelect())
    nationality = SelectField(_l("Nationality"), choices=[("", _l("Any nationality"))], widget=QuickSelect())
    region = SelectField(_l("Region"), choices=[("", _l("Any region")), *lazy_region_choices()], widget=QuickSelect())
    field = SelectField(_l("Environmental field"),
                        choices=[("", _l("Any field")), *EnvironmentalField.lazy_choices()],
                        widget=QuickSelect())
    eligibility = SelectField(_l("Eligibility"), choices=[("", _l("Any")), *ELIGIBILITY_CHOICES.items()],
                              widget=QuickSelect())


def _filter_fields(filters: ListFilters, nationalities: list[tuple[str, str]],
                   questions: tuple[answer_filters.FilterQuestion, ...]) -> Markup:
    form_class = answer_filters.filter_form(ApplicationFilterForm, questions, answer_filters.current_locale())
    return filter_fields(form_class, filters.as_args(),
                         {"nationality": [("", _("Any nationality")), *nationalities]}, keep=not filters.q)


def _call_and_filters(call_id: int) -> tuple[Call, ListFilters, answer_filters.FormStamp | None]:
    """The call, the version of its form and the filters read from the URL (answer filters included)."""
    call, stamp = staff_services.get_call_and_form_or_404(call_id)
    questions = answer_filters.filter_questions(stamp, answer_filters.current_locale()) if stamp else ()
    return call, ListFilters.from_args(request.args, questions), stamp


@staff_bp.route("/calls/<int:call_id>/applications")
@roles_required(*STAFF_ROLES)
def call_applications(call_id: int):
    call, filters, stamp = _call_and_filters(call_id)
    locale = answer_filters.current_locale()
    questions = answer_filters.filter_questions(stamp, locale) if stamp else ()
    groups = answer_exports.exported_groups(stamp, locale) if stamp else ()
    nationalities = staff_services.nationality_choices(call.id)
    counts = staff_services.status_counts(call.id)
    # Unfiltered, the total is the sum of the (cached) status counts: no count over the whole call.
    total = None if filters.active else sum(counts.values())
    page = paginate(staff_services.list_query(call.id, filters), total=total)
    link_args: dict[str, Any] = filters.as_args()
    if page.per_page != current_app.config["PER_PAGE"]:
        link_args["per_page"] = page.per_page
    return render_template(
        "applications/staff_list.html", call=call, page=page, filters=filters, link_args=link_args,
        filter_fields=_filter_fields(filters, nationalities, questions), counts=counts, groups=groups,
        country_names=dict(nationalities), eligibility_label=staff_services.eligibility_label,
        detail_url=row_url("staff_applications.application_detail", "application_id"),
    )


def _download(chunks: Iterator[bytes], entry: PendingEntry, mimetype: str, filename: str) -> Response:
    return Response(audited_download(chunks, entry), mimetype=mimetype,
                    headers={"Content-Disposition": f'attachment; filename="{filename}"',
                             "Cache-Control": "no-store"})


@staff_bp.route("/calls/<int:call_id>/applications.csv")
@roles_required(*STAFF_ROLES)
def export_applications(call_id: int):
    call, filters, _stamp = _call_and_filters(call_id)
    spec = answer_exports.ExportSpec.for_call(call, filters)
    return _download(answer_exports.export_csv(spec, db.engine), answer_exports.export_entry(call, filters, "csv"),
                     "text/csv; charset=utf-8", f"applications-{call.year}-call-{call.id}.csv")


@staff_bp.route("/calls/<int:call_id>/applications.xlsx")
@roles_required(*STAFF_ROLES)
def export_applications_xlsx(call_id: int):
    call, filters, _stamp = _call_and_filters(call_id)
    spec = answer_exports.ExportSpec.for_call(call, filters)
    return _download(answer_exports.export_xlsx(spec, db.engine), answer_exports.export_entry(call, filters, "xlsx"),
                     XLSX_MIMETYPE, f"applications-{call.year}-call-{call.id}.xlsx")


@staff_bp.route("/calls/<int:call_id>/applications/groups/<group>.csv")
@roles_required(*STAFF_ROLES)
def export_group(call_id: int, group: str):
    key = group
    call, filters, _stamp = _call_and_filters(call_id)
    spec = answer_exports.ExportSpec.for_call(call, filters)
    if answer_exports.find_group(answer_exports.load_questionnaire(spec), key) is None:
        abort(404)
    return _download(answer_exports.export_group_csv(spec, key, db.engine),
                     answer_exports.export_entry(call, filters, "csv", group=key),
                     "text/csv; charset=utf-8", f"applications-{call.year}-call-{call.id}-{key}.csv")


def _render_detail(application: Application, form: EligibilityOverrideForm) -> str:
    detail = staff_services.load_detail(application)
    return render_template(
        "applications/staff_detail.html", detail=detail, application=application, form=form,
        rule_labels=RULE_LABELS, country_name=country_name,
        can_override=application.status in eligibility_services.OVERRIDABLE_STATUSES,
        eligibility_label=staff_services.eligibility_label,
    )


@staff_bp.route("/applications/<int:application_id>")
@roles_required(*STAFF_ROLES)
def application_detail(application_id: int):
    application = get_application_or_404(application_id)
    staff_services.record_view(application)
    db.session.commit()
    form = EligibilityOverrideForm()
    if application.eligibility_override is not None:
        form.decision.data = "eligible" if application.eligibility_override else "ineligible"
    return _render_detail(application, form)


@staff_bp.route("/applications/<int:application_id>/eligibility", methods=["POST"])
@roles_required(*STAFF_ROLES)
def override_eligibility(application_id: int):
    application = get_application_or_404(application_id)
    form = EligibilityOverrideForm()
    if form.validate_on_submit():
        try:
            eligibility_services.override_eligibility(application, form.decision.data == "eligible",
                                                      form.reason.data or "", current_user)
        except DomainError as exc:
            if application.status not in eligibility_services.OVERRIDABLE_STATUSES:  # no form on the page to fix
                flash(str(exc), "error")
                return redirect(url_for("staff_applications.application_detail", application_id=application.id))
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            db.session.commit()
            names = {"application": application.reference or _("the application")}
            flash(_("Eligibility of %(application)s overridden: eligible.", **names)
                  if application.eligibility_override
                  else _("Eligibility of %(application)s overridden: not eligible.", **names), "success")
            return redirect(url_for("staff_applications.application_detail", application_id=application.id))
    return _render_detail(application, form)
