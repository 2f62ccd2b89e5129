"""Staff outcome dashboard and its downloads, the large alumni export with progress, and the alumni directory."""

from __future__ import annotations

from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user, login_required
from wtforms import SelectField, SubmitField

from fellowship.alumni import bp, charts, directory, exports, outcomes
from fellowship.alumni.models import ExportJob, ExportStatus
from fellowship.applications.models import EnvironmentalField
from fellowship.audit.services import audited_download
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.geo import country_choices, is_country
from fellowship.pagination import paginate

STAFF = (Role.STAFF, Role.ADMIN)
#: Countries shown in the by-country charts (the tables list them all).
TOP_COUNTRIES = 10


@bp.app_context_processor
def _alumni_nav() -> dict[str, Any]:
    """`show_alumni_directory()` and `is_alumnus()` for the nav; callables, so pages that do not ask run no query."""
    return {"show_alumni_directory": lambda: directory.may_see_directory(current_user),
            "is_alumnus": lambda: directory.is_alumnus_this_request(current_user)}


def _cohort_id() -> int | None:
    """The ?cohort= value: a call with fellows, or None for all cohorts; an unknown call is a 404."""
    value = request.args.get("cohort", "all")
    if value in ("", "all"):
        return None
    if not value.isdigit() or int(value) not in {c.id for c in outcomes.cohorts()}:
        abort(404)
    return int(value)


def _share_bars(groups: list[outcomes.Figures], attribute: str) -> list[charts.Bar]:
    return [charts.Bar(f.label, getattr(f, attribute), outcomes.percent(getattr(f, attribute))) for f in groups]


def _charts(data: outcomes.Outcomes, comparison: list[outcomes.Figures]) -> dict[str, Any]:
    top = data.by_country[:TOP_COUNTRIES]
    rates = ((_("Return rate"), "return_rate"), (_("Environmental work"), "environmental_share"),
             (_("Leadership"), "leadership_share"), (_("Follow-up response"), "response_rate"))
    by_country_table = _("the table “All figures by home country”")
    return {
        "by_region": charts.grouped_bar_chart(
            _("Outcomes by home region"), [f.label for f in data.by_region],
            [charts.Series(name, _share_bars(data.by_region, attr)) for name, attr in rates],
            maximum=1.0, figures=_("the table “All figures by home region”")),
        "by_country": charts.grouped_bar_chart(
            _("Outcomes by home country (top %(num)d by alumni)", num=TOP_COUNTRIES), [f.label for f in top],
            [charts.Series(name, _share_bars(top, attr)) for name, attr in rates[:3]],
            maximum=1.0, figures=by_country_table),
        "alumni_by_country": charts.bar_chart(
            _("Alumni by home country (top %(num)d)", num=TOP_COUNTRIES),
            [charts.Bar(f.label, f.alumni, str(f.alumni)) for f in top], value_heading=_("Alumni"),
            figures=by_country_table),
        "cohorts": charts.grouped_bar_chart(
            _("Cohorts compared"), [f.label for f in comparison],
            [charts.Series(name, _share_bars(comparison, attr)) for name, attr in rates],
            maximum=1.0, figures=_("the table “All figures by cohort”")),
    }


@bp.route("/staff/outcomes")
@roles_required(*STAFF)
def outcomes_dashboard():
    cohort_id = _cohort_id()
    grouped = outcomes.grouped_figures()
    data = outcomes.outcomes(cohort_id, grouped)
    comparison = outcomes.cohort_comparison(grouped)
    return render_template("alumni/dashboard.html", data=data, comparison=comparison, charts=_charts(data, comparison),
                           cohorts=outcomes.cohorts(), cohort=cohort_id, percent=outcomes.percent)


def _download_name(cohort_id: int | None, extension: str) -> str:
    return f"outcomes-{'all' if cohort_id is None else f'cohort-{cohort_id}'}.{extension}"


@bp.route("/staff/outcomes.csv")
@roles_required(*STAFF)
def outcomes_csv():
    cohort_id = _cohort_id()
    body = exports.figures_csv(outcomes.outcomes(cohort_id), outcomes.cohort_comparison())
    return Response(body, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="{_download_name(cohort_id, "csv")}"',
                             "Cache-Control": "no-store"})


@bp.route("/staff/outcomes.xlsx")
@roles_required(*STAFF)
def outcomes_xlsx():
    cohort_id = _cohort_id()
    output = exports.figures_xlsx(outcomes.outcomes(cohort_id), outcomes.cohort_comparison())
    response = send_file(output, mimetype=exports.XLSX_MIMETYPE, as_attachment=True,
                         download_name=_download_name(cohort_id, "xlsx"))
    response.headers["Cache-Control"] = "no-store"
    return response


class ExportForm(FellowshipForm):
    file_format = SelectField(_l("Format"), choices=[("csv", _l("CSV")), ("xlsx", _l("Excel (XLSX)"))], default="csv")
    submit = SubmitField(_l("Export all alumni with careers and follow-ups"))


@bp.route("/staff/alumni/export", methods=["GET", "POST"])
@roles_required(*STAFF)
def alumni_export():
    form = ExportForm()
    rows = exports.alumni_count()
    limit = exports.inline_limit()
    if form.validate_on_submit():
        file_format = form.file_format.data or "csv"
        if rows > limit:
            try:
                job = exports.create_export_job(current_user, file_format)
            except DomainError as exc:
                form.file_format.errors = [str(exc)]
            else:
                db.session.commit()
                exports.enqueue_export(job.id)
                flash(ngettext("The export of %(num)d alumnus is being built; this page shows its progress.",
                               "The export of %(num)d alumni is being built; this page shows its progress.", rows),
                      "success")
                return redirect(url_for("alumni.export_job", job_id=job.id))
        else:
            name = exports.export_filename(file_format)
            if file_format == "xlsx":
                workbook = exports.alumni_xlsx()  # built whole before it is audited and sent
                exports.inline_export_entry(file_format, rows).write()
                db.session.commit()
                return send_file(workbook, mimetype=exports.XLSX_MIMETYPE, as_attachment=True, download_name=name)
            body = audited_download(exports.alumni_csv_stream(), exports.inline_export_entry(file_format, rows))
            return Response(body, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{name}"',
                                     "Cache-Control": "no-store"})
    return render_template("alumni/export.html", form=form, rows=rows, limit=limit)


def get_export_job_or_404(job_id: int) -> ExportJob:
    """An alumni export job its creator (or an admin) may see; anyone else gets 404."""
    job = db.session.get(ExportJob, job_id)
    if job is None or job.kind != exports.EXPORT_KIND:
        abort(404)
    if job.created_by_id != current_user.id and not current_user.has_role(Role.ADMIN):
        abort(404)
    return job


@bp.route("/staff/exports/<int:job_id>")
@roles_required(*STAFF)
def export_job(job_id: int):
    job = get_export_job_or_404(job_id)
    running = job.status in (ExportStatus.QUEUED, ExportStatus.RUNNING)
    return render_template("alumni/export_progress.html", job=job, running=running, ExportStatus=ExportStatus)


@bp.route("/staff/exports/<int:job_id>/download")
@roles_required(*STAFF)
def export_download(job_id: int):
    job = get_export_job_or_404(job_id)
    if job.status is not ExportStatus.DONE:
        flash(_("This export is not ready yet."), "info")
        return redirect(url_for("alumni.export_job", job_id=job.id))
    file_format = job.params.get("format", "csv")
    response = send_file(exports.open_export(job), mimetype=exports.MIMETYPES.get(file_format, "text/csv"),
                         as_attachment=True, download_name=job.filename or f"alumni.{file_format}")
    response.headers["Cache-Control"] = "no-store"
    return response


class DirectoryForm(FellowshipForm):
    class Meta:
        csrf = False  # a GET search form changes nothing

    country = SelectField(_l("Country"), description=_l("Where they work now, or their home country."))
    field = SelectField(_l("Environmental field"))


@bp.route("/alumni/directory")
@login_required
def alumni_directory():
    if not directory.may_see_directory(current_user):
        abort(403)
    form = DirectoryForm(request.args)
    form.country.choices = [("", _("Any country")), *country_choices()]
    form.field.choices = [("", _("Any field")), *EnvironmentalField.choices()]
    country = request.args.get("country", "").strip().upper() or None
    if country and not is_country(country):
        country = None
    field_value = request.args.get("field") or None
    field = EnvironmentalField(field_value) if field_value in {f.value for f in EnvironmentalField} else None
    page = paginate(directory.directory_query(country, field))
    args: dict[str, Any] = {k: v for k, v in (("country", country), ("field", field.value if field else None)) if v}
    if request.args.get("per_page", type=int):
        args["per_page"] = page.per_page
    return render_template("alumni/directory.html", form=form, page=page, link_args=args,
                           filtered=bool(country or field))
