"""The API tests' world (tests/api/world.py), built once a session and put back for each test that asks for it."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask import Flask

from tests.api.world import World, put_world
from tests.snapshots import TableSnapshot


@pytest.fixture(scope="session")
def world_snapshot(app: Flask) -> Iterator[TableSnapshot]:
    snapshot = TableSnapshot("api_world")
    yield snapshot
    with app.app_context():
        snapshot.drop()


@pytest.fixture
def world(app_ctx: Any, world_snapshot: TableSnapshot) -> World:
    """build_world()'s rows, committed, read in the test's app context (built once, then put back row for row)."""
    return put_world(world_snapshot)
