"""The reasons the selection writes itself and stores: of a decision recorded from the proposal, of a promotion from
the waitlist, of each candidate at a confirmed shortlist. Stored as messages (`Decision.reason_message`,
`StageResult.reason_message`) and shown in each reader's language; a reason staff type is stored as typed."""

from __future__ import annotations

from typing import Any

from babel.lists import format_list
from flask_babel import gettext as _
from flask_babel import ngettext

from fellowship.geo import region_name
from fellowship.i18n.messages import MessageCatalog
from fellowship.i18n.texts import current_locale
from fellowship.questions.kinds.common import babel_locale
from fellowship.selection.models.decisions import OfferStatus
from fellowship.selection.models.stages import stage_name


def _value(name: str, value: Any) -> Any:
    """A stored parameter as the reader reads it: regions and stage names in their language, an offer's status as
    its label, a nested reason (a promotion's explanation) rendered."""
    if name == "region":
        return region_name(value)
    if name == "regions":
        return format_list([region_name(region) for region in value], locale=babel_locale(current_locale()))
    if name == "stage":
        return stage_name(value)
    if name == "status":
        return OfferStatus(value).label.lower()
    if name == "explanation":
        return REASONS.shown(value, value if isinstance(value, str) else "")
    return value


REASONS = MessageCatalog({
    # Decisions recorded from the proposal.
    "selected_included": lambda: _("Selected: included by the chair."),
    "selected_quota": lambda **p: _("Selected: rank %(rank)d, to meet the %(region)s quota.", **p),
    "selected_rank": lambda **p: _("Selected: rank %(rank)d.", **p),
    "waitlist_position": lambda **p: _("Waitlist position %(position)d.", **p),
    "waitlist_rank": lambda **p: _("Waitlist position %(position)d (rank %(rank)d).", **p),
    "waitlist_rank_passed_over": lambda regions, **p: " ".join((
        _("Waitlist position %(position)d (rank %(rank)d).", **p),
        _("Ranked above a candidate selected for a quota seat (%(regions)s): the quota, not the rank, decided.",
          regions=regions))),
    "not_selected_excluded": lambda: _("Not selected: excluded by the chair."),
    "not_shortlisted_at": lambda **p: _("Not shortlisted at %(stage)s.", **p),
    "not_selected_rank": lambda **p: _("Not selected: rank %(rank)d, below the places and the waitlist.", **p),
    "not_selected": lambda: _("Not selected this year."),
    # A place freed by a declined or expired offer.
    "promoted": lambda **p: _("Promoted from the waitlist when offer %(offer)d was %(status)s: %(explanation)s", **p),
    "waitlist_empty": lambda: _("The waitlist is empty: the place stays free."),
    "places_taken": lambda num: ngettext("All %(num)d place is still taken: nobody is promoted.",
                                         "All %(num)d places are still taken: nobody is promoted.", num),
    "promoted_for_quota": lambda **p: _(
        "The best-ranked waitlisted candidate from %(region)s is promoted to keep at least %(minimum)d of "
        "%(places)d places (%(percent)d%%) for %(region)s.", **p),
    "promoted_for_quota_ahead": lambda **p: _(
        "The best-ranked waitlisted candidate from %(region)s is promoted to keep at least %(minimum)d of "
        "%(places)d places (%(percent)d%%) for %(region)s, ahead of higher-ranked candidates from other regions.",
        **p),
    "quotas_unrestorable": lambda num, **p: ngettext(
        "No waitlisted candidate from %(regions)s can restore its quota: the best-ranked waitlisted candidate is "
        "promoted.",
        "No waitlisted candidate from %(regions)s can restore their quotas: the best-ranked waitlisted candidate is "
        "promoted.", num, **p),
    "quotas_stay_met": lambda: _("Every quota stays met: the best-ranked waitlisted candidate is promoted."),
    # Each candidate at a confirmed shortlist.
    "advances_included": lambda: _("Advances: included by the chair."),
    "not_advancing_excluded": lambda: _("Does not advance: excluded by the chair."),
    "advances_quota": lambda **p: _("Advances: rank %(rank)d, to meet the %(region)s quota.", **p),
    "advances_rank": lambda **p: _("Advances: rank %(rank)d.", **p),
    "not_advancing_unscored": lambda: _("Does not advance: no score in the stages before the shortlist."),
    "not_advancing_rank": lambda **p: _("Does not advance: rank %(rank)d, below the %(n)d places.", **p),
}, _value)
