"""The proposed selection and waitlist promotion, against worked examples computed by hand.

The ten candidates, ranked by score (ids follow the rank, so "3" is third best):

    rank/id  1     2         3     4       5     6       7         8       9     10
    region   Asia  Americas  Asia  Africa  Asia  Africa  Americas  Africa  Asia  Africa
    score    4.9   4.8       4.7   4.6     4.5   4.4     4.3       4.2     4.1   4.0
"""

from __future__ import annotations

from decimal import Decimal

import pytest

from fellowship.selection.ranking import Candidate, minimum_seats, promotion_candidate, propose_selection

REGIONS = {1: "Asia", 2: "Americas", 3: "Asia", 4: "Africa", 5: "Asia", 6: "Africa", 7: "Americas", 8: "Africa",
           9: "Asia", 10: "Africa"}
POOL = [Candidate(i, REGIONS[i], Decimal("5.0") - Decimal(i) / 10) for i in range(1, 11)]


@pytest.mark.parametrize(("percent", "places", "seats"), [
    (50, 4, 2), (40, 10, 4), (40, 4, 2), (34, 3, 2), (33, 3, 1), (25, 3, 1), (0, 10, 0), (100, 7, 7), (1, 1, 1),
])
def test_a_quota_of_at_least_p_percent_needs_the_ceiling_of_p_percent_of_the_places(percent, places, seats):
    # 40% of 4 places is 1.6 seats: "at least 40%" needs 2; 34% of 3 is 1.02: needs 2.
    assert minimum_seats(percent, places) == seats


def test_without_quotas_the_places_go_by_rank_and_the_rest_wait_in_rank_order():
    proposal = propose_selection(POOL, 4, {})
    assert proposal.feasible
    assert proposal.selected == [1, 2, 3, 4]
    assert proposal.waitlist == [5, 6, 7, 8, 9, 10]
    assert proposal.explanation == []


def test_a_quota_pulls_up_the_best_candidates_of_its_region_over_higher_ranked_others():
    # 4 places, Africa at least 50% -> 2 seats. By rank alone Africa gets only 4 (ranks 1-4).
    # Africa's two best are 4 and 6: both take the reserved seats; the 2 remaining places go by rank to 1 and 2.
    # 3 (Asia, ranked above 6) is left out for 6: the quota moved 6 up.
    proposal = propose_selection(POOL, 4, {"Africa": 50})
    assert proposal.feasible
    assert proposal.selected == [1, 2, 4, 6]
    assert proposal.waitlist == [3, 5, 7, 8, 9, 10]
    assert proposal.by_quota == {6}
    assert proposal.status_of(6) == "Selected (quota)" and proposal.status_of(4) == "Selected"
    assert proposal.status_of(3) == "Waitlist 1 (a quota seat went to a lower rank)"
    assert proposal.waitlist_position(10) == 6
    assert [(s.region, s.minimum, s.proposed) for s in proposal.seats] == [("Africa", 2, 2)]
    assert proposal.explanation == [
        "Africa needs at least 2 of 4 places (50%): 2 proposed, 1 of them moved up over higher-ranked candidates."]


def test_two_quotas_are_met_together_and_the_rest_goes_by_rank():
    # 5 places; Africa >= 40% -> 2 seats (4, 6); Americas >= 20% -> 1 seat (2, already in the top ranks).
    # Reserved: 2, 4, 6; the 2 other places by rank: 1, 3.
    proposal = propose_selection(POOL, 5, {"Africa": 40, "Americas": 20})
    assert proposal.feasible
    assert proposal.selected == [1, 2, 3, 4, 6]
    assert proposal.waitlist == [5, 7, 8, 9, 10]
    assert proposal.by_quota == {6}


def test_a_quota_already_met_by_rank_changes_nothing():
    proposal = propose_selection(POOL, 6, {"Africa": 30})  # 2 seats; 4 and 6 are in the top 6 anyway
    assert proposal.selected == [1, 2, 3, 4, 5, 6]
    assert proposal.by_quota == frozenset()


def test_ties_are_broken_by_application_id_whatever_the_input_order():
    tied = [Candidate(9, "Asia", 4), Candidate(3, "Africa", 4), Candidate(5, "Asia", 4), Candidate(1, "Asia", 3)]
    assert propose_selection(tied, 2, {}).selected == [3, 5]
    assert propose_selection(list(reversed(tied)), 2, {}).waitlist == [9, 1]


def test_the_chair_includes_and_excludes_before_the_quotas_and_the_rank():
    # Exclude 1 (never selected, not waitlisted) and include 9 (selected although ranked 9th).
    # 4 places, Africa 50% -> 2 seats: 4 and 6. One place left by rank: 2 (1 is excluded).
    proposal = propose_selection(POOL, 4, {"Africa": 50}, {1: "exclude", 9: "include"})
    assert proposal.feasible
    assert proposal.selected == [2, 4, 6, 9]
    assert proposal.waitlist == [3, 5, 7, 8, 10]
    assert proposal.status_of(1) == "Excluded by the chair"
    assert proposal.status_of(9) == "Selected (included by the chair)"


def test_an_included_candidate_counts_towards_its_regions_quota():
    # Include 10 (Africa, ranked last): Africa needs one more seat, its best, 4; the 2 others by rank: 1 and 2.
    proposal = propose_selection(POOL, 4, {"Africa": 50}, {10: "include"})
    assert proposal.selected == [1, 2, 4, 10]
    assert proposal.feasible


def test_a_quota_with_too_few_candidates_is_explained_and_the_list_is_a_best_effort():
    # Africa at least 50% of 10 places -> 5 seats, but only 4 candidates from Africa (4, 6, 8, 10).
    proposal = propose_selection(POOL, 10, {"Africa": 50})
    assert not proposal.feasible
    assert proposal.explanation[0] == (
        "Africa needs at least 5 of 10 places (50%) but only 4 candidates from Africa are ranked.")
    assert "best effort" in proposal.explanation[-1]
    assert proposal.selected == list(range(1, 11))  # all of Africa, and every other place by rank
    assert [(s.minimum, s.proposed, s.met) for s in proposal.seats] == [(5, 4, False)]


def test_a_region_without_any_candidate_is_explained():
    proposal = propose_selection(POOL, 4, {"Oceania": 25})
    assert not proposal.feasible
    assert proposal.explanation[0] == (
        "Oceania needs at least 1 of 4 places (25%) but no candidate from Oceania is ranked.")
    assert proposal.selected == [1, 2, 3, 4]


def test_excluding_candidates_can_make_a_quota_impossible_and_says_so():
    proposal = propose_selection(POOL, 4, {"Africa": 50}, {4: "exclude", 6: "exclude", 8: "exclude"})
    assert not proposal.feasible
    assert proposal.explanation[0] == ("Africa needs at least 2 of 4 places (50%) but only 1 candidate from Africa "
                                       "is ranked and not excluded by the chair (3 excluded).")
    assert proposal.selected == [1, 2, 3, 10]


def test_quotas_adding_up_to_more_than_the_places_are_explained_and_the_best_ranked_demand_wins():
    # 4 places: Africa 50% -> 2 seats, Asia 60% -> 3 seats: 5 seats for 4 places.
    # The demand is Africa's 4, 6 and Asia's 1, 3, 5: the best-ranked four of them are 1, 3, 4, 5.
    proposal = propose_selection(POOL, 4, {"Africa": 50, "Asia": 60})
    assert not proposal.feasible
    assert proposal.explanation[0] == (
        "The quotas need at least 5 places (Africa 2, Asia 3) but the call has only 4 places.")
    assert proposal.selected == [1, 3, 4, 5]
    assert {s.region: (s.minimum, s.proposed) for s in proposal.seats} == {"Africa": (2, 1), "Asia": (3, 3)}


def test_inclusions_that_leave_no_room_for_a_quota_are_explained():
    proposal = propose_selection(POOL, 2, {"Africa": 50}, {1: "include", 2: "include"})
    assert not proposal.feasible
    assert proposal.explanation[0] == (
        "The quotas need 1 more place (Africa 1) but only 0 places are left after the chair's inclusions.")
    assert proposal.selected == [1, 2]
    assert proposal.waitlist[0] == 3


def test_unscored_applications_are_not_ranked_and_missing_reviews_are_mentioned():
    pool = [Candidate(1, "Asia", 4.0), Candidate(2, "Africa", None), Candidate(3, "Africa", 3.0, False)]
    proposal = propose_selection(pool, 2, {})
    assert proposal.selected == [1, 3]
    assert proposal.waitlist == []
    assert proposal.unranked == [2] and proposal.status_of(2) == "Not ranked"
    assert "1 proposed application has fewer reviews than the call asks for." in proposal.explanation
    assert "1 application without a submitted review is not ranked." in proposal.explanation


# --- Waitlist promotion -----------------------------------------------------------------------------------------

def test_a_freed_place_needed_by_a_quota_goes_to_that_regions_best_waitlisted_even_if_ranked_lower():
    # From the 4-place Africa-50% proposal: selected 1, 2, 4, 6; waitlist 3, 5, 7, 8, 9, 10.
    # 6 (Africa) declines: Africa would keep only 4, one under its 2 seats, so 8 (Africa) is promoted over 3.
    promotion = promotion_candidate([1, 2, 4, 6], [3, 5, 7, 8, 9, 10], REGIONS, 4, {"Africa": 50}, freed_id=6)
    assert promotion.application_id == 8
    assert promotion.explanation == (
        "The best-ranked waitlisted candidate from Africa is promoted to keep at least 2 of 4 places (50%) for "
        "Africa, ahead of higher-ranked candidates from other regions.")


def test_a_freed_place_no_quota_needs_goes_to_the_best_ranked_waitlisted():
    # 2 (Americas, no quota) declines: Africa still has 4 and 6, so the first on the waitlist, 3, is promoted.
    promotion = promotion_candidate([1, 2, 4, 6], [3, 5, 7, 8, 9, 10], REGIONS, 4, {"Africa": 50}, freed_id=2)
    assert promotion.application_id == 3
    assert promotion.explanation == "Every quota stays met: the best-ranked waitlisted candidate is promoted."


def test_a_quota_region_above_its_minimum_does_not_claim_the_freed_place():
    # Africa holds 3 seats (4, 6, 8) of 4, minimum 2: when 8 declines the best-ranked waitlisted (3) is promoted.
    promotion = promotion_candidate([1, 4, 6, 8], [3, 5, 10], REGIONS, 4, {"Africa": 50}, freed_id=8)
    assert promotion.application_id == 3


def test_with_no_waitlisted_candidate_from_the_region_the_best_ranked_is_promoted_and_it_says_why():
    promotion = promotion_candidate([1, 2, 4, 6], [3, 5, 7], REGIONS, 4, {"Africa": 50}, freed_id=6)
    assert promotion.application_id == 3
    assert promotion.explanation == ("No waitlisted candidate from Africa can restore its quota: the best-ranked "
                                     "waitlisted candidate is promoted.")


def test_an_empty_waitlist_promotes_nobody():
    promotion = promotion_candidate([1, 2, 4, 6], [], REGIONS, 4, {"Africa": 50}, freed_id=6)
    assert promotion.application_id is None
    assert promotion.explanation == "The waitlist is empty: the place stays free."


def test_freed_id_may_still_be_listed_as_selected_and_no_one_is_promoted_while_the_places_are_full():
    assert promotion_candidate([1, 2, 4, 6], [3, 8], REGIONS, 4, {"Africa": 50}, freed_id=6).application_id == 8
    full = promotion_candidate([1, 2, 3, 4, 5], [8], REGIONS, 4, {"Africa": 50}, freed_id=9)
    assert full.application_id is None and "still taken" in full.explanation


def test_a_region_already_below_its_minimum_gets_a_freed_place_that_was_not_its_own():
    # 4 places, Africa 50% (2 seats), Asia 25% (1 seat); Asia holds none. 7 (Americas) declines:
    # Africa still has its 2 (4, 6), Asia is short, so Asia's best waitlisted (3) goes ahead of 8 (Africa).
    promotion = promotion_candidate([2, 4, 6, 7], [8, 3, 10], REGIONS, 4, {"Africa": 50, "Asia": 25}, freed_id=7)
    assert promotion.application_id == 3
    assert "from Asia" in promotion.explanation
