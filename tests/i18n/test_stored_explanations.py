"""A ranking proposal is stored (JSON) and shown later to readers of any language: its explanation lines are kept as
message keys with parameters and translated when shown, never stored as English sentences."""

from __future__ import annotations

from flask_babel import force_locale
from markupsafe import escape

from fellowship.selection.ranking import Candidate, Explanation, ProposalSummary, propose_selection

POOL = [Candidate(1, "Asia", 9.0), Candidate(2, "Asia", 8.0), Candidate(3, "Africa", 7.0), Candidate(4, "Africa", 6.0)]


def test_a_proposals_explanation_is_stored_as_messages_and_read_in_the_readers_language(app_ctx):
    proposal = propose_selection(POOL, 2, {"Africa": 50})
    assert proposal.explanation == [
        "Africa needs at least 1 of 2 places (50%): 1 proposed, 1 of them moved up over higher-ranked candidates."]
    summary = ProposalSummary(selected_count=2, waitlist_count=1, feasible=True, explanation=proposal.explanation,
                              seats=proposal.seats, ranked=4)
    stored = summary.to_json()["explanation"]
    assert stored == [["quota_met_moved", {"num": 1, "region": "Africa", "minimum": 1, "places": 2, "percent": 50,
                                           "proposed": 1}]]
    line = ProposalSummary.from_json(summary.to_json()).explanation[0]
    assert isinstance(line, Explanation)
    with force_locale("fr"):  # the region is named in the reader's language when shown, not when stored
        assert "Afrique" in line.translated() and "Africa" not in line.translated()
        assert str(escape(line)) == str(escape(line.translated()))  # a template shows the translated line


def test_an_unmeetable_quota_and_a_list_of_regions_are_kept_as_parameters(app_ctx):
    proposal = propose_selection(POOL, 2, {"Africa": 50, "Asia": 100})
    assert proposal.explanation[0] == (
        "The quotas need at least 3 places (Africa 1, Asia 2) but the call has only 2 places.")
    assert proposal.explanation[0].to_json() == ["quotas_over_places", {"num": 2, "total": 3,
                                                                        "regions": [["Africa", 1], ["Asia", 2]]}]
    with force_locale("ja"):
        assert "アフリカ 1" in proposal.explanation[0].translated()


def test_a_line_stored_as_english_before_lines_were_messages_still_reads(app_ctx):
    assert Explanation.from_json("Asia needs at least 2 of 4 places (50%): 2 proposed.") == (
        "Asia needs at least 2 of 4 places (50%): 2 proposed.")
