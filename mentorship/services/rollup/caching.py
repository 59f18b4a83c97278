"""Computed rollup figures kept for a few seconds, in this process or shared through Redis."""

from __future__ import annotations

import contextlib
import hashlib
import pickle
import threading
import time

import redis


class _Cache:
    """Computed figures for a few seconds (thread-safe).

    In this process by default. With `ROLLUP_CACHE_URL` (Redis, as for the rate limits)
    every web process shares them, so one worker computes and all the others read; each
    still keeps what it read until the shared entry expires. The values are pickled by
    this code and read back only from that private server.
    """

    def __init__(self, size: int = 256):
        self.size = size
        self.entries: dict[tuple, tuple[float, object]] = {}
        self.lock = threading.Lock()
        self.shared = None  # a redis.Redis, when configured
        self.prefix = ""

    def configure(self, url: str | None, prefix: str) -> None:
        self.shared = redis.Redis.from_url(url, socket_timeout=1) if url else None
        self.prefix = prefix

    def get(self, key: tuple, seconds: float, make):
        now = time.monotonic()
        with self.lock:
            hit = self.entries.get(key)
        if hit and hit[0] > now:
            return hit[1]
        value, seconds_left = (
            self._get_shared(key, seconds, make) if self.shared is not None else (make(), seconds)
        )
        with self.lock:
            if len(self.entries) >= self.size:
                self.entries.clear()
            self.entries[key] = (now + seconds_left, value)
        return value

    def _get_shared(self, key: tuple, seconds: float, make) -> tuple[object, float]:
        """The shared value and how long it has left (kept here no longer than that)."""
        name = self.prefix + hashlib.sha256(repr(key).encode()).hexdigest()
        try:
            stored, left_ms = self.shared.pipeline().get(name).pttl(name).execute()
        except redis.RedisError:  # the figures can always be computed instead
            stored = None
        if stored is not None and left_ms > 0:
            try:
                return pickle.loads(stored), left_ms / 1000
            except Exception:  # written by another release: compute it afresh
                pass
        value = make()
        with contextlib.suppress(redis.RedisError):
            self.shared.set(name, pickle.dumps(value), px=max(1, int(1000 * seconds)))
        return value, seconds


cache = _Cache()
