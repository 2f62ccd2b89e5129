"""Staff pages of the ranking: the ranked table with the proposed selection, the chair's adjustments, exports."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
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

from fellowship.applications.models import ApplicationStatus
from fellowship.applications.permissions import get_application_or_404
from fellowship.audit.services import audited_download
from fellowship.auth.models import Role
from fellowship.auth.permissions import roles_required
from fellowship.calls.models import Call
from fellowship.errors import DomainError
from fellowship.extensions import db
from fellowship.forms import FellowshipForm
from fellowship.geo import country_namer
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


def _safe(html: str) -> Markup:
    """Text shown_rows made of our own catalog's messages (trusted, as the template's _() trusts them), its own tags
    and values it escaped itself, marked safe once whole."""
    return Markup(html)  # noqa: S704 - see above: every value in it was escaped where it was put in


#: A score as shown_rows writes it, without a value: the dash of score().
NO_SCORE = '<span class="hint">—</span>'


@dataclass(frozen=True, slots=True)
class ShownRow:
    """A row of the ranking table with the text its cells repeat from row to row made here, once per row.

    The template made it cell by cell: a translation, a filter or a helper call each, about twenty a row, which was
    most of the page's time (50 rows); it now prints these values and keeps the table's layout (issue 15).
    """

    row: ranking.RankingRow
    detail_url: str
    nationality: str
    status: str
    #: "3 of 3" and, under it, "3 assigned" (and the missing reviews tag).
    reviews: Markup
    #: The score cells, each a <td> with its data-label: raw, normalised, spread, each stage's, combined.
    scores: Markup
    adjust_link: str
    adjust_label: Markup


def shown_rows(data: ranking.Ranking, detail_url: Callable[[int], str],
               adjust_link: Callable[[int], str]) -> list[ShownRow]:
    """The page's rows as ShownRow: every message translated once for the page, then filled in for each row.

    Written with str formatting of values escaped here (the catalog's messages are trusted as the template's _()
    trusts them, numbers need no escaping, names and references are escaped), each cell marked safe once: Markup's
    own % escapes every value again through a helper object, and with a dozen values a row that was the row's cost.
    """
    submitted_of = _("%(submitted)d of %(wanted)d")
    # Each message its own call, outside the f-strings (pybabel does not look inside an f-string).
    assigned, missing, disagreement = _("%(count)d assigned"), _("Missing reviews"), _("Disagreement")
    assigned = f'<br><span class="hint">{assigned}</span>'
    missing = f'<br><span class="tag tag-missing">{missing}</span>'
    disagreement = f'<br><span class="tag tag-missing">{disagreement}</span>'
    adjust = _("Adjust… %(reference)s")
    labels = [_("Raw mean"), _("Normalised mean"), _("Spread"), *(str(escape(stage.name)) for stage in data.stages),
              *([_("Combined")] if data.stages else [])]
    statuses: dict[ApplicationStatus, str] = {}
    country = country_namer()
    wanted = data.call.reviewers_per_application
    shown = []
    for row in data.rows:
        status = statuses.get(row.status)
        if status is None:
            status = statuses[row.status] = row.status.label
        values = (row.raw_mean, row.normalised_mean, row.spread, *row.stage_scores,
                  *((row.combined,) if data.stages else ()))
        texts = [NO_SCORE if value is None else f"{value:.2f}" for value in values]
        if row.disagreement:
            texts[2] += disagreement
        shown.append(ShownRow(
            row=row, detail_url=detail_url(row.id), nationality=country(row.nationality) if row.nationality else "",
            status=status,
            reviews=_safe(submitted_of % {"submitted": row.review_count, "wanted": wanted}
                          + assigned % {"count": row.assignments} + (missing if row.missing_reviews else "")),
            scores=_safe("".join(f'<td data-label="{label}">{text}</td>'
                                 for label, text in zip(labels, texts, strict=True))),
            adjust_link=adjust_link(row.id), adjust_label=_safe(adjust % {"reference": escape(row.reference)})))
    return shown


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
    rows = shown_rows(data, row_url("staff_applications.application_detail", "application_id"),
                      row_url("selection.call_ranking", "adjust", call_id=call.id, **args))
    return render_template("selection/ranking.html", call=call, data=data, rows=rows, failed_form=failed,
                           adjusting=adjusting, sort=sort, link_args=args, adjust_options=adjust_options(),
                           reason_max=MAX_REASON_LENGTH,
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
