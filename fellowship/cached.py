"""Read-mostly aggregates cached in Redis until a committed change to their inputs.

Pages that show whole-table figures (the outcome dashboard, a call's status counts) would otherwise recompute them
on every view, at a cost that grows with the data. Each cached aggregate has a name and scopes (a call id, "all");
code that changes an input marks the scope (or every scope) changed on the session, and the version is bumped only
after the transaction commits. The version is read BEFORE the figures are computed, so figures computed from data
older than the newest commit are stored under an older version that nobody reads again: a reader never keeps
stale figures. Entries also expire after `seconds`, for changes made outside the application (SQL by hand).
Without Redis (or when it fails) the figures are computed each time.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from typing import Any, TypeVar

import redis
from flask import current_app, g, has_app_context
from sqlalchemy import event, inspect, select
from sqlalchemy.orm import ORMExecuteState, Session

from fellowship.outages import Outage, outage

log = logging.getLogger(__name__)

T = TypeVar("T")
_CHANGES = "cached_aggregate_changes"
_EVERY_SCOPE = "*"


def _client() -> Any:
    """The app's Redis client for cached aggregates (one per app), or None when Redis is not configured."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    client = app.extensions.get("cached_aggregates_redis")
    if client is None and app.config.get("REDIS_URL"):
        client = app.extensions["cached_aggregates_redis"] = redis.Redis.from_url(
            app.config["REDIS_URL"], socket_connect_timeout=1, socket_timeout=1)
    return client


def _redis_outage() -> Outage:
    """This process's view of the cache's Redis: one line when it goes away, one when it is back."""
    app: Any = current_app._get_current_object()  # type: ignore[attr-defined]
    found: Outage | None = app.extensions.get("cached_aggregates_outage")
    if found is None:
        client = _client()
        kwargs = client.connection_pool.connection_kwargs if client is not None else {}
        address = f"{kwargs.get('host', '?')}:{kwargs.get('port', '?')}/{kwargs.get('db', 0)}"
        found = app.extensions["cached_aggregates_outage"] = outage(
            f"cached-aggregates redis {address}", f"Redis for cached figures at {address}", log)
    return found


def _request_memo() -> dict[tuple[str, str], Any] | None:
    """Figures already read in this app context (a request, a task), or None outside one."""
    return g.setdefault("_cached_aggregates", {}) if has_app_context() else None


class CachedAggregate:
    """JSON-serialisable figures named `name`, cached per scope."""

    def __init__(self, name: str, seconds: int = 600) -> None:
        self.name = name
        self.seconds = seconds

    def _epoch_key(self) -> str:
        return f"fellowship:cached:{self.name}:epoch"

    def _version_key(self, scope: str) -> str:
        return f"fellowship:cached:{self.name}:version:{scope}"

    def get(self, scope: str | int, compute: Callable[[], T]) -> T:
        """The cached figures of `scope`, or `compute()` (stored for the next readers). Within a request the first
        answer is kept, so a page asking twice goes to Redis once; a commit that changes them drops it."""
        scope = str(scope)
        memo = _request_memo()
        if memo is not None and (self.name, scope) in memo:
            return memo[(self.name, scope)]
        value = self._get(scope, compute)
        if memo is not None:
            memo[(self.name, scope)] = value
        return value

    def _get(self, scope: str, compute: Callable[[], T]) -> T:
        client = _client()
        if client is None:
            return compute()
        try:
            epoch, version = client.mget(self._epoch_key(), self._version_key(scope))
            key = f"fellowship:cached:{self.name}:{scope}:{int(epoch or 0)}:{int(version or 0)}"
            cached = client.get(key)
        except redis.RedisError as exc:
            _redis_outage().failed(exc, "figures are computed without the cache until it is back")
            return compute()
        _redis_outage().succeeded()
        if cached is not None:
            return json.loads(cached)
        value = compute()
        try:
            client.set(key, json.dumps(value), ex=self.seconds)
        except redis.RedisError as exc:
            _redis_outage().failed(exc, "figures are computed without the cache until it is back")
        return value

    def changed(self, session: Session, scope: str | int | None) -> None:
        """An input of `scope` (None: of any scope) changed in this transaction: stale after it commits."""
        changes: dict[str, set[str]] = session.info.setdefault(_CHANGES, {})
        changes.setdefault(self.name, set()).add(_EVERY_SCOPE if scope is None else str(scope))

    def invalidate(self, scopes: set[str]) -> None:
        memo = _request_memo()
        if memo is not None:
            for key in [k for k in memo if k[0] == self.name and (_EVERY_SCOPE in scopes or k[1] in scopes)]:
                del memo[key]
        client = _client()
        if client is None:
            return
        try:
            with client.pipeline(transaction=False) as pipe:
                if _EVERY_SCOPE in scopes:
                    pipe.incr(self._epoch_key())
                else:
                    for scope in scopes:
                        pipe.incr(self._version_key(scope))
                pipe.execute()
        except redis.RedisError as exc:
            _redis_outage().failed(exc, f"changed {self.name} figures could not be marked stale; cached copies "
                                        f"expire within {self.seconds} s")
        else:
            _redis_outage().succeeded()


#: Entities whose rows feed derived figures, with the attributes that matter (None: any change, insert or delete).
Inputs = Mapping[type, tuple[str, ...] | None]


def flushed_scopes(session: Session, inputs: Inputs, scope: str = "call_id", *,
                   counts_when_added_or_removed: Callable[[Any], bool] = lambda obj: True,
                   counts_when_changed: Callable[[Any], bool] = lambda obj: True) -> set[Any]:
    """The `scope` values (e.g. call ids) whose derived figures a flush changes: rows of `inputs` added or removed
    (where `counts_when_added_or_removed` says they matter), or with one of their attributes changed (where
    `counts_when_changed` says the row matters). A row moved to another scope changes both."""
    scopes: set[Any] = set()
    for group, changed_only in ((session.new, False), (session.deleted, False), (session.dirty, True)):
        for obj in group:
            attributes = inputs.get(type(obj), ())
            if attributes == ():
                continue
            state: Any = inspect(obj)
            if changed_only and attributes is not None:
                if not any(state.attrs[name].history.has_changes() for name in attributes):
                    continue
                if not counts_when_changed(obj):
                    continue
            elif not changed_only and not counts_when_added_or_removed(obj):
                continue
            key = scope if scope in state.attrs else "id"  # the scope's own row (a call) is its own scope
            scopes.add(getattr(obj, key))
            scopes.update(state.attrs[key].history.deleted)
    scopes.discard(None)
    return scopes


def statement_scopes(state: ORMExecuteState, inputs: Inputs, scope: str = "call_id") -> set[Any] | None:
    """The `scope` values a bulk INSERT/UPDATE/DELETE of an input touches (it bypasses the flush): empty when it
    touches no input, None when that cannot be told (callers treat it as "every scope"). A statement that names its
    scope in the execution option `touched_<scope>` (e.g. touched_call_id=7) is taken at its word: no SELECT."""
    if not (state.is_insert or state.is_update or state.is_delete) or state.bind_mapper is None:
        return set()
    entity = state.bind_mapper.class_
    attributes = inputs.get(entity, ())
    if attributes == ():
        return set()
    if state.is_update and attributes is not None:
        values = getattr(state.statement, "_values", None) or {}
        if values and not {getattr(key, "key", key) for key in values} & set(attributes):
            return set()
    named = state.execution_options.get(f"touched_{scope}")
    if named is not None:  # the caller says which scope its rows are in (a submit's UPDATE of one application)
        return {named}
    column = getattr(entity, scope, None)
    return touched_values(state, column if column is not None else entity.id)


def touched_values(state: ORMExecuteState, column: Any) -> set[Any] | None:
    """The values of `column` (e.g. a call id) in the rows a bulk INSERT/UPDATE/DELETE is about to touch, or None
    when that cannot be told (which callers treat as "any"). An INSERT names them in its parameters; for an UPDATE
    or a DELETE they are read with the statement's own WHERE, before it runs."""
    params = state.parameters
    rows: list[Any] = list(params) if isinstance(params, list) else [params] if params else []
    if state.is_insert:
        if rows and all(isinstance(r, dict) and r.get(column.key) is not None for r in rows):
            return {r[column.key] for r in rows}
        return None
    where = getattr(state.statement, "whereclause", None)
    if where is None or rows:
        return None
    return set(state.session.connection().execute(select(column).where(where).distinct()).scalars())


_REGISTRY: dict[str, CachedAggregate] = {}


def aggregate(name: str, seconds: int = 600) -> CachedAggregate:
    """The cached aggregate called `name` (one instance per name)."""
    return _REGISTRY.setdefault(name, CachedAggregate(name, seconds))


@event.listens_for(Session, "after_commit")
def _invalidate_on_commit(session: Session) -> None:
    changes: dict[str, set[str]] = session.info.pop(_CHANGES, {})
    if changes and has_app_context():
        for name, scopes in changes.items():
            _REGISTRY[name].invalidate(scopes)


@event.listens_for(Session, "after_soft_rollback")
def _forget_on_rollback(session: Session, _previous: Any) -> None:
    if not session.in_transaction():
        session.info.pop(_CHANGES, None)
