"""One dispatcher per process for sending results, and the per-provider limits it keeps.

    get_dispatcher().submit(request, api_key=..., provider=(key, limit), timeouts=..., retry_policy=...)
    limits_redis_url()      # the Redis that makes the limits global, or None (per process)
    timeouts_for(provider)  # Provider.timeout_s as providers.Timeouts
    retry_policy()          # PRISM_RUN_MAX_RETRIES as providers.RetryPolicy

All task threads of a worker process share ONE :class:`RunDispatcher` (providers.Dispatcher):
one event loop thread, one pooled httpx client, and one ``asyncio.Semaphore`` per provider sized
by ``Provider.max_concurrency``. At team scale the limit is global through Redis
(providers.limits). sending.py (the design notes, "Many requests in flight per worker") says why.
"""

from __future__ import annotations

import asyncio
import logging

from django.conf import settings

from playground.lib.per_process import PerProcess
from playground.providers import Dispatcher, RetryPolicy, Timeouts, limits
from playground.providers.limits import RedisSemaphore, SharedLimiter

__all__ = ["RunDispatcher", "get_dispatcher", "limits_redis_url", "retry_policy", "timeouts_for"]

log = logging.getLogger("playground.runs")
# httpx logs every request at INFO; the line per result that sending.py logs says more, once.
logging.getLogger("httpx").setLevel(logging.WARNING)


def retry_policy() -> RetryPolicy:
    return RetryPolicy(max_retries=int(getattr(settings, "PRISM_RUN_MAX_RETRIES", 3)))


def timeouts_for(provider) -> Timeouts:
    """Provider.timeout_s bounds each attempt (no streaming: the first byte is the whole answer)."""
    t = float(provider.timeout_s or 120)
    return Timeouts(connect=min(10.0, t), read=t, write=max(t, 30.0), pool=t, total=t)


class RunDispatcher(Dispatcher):
    """A Dispatcher whose limits come with each call: ``provider=(key, limit)``. The limit of a
    provider is read from the database per call, so a changed ``max_concurrency`` applies to the
    next calls (a new semaphore; calls in flight drain on the old one).

    With ``redis_url`` (team scale: :func:`limits_redis_url`), the limit holds across every
    process using that Redis: the process's semaphore is the first gate, then a slot of a
    Redis-backed semaphore with leases (providers.limits), key ``prism:limit:<key>``."""

    def __init__(self, *, redis_url: str | None = None, lease_s: float = 15.0, **kwargs):
        self._redis_url = redis_url or None
        self._lease_s = lease_s
        self._redis = None
        self._shared: dict = {}
        super().__init__(**kwargs)

    def _limiter(self, provider):
        if provider is None:
            return None
        key, limit = provider
        current = self._limiters.get(key)
        if current is None or getattr(current, "_prism_limit", None) != limit:
            current = asyncio.Semaphore(max(1, int(limit)))
            current._prism_limit = limit
            if self._redis_url:
                current = SharedLimiter(current, self._shared_semaphore(key), limit=limit)
                current._prism_limit = limit
            self._limiters[key] = current
        return current

    def _redis_client(self):
        """The redis.asyncio client, made on the dispatcher's loop where it lives."""
        if self._redis is None:
            import redis.asyncio  # only at team scale: the embedded default never loads the Redis client
            from redis.driver_info import DriverInfo

            # One DriverInfo for all connections: else each new connection reads redis-py's version from its metadata.
            self._redis = redis.asyncio.Redis.from_url(self._redis_url, socket_connect_timeout=5, socket_timeout=10,
                                                       driver_info=DriverInfo())  # fmt: skip
        return self._redis

    def _shared_semaphore(self, key: str):
        """One RedisSemaphore per provider key, kept across limit changes (its slots held still
        count). Called on the dispatcher's loop, where the redis.asyncio client lives."""
        if key not in self._shared:
            self._shared[key] = RedisSemaphore(self._redis_client(), f"prism:limit:{key}", lease_s=self._lease_s)
        return self._shared[key]

    def warm_up(self, connections: int) -> None:
        """At team scale, open the limits' Redis connections (as many as calls may ask at once)
        and load their scripts now. Redis away: logged; the sends will find out and cope. And
        load what httpx's first call on the loop would: anyio imports its asyncio backend then
        (16 ms of the loop's time in the worker's first burst of calls, py-spy)."""

        async def first_anyio_call():
            import anyio

            await anyio.sleep(0)

        self._call(first_anyio_call())
        if not self._redis_url:
            return

        async def prepare_limits():
            await limits.prepare(self._redis_client(), connections=connections)

        try:
            self._call(prepare_limits())
        except Exception as exc:
            log.warning("could not prepare the provider limits' Redis connections: %s", exc)

    def close(self) -> None:
        if self._redis is not None and self._loop.is_running():
            try:
                self._call(self._redis.aclose())
            except Exception:  # closing anyway
                pass
        super().close()


def limits_redis_url() -> str | None:
    """The Redis that makes provider limits global: PRISM_LIMITS_REDIS_URL, else the broker's when
    it is Redis; None on the embedded default (filesystem broker): limits are per process."""
    url = getattr(settings, "PRISM_LIMITS_REDIS_URL", "") or ""
    if url:
        return url
    broker = getattr(settings, "CELERY_BROKER_URL", "") or ""
    return broker if broker.startswith(("redis://", "rediss://")) else None


def _new_dispatcher() -> RunDispatcher:
    return RunDispatcher(
        max_connections=int(getattr(settings, "PRISM_DISPATCH_MAX_CONNECTIONS", 256)),
        retry_policy=retry_policy(),
        redis_url=limits_redis_url(),
        lease_s=float(getattr(settings, "PRISM_LIMITS_LEASE_S", 15)),
    )


_dispatcher = PerProcess(_new_dispatcher)


def get_dispatcher() -> RunDispatcher:
    """This process's dispatcher, made on first use (after a fork, a new one: threads don't fork)."""
    return _dispatcher.get()
