"""Fixtures shared by the selection tests: the chair (a staff account) and their logged-in client."""

from __future__ import annotations

import pytest

from fellowship.auth.models import Role, User
from tests.conftest import login
from tests.factories import UserFactory


@pytest.fixture
def staff(app_ctx) -> User:
    return UserFactory(roles=[Role.STAFF], full_name="Chair Person")


@pytest.fixture
def staff_client(client, staff):
    login(client, staff.email)
    return client
