"""Staff pages of the ranking: the ranked table with the proposed selection, the chair's adjustments, exports."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from flask import Response, abort, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import current_user
from markupsafe import Markup, escape
from sqlalchemy import select
from sqlalchemy.orm import lazyload
from wtforms import SelectField, StringField, SubmitField
from wtforms.validators import Length

from fellowship.applications.permissions import get_application_or_404
from fellowship.audit.services import audited_download
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.navigation import row_url
from fellowship.pagination import requested_page
from fellowship.selection import bp, export, ranking
from fellowship.selection.ranking import MAX_REASON_LENGTH, Sort, parse_sort
from fellowship.spreadsheets import XLSX_MIMETYPE
from fellowship.widgets import option_markup

STAFF_ROLES = (Role.STAFF, Role.ADMIN)


ADJUST_CHOICES = [("include", _l("Include in the selection")), ("exclude", _l("Exclude from the selection")),
                  ("clear", _l("Clear the adjustment"))]


def adjust_options() -> dict[str, Markup]:
    """The <option>s of a row's adjustment select, by the action preselected (wtforms' markup, built once per
    language by option_markup's cache)."""
    options = option_markup(tuple((value, str(label)) for value, label in ADJUST_CHOICES))
    return {chosen: Markup("").join(selected if value == chosen else plain for value, plain, selected in options)
            for chosen, _label in ADJUST_CHOICES}


def score(value: Decimal | None) -> Markup:
    """A score as the ranking shows it: two decimals, or a dash when there is none."""
    return Markup('<span class="hint">—</span>') if value is None else escape(f"{value:.2f}")


class AdjustmentForm(FellowshipForm):
    """The chair includes, excludes or clears one application; the service insists on a reason.

    Its fields carry the row's prefix (ids stay unique on the ranking page); the form's plain `csrf_token` input is
    checked by CSRFProtect on every POST, so the form does not add a prefixed token of its own.
    """

    class Meta:
        csrf = False

    action = SelectField(_l("Adjustment"), choices=ADJUST_CHOICES)
    reason = StringField(_l("Reason"), validators=[Length(max=MAX_REASON_LENGTH)])
    submit = SubmitField(_l("Adjust"))


def adjustment_form(application_id: int, formdata: Any = None) -> AdjustmentForm:
    """The form of one row; its prefix keeps field ids unique on the page."""
    return AdjustmentForm(formdata=formdata, prefix=f"adjust-{application_id}")


def _args(sort: Sort, page: int) -> dict[str, Any]:
    args: dict[str, Any] = {"sort": sort}
    if page > 1:
        args["page"] = page
    return args


def _render(call: Call, failed: AdjustmentForm | None = None, failed_id: int | None = None,
            stored: ranking.StoredVersion | None = None) -> str:
    sort = parse_sort(request.args.get("sort"))
    page, per_page = requested_page()
    data = ranking.ranking_rows(call, sort, page, per_page, stored)
    if data.refreshed and failed is None:
        db.session.commit()  # keep the recomputed proposal for the next requests
    # One row at a time shows its adjustment form: the one the chair chose (?adjust=<id>#adjust-<id>-action, from
    # the row's "Adjust…" link) or the one whose form has just failed, rendered through WTForms with its errors.
    adjusting = failed_id if failed is not None else request.args.get("adjust", type=int)
    args = _args(sort, data.page.page)
    return render_template("selection/ranking.html", call=call, data=data, failed_form=failed, adjusting=adjusting,
                           sort=sort, link_args=args, adjust_options=adjust_options(),
                           reason_max=MAX_REASON_LENGTH, score=score,
                           detail_url=row_url("staff_applications.application_detail", "application_id"),
                           adjust_link=row_url("selection.call_ranking", "adjust", call_id=call.id, **args),
                           adjust_url=row_url("selection.adjust_selection", "application_id", call_id=call.id,
                                              **args))


def get_call_or_404(call_id: int, *, with_criteria: bool = False, with_quotas: bool = True) -> Call:
    """The call with its quotas (and its rubric when an export needs the criteria), else 404.

    The ranking page reads the quota seats from the stored proposal: it loads the quotas only if it recomputes.
    """
    stmt = select(Call).where(Call.id == call_id)
    if not with_criteria:
        stmt = stmt.options(lazyload(Call.criteria))
    if not with_quotas:
        stmt = stmt.options(lazyload(Call.quotas))
    call = db.session.scalar(stmt)
    if call is None:
        abort(404)
    return call


@bp.route("/staff/calls/<int:call_id>/ranking")
@roles_required(*STAFF_ROLES)
def call_ranking(call_id: int):
    found = ranking.call_with_stored_proposal(call_id, parse_sort(request.args.get("sort")))
    if found is None:
        abort(404)
    call, stored = found
    return _render(call, stored=stored)


@bp.route("/staff/calls/<int:call_id>/ranking/reviewers")
@roles_required(*STAFF_ROLES)
def reviewer_strictness(call_id: int):
    """Each reviewer's strictness in the call: what the ranking's normalised score corrects for."""
    call = get_call_or_404(call_id, with_quotas=False)
    page, per_page = requested_page()
    strictness = ranking.strictness_page(call.id, page, per_page)
    return render_template("selection/strictness.html", call=call, page=strictness, score=score)


@bp.route("/staff/calls/<int:call_id>/ranking/<int:application_id>/adjust", methods=["POST"])
@roles_required(*STAFF_ROLES)
def adjust_selection(call_id: int, application_id: int):
    call = get_call_or_404(call_id)
    application = get_application_or_404(application_id)
    if application.call_id != call.id:
        abort(404)
    form = adjustment_form(application.id, request.form)
    if form.validate_on_submit():
        try:
            ranking.adjust(call, application, form.action.data, form.reason.data or "", current_user)
        except DomainError as exc:
            form.reason.errors = [*form.reason.errors, str(exc)]
        else:
            db.session.commit()
            names = {"application": application.reference}
            flash({"include": _("%(application)s included in the selection.", **names),
                   "exclude": _("%(application)s excluded from the selection.", **names),
                   "clear": _("%(application)s back to the proposal's rule for the selection.", **names)}
                  [form.action.data], "success")
            args = _args(parse_sort(request.args.get("sort")), request.args.get("page", 1, type=int) or 1)
            return redirect(url_for("selection.call_ranking", call_id=call.id, **args,
                                    _anchor=f"row-{application.id}"))
    return _render(call, form, application.id)


def _export_spec(call: Call) -> export.ExportSpec:
    sort = parse_sort(request.args.get("sort"))
    return export.ExportSpec.for_call(call, sort, ranking.proposal_for_call(call, sort))


@bp.route("/staff/calls/<int:call_id>/ranking.csv")
@roles_required(*STAFF_ROLES)
def ranking_csv(call_id: int):
    call = get_call_or_404(call_id, with_criteria=True)
    spec = _export_spec(call)
    rows = audited_download(export.export_csv(spec, db.engine), export.export_entry(call, "csv", spec.sort))
    return Response(rows, mimetype="text/csv", content_type="text/csv; charset=utf-8",
                    headers={"Content-Disposition": f'attachment; filename="ranking-{call.year}-call-{call.id}.csv"',
                             "Cache-Control": "no-store"})


@bp.route("/staff/calls/<int:call_id>/ranking.xlsx")
@roles_required(*STAFF_ROLES)
def ranking_xlsx(call_id: int):
    call = get_call_or_404(call_id, with_criteria=True)
    spec = _export_spec(call)
    workbook = export.export_xlsx(spec, db.engine)  # built whole before it is audited and sent
    export.export_entry(call, "xlsx", spec.sort).write()
    db.session.commit()
    response = send_file(workbook, mimetype=XLSX_MIMETYPE, as_attachment=True,
                         download_name=f"ranking-{call.year}-call-{call.id}.xlsx")
    response.headers["Cache-Control"] = "no-store"
    return response
