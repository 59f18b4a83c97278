"""Computed figures kept for `ROLLUP_CACHE_SECONDS`: Flask-Caching, values stored as signed JSON.

`configure` picks the backend: Redis with `ROLLUP_CACHE_URL` (every web process shares
the figures: one computes, the others read), a per-process cache otherwise, none when
`ROLLUP_CACHE_SECONDS` is 0 (the tests). Whatever the backend, a value is JSON with an
HMAC over it keyed from `SECRET_KEY`, never a pickle: whoever can write to the Redis
server can at most make a worker compute the figures again, not run code or show
figures of their own (the rollup page's HTML is kept too, so this also keeps anyone
from putting markup on it). Values go in and out through `remembered`, which rebuilds the
service's dataclasses from the JSON with pydantic. Every cache key is made here.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import json
from collections.abc import Callable
from typing import Any, TypeVar

import pydantic
import redis
from cachelib.serializers import BaseSerializer
from flask import Flask, current_app
from flask_caching.backends.rediscache import RedisCache
from flask_caching.backends.simplecache import SimpleCache

from .extensions import cache

T = TypeVar("T")
_MAC_BYTES = hashlib.sha256().digest_size


class SignedJson(BaseSerializer):
    """JSON with an HMAC-SHA256 in front; anything that fails the check reads as a miss."""

    def __init__(self, secret_key: str):
        # A key of its own, derived from SECRET_KEY: a cache entry is no session cookie.
        self.key = hmac.new(str(secret_key).encode(), b"mentorship cache", "sha256").digest()

    def _mac(self, body: bytes) -> bytes:
        return hmac.new(self.key, body, "sha256").digest()

    def dumps(self, value: Any, protocol: int | None = None) -> bytes:
        body = json.dumps(value, separators=(",", ":")).encode()
        return self._mac(body) + body

    def loads(self, stored: bytes | None) -> Any:
        if not stored or len(stored) <= _MAC_BYTES:
            return None
        mac, body = stored[:_MAC_BYTES], stored[_MAC_BYTES:]
        if not hmac.compare_digest(mac, self._mac(body)):
            return None
        return json.loads(body)


class SharedCache(RedisCache):
    """Redis (`ROLLUP_CACHE_URL`), values as signed JSON; a slow server is a miss, not a wait."""

    @classmethod
    def factory(cls, app: Flask, config: dict, args: list, kwargs: dict) -> SharedCache:
        client = redis.Redis.from_url(config["CACHE_REDIS_URL"], socket_timeout=1)
        shared = cls(*args, host=client, key_prefix=config["CACHE_KEY_PREFIX"], **kwargs)
        shared.serializer = SignedJson(app.config["SECRET_KEY"])
        return shared


class ProcessCache(SimpleCache):
    """This process's memory (no `ROLLUP_CACHE_URL`), values as signed JSON all the same."""

    @classmethod
    def factory(cls, app: Flask, config: dict, args: list, kwargs: dict) -> ProcessCache:
        local = super().factory(app, config, args, kwargs)
        local.serializer = SignedJson(app.config["SECRET_KEY"])
        return local


def configure(app: Flask) -> None:
    seconds = app.config["ROLLUP_CACHE_SECONDS"]
    url = app.config["ROLLUP_CACHE_URL"] or None
    backend = SharedCache if url else ProcessCache
    cache.init_app(
        app,
        {
            "CACHE_TYPE": f"{__name__}.{backend.__name__}" if seconds > 0 else "NullCache",
            "CACHE_NO_NULL_WARNING": True,
            "CACHE_DEFAULT_TIMEOUT": seconds,
            "CACHE_REDIS_URL": url,
            "CACHE_KEY_PREFIX": f"{app.config.get('RATELIMIT_KEY_PREFIX') or 'mentorship'}:figures:",
            "CACHE_THRESHOLD": 256,
        },
    )


@functools.cache
def _adapter(kind: Any) -> pydantic.TypeAdapter:
    return pydantic.TypeAdapter(kind)


def remembered(key: str, kind: Any, make: Callable[[], T]) -> T:
    """`make()`, kept for ROLLUP_CACHE_SECONDS under `key` (0: always fresh).

    `kind` is the value's type (`list[CohortChoice]`): the JSON read back is checked
    against it and made into those objects again.
    """
    if current_app.config["ROLLUP_CACHE_SECONDS"] <= 0:
        return make()
    adapter = _adapter(kind)
    stored = None
    with contextlib.suppress(redis.RedisError):  # the figures can always be computed instead
        stored = cache.get(key)
    if stored is not None:
        with contextlib.suppress(pydantic.ValidationError):  # written by another release
            return adapter.validate_python(stored)
    value = make()
    with contextlib.suppress(redis.RedisError):
        cache.set(key, adapter.dump_python(value, mode="json"))
    return value


# The keys: one function per kind of value kept ------------------------------------------


def _key(kind: str, *parts: object) -> str:
    return f"{kind}:{hashlib.sha256(repr(parts).encode()).hexdigest()}"


def rollup_key(f, today, settings) -> str:
    """The rollup's figures for one filter (services.rollup.rollup)."""
    return _key("rollup", f, today, settings)


def rollup_html_key(f, today, role) -> str:
    """The rollup's figures drawn as HTML, for one role and filter (the rollup page)."""
    return _key("rollup-html", f, today, role)


def at_risk_key(cohort_id, system, today, settings) -> str:
    """The at-risk ranking for one cohort/system filter (services.at_risk.ranked_pilots)."""
    return _key("at-risk", cohort_id, system, today, settings)


def cohorts_key(today) -> str:
    """The cohorts a rollup filter may name (the rollup's filter form)."""
    return _key("cohorts", today)


def annual_report_key(f, year, page, per_page, today) -> str:
    """One page of the statewide annual report, with the row count."""
    return _key("annual-report", f, year, page, per_page, today)


def legislative_key(year_start, county) -> str:
    """The legislative report (published, suppressed) for one school year and county."""
    return _key("legislative", year_start, county)


def coverage_gap_key() -> str:
    """The coverage gap by county."""
    return _key("coverage-gap")


def coverage_gap_schools_key(county) -> str:
    """The ids of the schools in the coverage gap, for one county or all."""
    return _key("coverage-gap-schools", county)
