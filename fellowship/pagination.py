"""Pagination for any SELECT: one COUNT and one page of rows, never the whole table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from sqlalchemy import Select, func, select

from fellowship.extensions import db

MAX_PER_PAGE = 200


@dataclass(frozen=True)
class Page:
    items: Sequence[Any]
    page: int
    per_page: int
    total: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def first_index(self) -> int:
        return (self.page - 1) * self.per_page + 1 if self.total else 0

    @property
    def last_index(self) -> int:
        return min(self.page * self.per_page, self.total)


def requested_page() -> tuple[int, int]:
    """Page number and size from the query string, clamped to sane bounds."""
    page = max(request.args.get("page", 1, type=int) or 1, 1)
    per_page = request.args.get("per_page", current_app.config["PER_PAGE"], type=int) or 1
    return page, min(max(per_page, 1), MAX_PER_PAGE)


def paginate(stmt: Select[*tuple[Any, ...]], page: int | None = None, per_page: int | None = None, *,
             scalars: bool = False) -> Page:
    """Run `stmt` for one page; `scalars` returns the first column (an entity) instead of rows."""
    if page is None or per_page is None:
        page, per_page = requested_page()
    total = db.session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0
    result = db.session.execute(stmt.limit(per_page).offset((page - 1) * per_page))
    items = result.scalars().all() if scalars else result.all()
    return Page(items=items, page=page, per_page=per_page, total=total)
