"""Pagination for any SELECT: one COUNT and one page of rows, never the whole table."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import current_app, request
from sqlalchemy import Integer, Select, func, literal, select

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
             scalars: bool = False, count: Select[Any] | None = None, total: int | None = None,
             count_if_full: bool = False) -> Page:
    """Run `stmt` for one page; `scalars` returns the first column (an entity) instead of rows.

    The total is `total` when the caller knows it, else the result of `count` (a cheaper SELECT count(...) giving
    the same number, e.g. without joins that do not filter), else a count over `stmt`. With `count_if_full`, for
    lists that usually fit on one page, one row more is read and the count runs only if there is a next page.
    """
    if page is None or per_page is None:
        page, per_page = requested_page()
    if total is None and count_if_full:
        result = db.session.execute(window(stmt, per_page + 1, (page - 1) * per_page))
        rows = result.scalars().all() if scalars else result.all()
        if len(rows) <= per_page and (rows or page == 1):
            return Page(items=rows, page=page, per_page=per_page, total=(page - 1) * per_page + len(rows))
    if total is None:
        if count is None:
            count = select(func.count()).select_from(stmt.order_by(None).subquery())
        total = db.session.scalar(count) or 0
    result = db.session.execute(window(stmt, per_page, (page - 1) * per_page))
    items = result.scalars().all() if scalars else result.all()
    return Page(items=items, page=page, per_page=per_page, total=total)


def window(stmt: Select[*tuple[Any, ...]], limit: int, offset: int) -> Select[*tuple[Any, ...]]:
    """`stmt` limited to `limit` rows from `offset`, both written into the SQL rather than bound.

    The driver prepares a statement run often (psycopg: from the 5th time on a connection), and PostgreSQL then
    keeps one generic plan for it, but only if that plan looks as cheap as planning each run afresh: with the LIMIT
    bound it cannot tell, so it re-planned the page's joins on every view (2 ms of the reviewer's 4 ms page query
    at 50,000 applications). With the numbers in the SQL, each page size and position is its own prepared statement
    that is planned a handful of times, then not again.
    """
    return stmt.limit(literal(limit, Integer, literal_execute=True)).offset(literal(offset, Integer,
                                                                                      literal_execute=True))
