"""Migration 0016 turns every existing call into a one-round call: one review-round stage (weight 100%) owning the
call's rubric and reviews, with the same ranking and decisions as before; on a database of its own."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from flask import Flask
from flask_migrate import downgrade, upgrade

from fellowship.extensions import db, limiter
from fellowship.selection import ranking
from fellowship.selection.models import Decision, DecisionOutcome
from tests.conftest import make_app
from tests.scratch_databases import scratch_database


@pytest.fixture
def scratch_database_url(database_url: str, tmp_root: Path) -> Iterator[str]:
    with scratch_database(database_url, tmp_root, "fellowship_migration_0016") as url:
        yield url


def ranking_of(call_id: int) -> tuple[list[int], list[int], list[tuple[int, str, Any]]]:
    """The call's proposal (selected, waitlist) and the ranking page's rows (id, label, normalised score)."""
    db.session.expire_all()
    call = db.session.get_one(ranking.Call, call_id)
    proposal = ranking.proposal_for_call(call)
    page = ranking.ranking_rows(call, "normalised", 1, 50)
    db.session.commit()
    return proposal.selected, proposal.waitlist, [(r.id, r.proposal, r.normalised_mean) for r in page.rows]


def test_an_existing_one_round_call_keeps_its_ranking_and_decisions(app: Flask, app_settings: dict[str, Any],
                                                                     scratch_database_url: str):
    from tests.selection.test_ranking_page import make_ranked

    scratch = make_app({**app_settings, "SQLALCHEMY_DATABASE_URI": scratch_database_url})
    with scratch.app_context():
        try:
            upgrade()
            ranked = make_ranked()  # made as before stages: no stage rows
            call_id = ranked.call.id
            db.session.add(Decision(call_id=call_id, application_id=ranked.apps[2].id, outcome=DecisionOutcome.ACCEPT,
                                    reason="Selected: rank 1."))
            db.session.add(Decision(call_id=call_id, application_id=ranked.apps[4].id,
                                    outcome=DecisionOutcome.WAITLIST, reason="Waitlist position 1.",
                                    waitlist_position=1))
            db.session.commit()
            before = ranking_of(call_id)
            decisions_before = db.session.execute(sa.select(Decision.application_id, Decision.outcome, Decision.reason)
                                                  .order_by(Decision.application_id)).all()
            db.session.remove()

            downgrade(revision="0015")  # the schema and data as they were before stages
            with db.engine.connect() as conn:
                assert "selection_stages" not in sa.inspect(conn).get_table_names()
            upgrade(revision="0016")
            with db.engine.connect() as conn:
                stages = conn.execute(sa.text("SELECT call_id, position, kind, name, weight FROM selection_stages "
                                              "ORDER BY call_id")).all()
                calls = conn.execute(sa.text("SELECT id FROM calls ORDER BY id")).scalars().all()
            assert [s.call_id for s in stages] == calls  # every call, once
            assert all((s.position, s.kind, s.weight) == (1, "review", 100) for s in stages)
            upgrade()

            after = ranking_of(call_id)
            assert after == before
            assert db.session.execute(sa.select(Decision.application_id, Decision.outcome, Decision.reason)
                                      .order_by(Decision.application_id)).all() == decisions_before
        finally:
            db.session.remove()
            db.engine.dispose()
            limiter.init_app(app)  # the one Limiter keeps the storage of the last app set up
            app.extensions["celery"].set_current()
            app.extensions["celery"].set_default()
