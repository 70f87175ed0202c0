"""A provider's in-flight limit across processes and machines: a counting semaphore in Redis.

    sem = RedisSemaphore(redis.asyncio.Redis.from_url(url), "prism:limit:provider-7", lease_s=15)
    token = await sem.acquire(limit=3)      # waits (polling with backoff) while 3 slots are held
    ...                                     # renewed in the background while held
    await sem.release(token)

    limiter = SharedLimiter(asyncio.Semaphore(3), sem, limit=3)   # what send(limiter=...) takes
    await limiter.acquire(); limiter.release()

One sorted set per provider: members are slot tokens, scores their expiry (Redis's clock, in ms,
so machines need not agree on the time). Acquiring is one Lua script: drop the expired members,
then add a token if fewer than ``limit`` remain. Releasing is ZREM. While a slot is held it is
renewed every ``lease_s / 3`` seconds (one script for all the slots of the semaphore), so a
process that is SIGKILLed stops renewing and its slots are free again after ``lease_s`` at most:
no deadlock. A changed limit applies to the next acquisition; slots held drain as they finish.

:class:`SharedLimiter` keeps the process's own ``asyncio.Semaphore`` as the first gate (a process
never asks Redis for more slots than the limit, so one process cannot hammer it), then takes a
Redis slot. If Redis cannot be reached it logs a warning and goes on with the process's limit
alone (the broker is the same Redis, so nothing else would be moving either). HTTP and Redis only:
no Django.
"""

from __future__ import annotations

import asyncio
import logging
import os
import random
import secrets
import time

__all__ = ["RedisSemaphore", "SharedLimiter"]

log = logging.getLogger("playground.providers")

_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return 1
"""

_RENEW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[1])
local renewed = 0
for i = 2, #ARGV do
  renewed = renewed + redis.call('ZADD', KEYS[1], 'XX', 'CH', now + lease, ARGV[i])
end
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return renewed
"""


class RedisSemaphore:
    """A counting semaphore shared by every process using the same Redis ``key``. Use it from one
    event loop (the one its ``redis.asyncio`` client belongs to)."""

    def __init__(self, client, key: str, *, lease_s: float = 15.0, poll_s: tuple[float, float] = (0.005, 0.1)):
        self.client = client
        self.key = key
        self.lease_ms = max(1, int(lease_s * 1000))
        self.renew_every_s = lease_s / 3
        self.poll_min_s, self.poll_max_s = poll_s
        self._acquire = client.register_script(_ACQUIRE)
        self._renew = client.register_script(_RENEW)
        self.held: set[str] = set()
        self._renewer: asyncio.Task | None = None
        self._prefix = f"{os.getpid()}-{secrets.token_hex(4)}-"
        self._count = 0

    def _token(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count}"

    async def try_acquire(self, limit: int) -> str | None:
        """A slot's token, or None when ``limit`` slots are held. Raises redis errors."""
        token = self._token()
        if await self._acquire(keys=[self.key], args=[max(1, int(limit)), self.lease_ms, token]):
            self.held.add(token)
            self._start_renewer()
            return token
        return None

    async def acquire(self, limit: int, *, timeout: float | None = None) -> str:
        """Wait for a slot, polling Redis with exponential backoff (jittered) up to ``poll_max_s``.
        Raises TimeoutError after ``timeout`` seconds if given."""
        deadline = None if timeout is None else time.monotonic() + timeout
        delay = self.poll_min_s
        while True:
            token = await self.try_acquire(limit)
            if token is not None:
                return token
            if deadline is not None and time.monotonic() + delay > deadline:
                raise TimeoutError(f"no slot of {self.key} within {timeout} s")
            await asyncio.sleep(delay * (0.5 + random.random()))
            delay = min(delay * 2, self.poll_max_s)

    async def release(self, token: str) -> None:
        self.held.discard(token)
        await self.client.zrem(self.key, token)

    async def renew(self) -> int:
        """Extend every slot held by this semaphore; how many were still there."""
        if not self.held:
            return 0
        return await self._renew(keys=[self.key], args=[self.lease_ms, *self.held])

    def _start_renewer(self) -> None:
        if self._renewer is None or self._renewer.done():
            self._renewer = asyncio.get_running_loop().create_task(self._renew_while_held())

    async def _renew_while_held(self) -> None:
        while self.held:
            await asyncio.sleep(self.renew_every_s)
            if not self.held:
                return
            try:
                held = len(self.held)
                renewed = await self.renew()
                if renewed < held:
                    log.warning("%s: %d of %d slots had expired before their renewal", self.key, held - renewed, held)
            except Exception as exc:  # Redis away: keep trying, the lease covers a short outage
                log.warning("%s: could not renew the slots: %s", self.key, exc)


class SharedLimiter:
    """What :func:`playground.providers.send` takes as ``limiter``: the process's semaphore first,
    then a slot of the shared :class:`RedisSemaphore`. ``release()`` is synchronous (send calls it
    in a ``finally``): it hands the ZREM to a task, which frees the local gate once Redis has the
    slot back."""

    def __init__(self, local: asyncio.Semaphore, shared: RedisSemaphore, *, limit: int):
        self.local = local
        self.shared = shared
        self.limit = max(1, int(limit))
        self._tokens: list[str | None] = []
        self._tasks: set[asyncio.Task] = set()
        self._warned_at = 0.0

    async def acquire(self) -> bool:
        await self.local.acquire()
        try:
            token = await self.shared.acquire(self.limit)
        except asyncio.CancelledError:
            self.local.release()
            raise
        except Exception as exc:
            now = time.monotonic()
            if now - self._warned_at > 60:
                self._warned_at = now
                log.warning("%s: Redis unavailable (%s); limiting within this process only", self.shared.key, exc)
            token = None
        except BaseException:
            self.local.release()
            raise
        self._tokens.append(token)
        return True

    def release(self) -> None:
        token = self._tokens.pop() if self._tokens else None
        if token is None:
            self.local.release()
            return
        task = asyncio.get_running_loop().create_task(self._release(token))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, token: str) -> None:
        try:
            await self.shared.release(token)
        except Exception as exc:  # the lease frees it in the end
            log.warning("%s: could not release a slot (%s); it expires with its lease", self.shared.key, exc)
        finally:
            self.local.release()

    def locked(self) -> bool:
        return self.local.locked()
