"""Cached aggregates: within one request (app context) figures are read from Redis once; a commit drops them."""

from __future__ import annotations

import redis

from fellowship import cached


def test_a_request_reads_figures_once_and_a_change_committed_in_it_makes_it_read_again(app):
    figures = cached.aggregate("test-request-memo")
    computed: list[int] = []

    def compute() -> dict[str, int]:
        computed.append(1)
        return {"n": len(computed)}

    store = redis.Redis.from_url(app.config["REDIS_URL"])
    with app.app_context():
        assert figures.get("x", compute) == {"n": 1}
        store.flushdb()  # the second read in the same request does not go to Redis
        assert figures.get("x", compute) == {"n": 1}
        assert len(computed) == 1
    with app.app_context():  # the next request does
        assert figures.get("x", compute) == {"n": 2}
        figures.invalidate({"x"})  # what a commit that changes the inputs does
        assert figures.get("x", compute) == {"n": 3}
        figures.invalidate({"*"})
        assert figures.get("x", compute) == {"n": 4}
    with app.app_context():
        assert figures.get("x", compute) == {"n": 4}  # from Redis
