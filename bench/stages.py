"""The bench call in three stages (issue 15): review (40%) -> shortlist of the best SHORTLIST -> interview (60%).

Seeded in set-based SQL after the review scores are computed: the stages, the confirmed shortlist's result for every
application (the best SHORTLIST by normalised review score advance), and an interview score for each of them, so the
ranking page orders and labels 50,000 applications by the combined score of two stages among those shortlisted.

    make bench-stages   (or .venv/bin/python -m bench.stages; BENCH_SIZES, BENCH_SECONDS, BENCH_REPEATS as make bench)

prints issue 15's figures alone: `make bench` (bench/pages.py) driven on /healthz and the ranking only, at 5,000 and
50,000 applications, no languages: the ranking's throughput against /healthz, its growth and queries, and its first
view after a score change (≤ 250 ms at 50,000), with PASS/FAIL per target.
"""

from __future__ import annotations

import sqlalchemy as sa

SHORTLIST = 500


def seed_stages(conn: sa.Connection, call_id: int, shortlist: int = SHORTLIST) -> None:
    """Review round (the call's own, 40%), a confirmed shortlist of `shortlist`, an interview (60%) with scores."""
    p = {"call": call_id, "n": shortlist}
    conn.execute(sa.text("DELETE FROM selection_stages WHERE call_id = :call"), p)
    conn.execute(sa.text(
        "INSERT INTO selection_stages (call_id, position, kind, name, weight, blind, advance_count, advance_by_quota, "
        "advanced_at, created_at, updated_at) VALUES "
        "(:call, 1, 'review', 'Review', 40, false, NULL, false, NULL, now(), now()), "
        "(:call, 2, 'shortlist', 'Shortlist', 0, false, :n, true, now(), now(), now()), "
        "(:call, 3, 'interview', 'Interview', 60, false, NULL, false, NULL, now(), now())"), p)
    cut = conn.scalar(sa.text("SELECT id FROM selection_stages WHERE call_id = :call AND kind = 'shortlist'"), p)
    interview = conn.scalar(sa.text("SELECT id FROM selection_stages WHERE call_id = :call AND kind = 'interview'"), p)
    conn.execute(sa.text(
        "INSERT INTO stage_results (stage_id, application_id, call_id, advanced, position, score, reason) "
        "SELECT :cut, a.id, :call, r.n <= :n, r.n, s.normalised_mean, "
        "CASE WHEN r.n <= :n THEN 'Advances: rank ' || r.n ELSE 'Does not advance: rank ' || r.n END "
        "FROM applications a JOIN application_scores s ON s.application_id = a.id "
        "JOIN (SELECT application_id, row_number() OVER (ORDER BY normalised_mean DESC, application_id) AS n "
        "      FROM application_scores WHERE call_id = :call) r ON r.application_id = a.id "
        "WHERE a.call_id = :call"), {**p, "cut": cut})
    conn.execute(sa.text(
        "INSERT INTO stage_scores (stage_id, application_id, call_id, score_count, raw_score, normalised_score, "
        "updated_at) SELECT :interview, application_id, :call, 3, 1 + (application_id * 37 % 400) / 100.0, "
        "1 + (application_id * 37 % 400) / 100.0, now() FROM stage_results WHERE stage_id = :cut AND advanced"),
        {**p, "cut": cut, "interview": interview})


#: The pages `make bench-stages` drives (bench.pages' names): the ranking over three stages, and /healthz for its share.
PAGES = {"/healthz (bare)", "ranking, 3 stages"}


def main() -> None:
    from bench import pages  # bench.pages seeds with seed_stages: imported here, not at the top, to avoid a cycle

    pages.main(only=PAGES, languages=False)


if __name__ == "__main__":
    main()
