"""The assignment plan over random pools of reviewers, applications, caps and conflicts (hypothesis).

What must hold for every pool: no conflicted or duplicate pair, no cap exceeded, never more than k
reviewers; every application gets k whenever the pool allows it (the number of new assignments equals
a maximum flow computed here independently), and a short one comes with an explanation; and load is
balanced: no reviewer who could still take an application holds two fewer than one who was given it
(so, without conflicts, max − min load ≤ 1 among reviewers below their cap).
"""

from __future__ import annotations

import random
from collections import Counter, deque
from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from fellowship.selection.assignment import AssignmentPlan, ReviewerCapacity, plan_assignments

Pair = tuple[int, int]


@dataclass
class Pool:
    applications: list[int]
    reviewers: dict[int, ReviewerCapacity]
    existing: set[Pair]
    conflicts: set[Pair]
    k: int


@st.composite
def pools(draw: st.DrawFn, *, with_conflicts: bool = True, with_existing: bool = True) -> Pool:
    rnd = random.Random(draw(st.integers(0, 2**32 - 1)))  # a seed: quick to draw for hundreds of pairs
    reviewer_ids = sorted(rnd.sample(range(1, 500), draw(st.integers(2, 15))))
    applications = sorted(rnd.sample(range(1000, 5000), draw(st.integers(0, 40))))
    k = draw(st.integers(1, 4))
    caps = {r: draw(st.one_of(st.none(), st.integers(0, 12))) for r in reviewer_ids}
    pairs = [(a, r) for a in applications for r in reviewer_ids]
    conflict_rate = draw(st.floats(0, 0.7)) if with_conflicts else 0.0
    conflicts = {p for p in pairs if rnd.random() < conflict_rate}
    existing_rate = draw(st.floats(0, 0.3)) if with_existing else 0.0
    existing = {p for p in pairs if rnd.random() < existing_rate}
    # Reviewers may also hold assignments on applications outside this run (loads from earlier work).
    elsewhere = {r: (draw(st.integers(0, 3)) if with_existing else 0) for r in reviewer_ids}
    held = Counter(r for _, r in existing)
    reviewers = {r: ReviewerCapacity(caps[r], held[r] + elsewhere[r]) for r in reviewer_ids}
    return Pool(applications, reviewers, existing, conflicts, k)


def final_loads(pool: Pool, plan: AssignmentPlan) -> dict[int, int]:
    added = Counter(r for _, r in plan.pairs)
    return {r: c.current_load + added[r] for r, c in pool.reviewers.items()}


def has_room(pool: Pool, loads: dict[int, int], r: int) -> bool:
    cap = pool.reviewers[r].cap
    return cap is None or loads[r] < cap


def needs(pool: Pool) -> dict[int, int]:
    """Reviewers each application still lacks: k minus its existing, unconflicted ones."""
    held = Counter(a for a, r in pool.existing if (a, r) not in pool.conflicts)
    return {a: max(pool.k - held[a], 0) for a in pool.applications}


def max_flow(pool: Pool) -> int:
    """Most new assignments the pool allows: Edmonds–Karp on source → application → reviewer → sink."""
    source, sink = ("s", 0), ("t", 0)
    capacity: dict[tuple, dict[tuple, int]] = {source: {}, sink: {}}

    def edge(u: tuple, v: tuple, c: int) -> None:
        capacity.setdefault(u, {})[v] = capacity.setdefault(u, {}).get(v, 0) + c
        capacity.setdefault(v, {}).setdefault(u, 0)

    for a, need in needs(pool).items():
        edge(source, ("a", a), need)
        for r in pool.reviewers:
            if (a, r) not in pool.existing and (a, r) not in pool.conflicts:
                edge(("a", a), ("r", r), 1)
    for r, c in pool.reviewers.items():
        edge(("r", r), sink, 10_000 if c.cap is None else max(c.cap - c.current_load, 0))
    flow = 0
    while True:
        parent: dict[tuple, tuple | None] = {source: None}
        queue = deque([source])
        while queue and sink not in parent:
            u = queue.popleft()
            for v, c in capacity[u].items():
                if c > 0 and v not in parent:
                    parent[v] = u
                    queue.append(v)
        if sink not in parent:
            return flow
        v = sink
        while parent[v] is not None:
            u = parent[v]
            assert u is not None
            capacity[u][v] -= 1
            capacity[v][u] += 1
            v = u
        flow += 1


@settings(max_examples=200, deadline=None)
@given(pools())
def test_every_plan_is_valid_complete_when_feasible_and_balanced(pool: Pool) -> None:
    plan = plan_assignments(pool.applications, pool.reviewers, pool.existing, pool.conflicts, pool.k)
    loads = final_loads(pool, plan)
    new = set(plan.pairs)

    assert len(new) == len(plan.pairs), "a pair was planned twice"
    assert not new & pool.existing, "an existing assignment was planned again"
    assert not new & pool.conflicts, "a conflicted pair was planned"
    assert all(a in pool.applications and r in pool.reviewers for a, r in new)
    for r, c in pool.reviewers.items():
        if c.cap is not None and any(x == r for _, x in new):
            assert loads[r] <= c.cap, f"reviewer {r} over their cap"

    need = needs(pool)
    given_to = Counter(a for a, _ in plan.pairs)
    for a in pool.applications:
        assert given_to[a] + plan.shortfalls.get(a, 0) == need[a], "each application gets k reviewers or a shortfall"
        if a in plan.shortfalls:
            assert plan.shortfalls[a] > 0 and "missing" in plan.explanations[a]
            # Nobody who could have taken it was left with room.
            assert not [r for r in pool.reviewers if (a, r) not in pool.conflicts and (a, r) not in pool.existing
                        and (a, r) not in new and has_room(pool, loads, r)]
    assert set(plan.explanations) == set(plan.shortfalls)
    assert len(plan.pairs) == max_flow(pool), "fewer assignments than the pool allows"

    for a, s in new:
        for r in pool.reviewers:
            could_take = ((a, r) not in pool.conflicts and (a, r) not in pool.existing and (a, r) not in new
                          and has_room(pool, loads, r))
            assert not could_take or loads[s] - loads[r] <= 1, (
                f"reviewer {r} (load {loads[r]}) could take application {a} from {s} (load {loads[s]})")


@settings(max_examples=200, deadline=None)
@given(pools(with_conflicts=False, with_existing=False))
def test_without_conflicts_loads_differ_by_at_most_one_among_reviewers_below_their_cap(pool: Pool) -> None:
    plan = plan_assignments(pool.applications, pool.reviewers, set(), set(), pool.k)
    loads = final_loads(pool, plan)
    open_loads = [loads[r] for r in pool.reviewers if has_room(pool, loads, r)]
    if open_loads:
        assert max(open_loads) - min(open_loads) <= 1, loads
    # Everyone at or above the cap is no more loaded than the cap... and nobody below a cap is far behind.
    assert all(loads[r] <= (c.cap if c.cap is not None else loads[r]) for r, c in pool.reviewers.items())


@settings(max_examples=50, deadline=None)
@given(pools())
def test_the_plan_is_deterministic(pool: Pool) -> None:
    first = plan_assignments(pool.applications, pool.reviewers, pool.existing, pool.conflicts, pool.k)
    again = plan_assignments(list(reversed(pool.applications)), dict(reversed(pool.reviewers.items())),
                             set(pool.existing), set(pool.conflicts), pool.k)
    assert first == again


def test_a_capped_reviewer_goes_where_only_they_can_review() -> None:
    # Least-loaded greedy in id order would give application 1 to reviewer 10 and leave 2 with nobody.
    plan = plan_assignments([1, 2], {10: ReviewerCapacity(1, 0), 20: ReviewerCapacity(None, 0)}, set(),
                            {(2, 20)}, 1)
    assert sorted(plan.pairs) == [(1, 20), (2, 10)] and plan.complete


def test_a_shortfall_says_how_many_are_missing_and_why() -> None:
    reviewers = {1: ReviewerCapacity(None, 0), 2: ReviewerCapacity(0, 0), 3: ReviewerCapacity(None, 0)}
    plan = plan_assignments([7], reviewers, set(), {(7, 3)}, 3)
    assert plan.pairs == [(7, 1)] and plan.shortfalls == {7: 2}
    assert plan.explanations[7] == (
        "1 of 3 reviewers assigned, 2 missing. Of the 3 panel members, 1 already reviews it, "
        "1 has a conflict of interest with it or was taken off it, 1 has reached their cap. "
        "Add panel members, raise caps, or assign someone by hand.")
