"""Cursor pagination: each page is the rows after the last key of the previous one, in the order of an indexed key.

Unlike page numbers, a cursor walks every row exactly once while rows are added (a client syncing tens of thousands
of applications never sees one twice or misses one), and each page is an index range scan, as cheap at the end of
the table as at the start. The cursor is opaque to clients (URL-safe base64 of the last key as JSON); a cursor
that does not decode is a 400 problem.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from flask import request
from flask_smorest import abort
from sqlalchemy import Select
from sqlalchemy.orm import InstrumentedAttribute

from fellowship.extensions import db

MAX_LIMIT = 100
DEFAULT_LIMIT = 50


@dataclass(frozen=True)
class CursorPage:
    items: Sequence[Any]
    next_cursor: str | None


def encode_cursor(last_key: int) -> str:
    return base64.urlsafe_b64encode(json.dumps([last_key]).encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """The last key a cursor carries; 400 problem for anything that is not one of ours."""
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        value = json.loads(base64.urlsafe_b64decode(padded.encode("ascii")))
        if isinstance(value, list) and len(value) == 1 and type(value[0]) is int and 0 <= value[0] < 2**31:
            return int(value[0])
    except (ValueError, UnicodeEncodeError, binascii.Error):
        pass
    abort(400, message="The cursor is not valid: pass the `next_cursor` of a previous page unchanged.")
    raise AssertionError("unreachable")


def paginate_by_cursor(stmt: Select[Any], key: InstrumentedAttribute[int], *, cursor: str | None,
                       limit: int) -> CursorPage:
    """One page of the entities `stmt` selects, ordered by `key` (an indexed, unique integer column such as the
    primary key), after `cursor`; reads one row more than `limit` to know whether there is a next page."""
    limit = max(1, min(limit, MAX_LIMIT))
    if cursor:
        stmt = stmt.where(key > decode_cursor(cursor))
    rows = list(db.session.scalars(stmt.order_by(key).limit(limit + 1)))
    items = rows[:limit]
    next_cursor = encode_cursor(getattr(items[-1], key.key)) if len(rows) > limit else None
    return CursorPage(items=items, next_cursor=next_cursor)


def link_header(page: CursorPage) -> dict[str, str]:
    """The `Link: <...>; rel="next"` header for the next page (the same query with the new cursor), if any."""
    if page.next_cursor is None:
        return {}
    args = request.args.to_dict()
    args["cursor"] = page.next_cursor
    from urllib.parse import urlencode

    return {"Link": f'<{request.base_url}?{urlencode(args)}>; rel="next"'}
