"""Schemas shared by every resource: problem details and the cursor page envelope."""

from __future__ import annotations

import marshmallow as ma

PROBLEM_CONTENT_TYPE = "application/problem+json"
#: The URL converter of an id in a path: ids are 32-bit, so a larger number is a 404 from the routing (and the
#: OpenAPI document says so), never a query the database refuses with a 500. Use as f"/<{ID}:call_id>".
ID = "int(min=1, max=2147483647)"


class ProblemSchema(ma.Schema):
    """An error as RFC 9457 problem details."""

    type = ma.fields.String(required=True, metadata={
        "description": "A URI naming the kind of problem; 'about:blank' when the HTTP status says it all."})
    title = ma.fields.String(required=True, metadata={"description": "A short summary of the kind of problem."})
    status = ma.fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    detail = ma.fields.String(metadata={"description": "What went wrong this time, for a person to read."})
    instance = ma.fields.String(metadata={"description": "The path of the request that had the problem."})
    errors = ma.fields.Dict(metadata={
        "description": "For a 422: the fields (by location, then name) that were not accepted, with the reasons."})


class PageSchema(ma.Schema):
    """What every list returns: a page of items and the cursor for the next one."""

    next_cursor = ma.fields.String(allow_none=True, required=True, metadata={
        "description": "Pass as `cursor` to get the next page; null on the last page."})


class PageArgsSchema(ma.Schema):
    """The query parameters of every list."""

    class Meta:
        unknown = ma.EXCLUDE

    cursor = ma.fields.String(metadata={"description": "The `next_cursor` of the previous page; omit for the first."})
    limit = ma.fields.Integer(load_default=50, validate=ma.validate.Range(min=1, max=100),
                              metadata={"description": "How many items per page (1 to 100)."})
