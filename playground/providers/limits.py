"""A provider's in-flight limit across processes and machines: a counting semaphore in Redis.

    sem = RedisSemaphore(redis.asyncio.Redis.from_url(url), "prism:limit:provider-7", lease_s=15)
    token = await sem.acquire(limit=3)      # waits while 3 slots are held, woken when one frees
    ...                                     # renewed in the background while held
    await sem.release(token)

    limiter = SharedLimiter(asyncio.Semaphore(3), sem, limit=3)   # what send(limiter=...) takes
    await limiter.acquire(); limiter.release()

One sorted set per provider: members are slot tokens, scores their expiry (Redis's clock, in ms,
so machines need not agree on the time). Acquiring is one Lua script: drop the expired members,
then add a token if fewer than ``limit`` remain; if not, set the flag ``<key>:waiting`` (for a
few seconds, refreshed by each try) and answer how long until the first lease expires. Releasing
is one script too: ZREM, and while the flag is up, a wake-up pushed onto the semaphore's list
``<key>:wake`` (kept to ``limit`` entries). While a slot is held it is renewed every
``lease_s / 3`` seconds (one script for all the slots of the semaphore), so a process that is
SIGKILLed stops renewing and its slots are free again after ``lease_s`` at most: no deadlock. A
changed limit applies to the next acquisition; slots held drain as they finish.

Waiting, without polling: a sender that finds every slot held parks on an asyncio future, and one
listener task per semaphore and process blocks in BLPOP on the wake-up list while anyone waits.
Redis hands each pushed wake-up to the longest-blocked BLPOP (so processes take turns), and the
listener wakes its longest-waiting sender, who tries again. A list, not pub/sub, so a wake-up
pushed just before the listener blocks is not lost. A sender also wakes by itself when the first
lease is due to expire (a dead process's slot) and at least every ``recheck_s`` (1 s: a raised
limit or a Redis restart), the only times it asks Redis without being told a slot freed.

:class:`SharedLimiter` keeps the process's own ``asyncio.Semaphore`` as the first gate (a process
never asks Redis for more slots than the limit, so one process cannot hammer it), then takes a
Redis slot. While nobody else waits for the provider, a call that finishes hands its slot
straight to the next call of the process (waiting at the gate, or coming within 50 ms), with no
Redis round trip; the flag, read by every release and acquisition and, while slots are held,
every ``hand_over_for_s / 2``, ends that within ``hand_over_for_s`` (0.5 s) of another process
starting to wait. If Redis cannot be reached it logs a warning and goes on with the
process's limit alone (the broker is the same Redis, so nothing else would be moving either).
HTTP and Redis only: no Django.
"""

from __future__ import annotations

import asyncio
import collections
import logging
import os
import secrets
import time

__all__ = ["RedisSemaphore", "SharedLimiter", "prepare"]

log = logging.getLogger("playground.providers")

# KEYS: the slots, the waiting flag. ARGV: limit, lease (ms), token, how long the flag lives (ms).
# 1: acquired; 2: acquired, and someone is waiting. Otherwise minus the ms until the first lease
# expires (at least 1), and the flag is set: a release from now on pushes a wake-up.
_ACQUIRE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  redis.call('SET', KEYS[2], '1', 'PX', ARGV[4])
  local first = redis.call('ZRANGE', KEYS[1], 0, 0, 'WITHSCORES')
  return -math.max(1, tonumber(first[2]) - now)
end
redis.call('ZADD', KEYS[1], now + lease, ARGV[3])
redis.call('PEXPIRE', KEYS[1], lease + 1000)
return 1 + redis.call('EXISTS', KEYS[2])
"""

# KEYS: the slots, the waiting flag, the wake-up list. ARGV: token, most wake-ups to keep, their
# expiry (ms). Answers {removed, someone waiting}.
_RELEASE = """
local removed = redis.call('ZREM', KEYS[1], ARGV[1])
local waiting = redis.call('EXISTS', KEYS[2])
if removed == 1 and waiting == 1 then
  redis.call('RPUSH', KEYS[3], '1')
  redis.call('LTRIM', KEYS[3], -tonumber(ARGV[2]), -1)
  redis.call('PEXPIRE', KEYS[3], ARGV[3])
end
return {removed, waiting}
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


async def prepare(client, *, connections: int) -> None:
    """Open ``connections`` pooled connections and load the scripts, before any slot is wanted: a
    worker's first burst of sends otherwise opens them all at once on the event loop (~0.7 ms of
    CPU each), and each script's first EVALSHA fails with NOSCRIPT and is sent again."""
    await asyncio.gather(*(client.ping() for _ in range(max(1, connections))))
    for script in (_ACQUIRE, _RELEASE, _RENEW):
        await client.script_load(script)


class RedisSemaphore:
    """A counting semaphore shared by every process using the same Redis ``key``. Use it from one
    event loop (the one its ``redis.asyncio`` client belongs to). ``recheck_s``: the longest a
    waiting sender goes without trying again if no wake-up comes; keep it below the client's
    ``socket_timeout`` (the listener's BLPOP blocks that long)."""

    def __init__(self, client, key: str, *, lease_s: float = 15.0, recheck_s: float = 1.0, hand_over_for_s: float = 0.5):
        self.client = client
        self.key = key
        self.wake_key = f"{key}:wake"
        self.waiting_key = f"{key}:waiting"
        self.waiting_ms = int(recheck_s * 2000) + 1000  # outlives the longest pause between a waiter's tries
        self.hand_over_for_s = hand_over_for_s
        self._contended = True  # until Redis said otherwise
        self._checked_at = 0.0
        self.lease_ms = max(1, int(lease_s * 1000))
        self.renew_every_s = lease_s / 3
        self.recheck_s = recheck_s
        self._acquire = client.register_script(_ACQUIRE)
        self._release = client.register_script(_RELEASE)
        self._renew = client.register_script(_RENEW)
        self.held: set[str] = set()
        self._renewer: asyncio.Task | None = None
        self._watcher: asyncio.Task | None = None
        self._waiters: collections.deque[asyncio.Future] = collections.deque()
        self._listener: asyncio.Task | None = None
        self._limit = 1
        self._prefix = f"{os.getpid()}-{secrets.token_hex(4)}-"
        self._count = 0
        self.attempts = 0  # acquisition scripts run: what a waiting sender costs Redis (tests read it)

    def _token(self) -> str:
        self._count += 1
        return f"{self._prefix}{self._count}"

    async def _attempt(self, limit: int) -> tuple[str | None, float]:
        """(token, 0) when a slot was free, else (None, seconds until the first lease expires)."""
        token = self._token()
        self._limit = max(1, int(limit))
        self.attempts += 1
        answer = await self._acquire(keys=[self.key, self.waiting_key], args=[self._limit, self.lease_ms, token, self.waiting_ms])
        if answer > 0:
            self._saw_waiting(answer == 2)
            self.held.add(token)
            self._start_while_held()
            return token, 0.0
        return None, -int(answer) / 1000

    def _saw_waiting(self, waiting: bool) -> None:
        self._contended, self._checked_at = waiting, time.monotonic()

    def may_hand_over(self) -> bool:
        """Whether a slot may go from one call of this process straight to the next, without
        Redis: only while nobody else was waiting at the last look, and that look is recent
        (``hand_over_for_s``), so another process that starts waiting gets its turn soon."""
        return not self._contended and time.monotonic() - self._checked_at < self.hand_over_for_s

    async def try_acquire(self, limit: int) -> str | None:
        """A slot's token, or None when ``limit`` slots are held. Raises redis errors."""
        token, _ = await self._attempt(limit)
        return token

    async def acquire(self, limit: int, *, timeout: float | None = None) -> str:
        """Wait for a slot: woken when one is released (or its lease expires). Raises TimeoutError
        after ``timeout`` seconds if given, and redis errors."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            token, expires_in = await self._attempt(limit)
            if token is not None:
                return token
            wait = min(expires_in, self.recheck_s)
            if deadline is not None:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise TimeoutError(f"no slot of {self.key} within {timeout} s")
                wait = min(wait, left)
            await self._wait_for_wakeup(wait)

    async def _wait_for_wakeup(self, seconds: float) -> None:
        woken = asyncio.get_running_loop().create_future()
        self._waiters.append(woken)
        if self._listener is None or self._listener.done():
            self._listener = asyncio.get_running_loop().create_task(self._listen())
        try:
            async with asyncio.timeout(seconds):
                await woken
        except TimeoutError:
            pass
        finally:
            if not woken.done():
                woken.cancel()
                self._waiters.remove(woken)

    async def _listen(self) -> None:
        """While senders of this process wait: take wake-ups off the list, one sender each."""
        while self._waiters:
            try:
                got = await self.client.blpop([self.wake_key], timeout=self.recheck_s)
            except asyncio.CancelledError:
                raise
            except Exception as exc:  # Redis away: the waiters' own timeouts try again
                log.warning("%s: could not wait for a free slot: %s", self.key, exc)
                await asyncio.sleep(self.recheck_s)
                continue
            if got is None:
                continue
            while self._waiters:
                woken = self._waiters.popleft()
                if not woken.done():
                    woken.set_result(None)
                    break
            else:  # everyone here stopped waiting meanwhile: the wake-up is another process's
                await self.client.rpush(self.wake_key, "1")

    async def release(self, token: str) -> None:
        self.held.discard(token)
        _, waiting = await self._release(keys=[self.key, self.waiting_key, self.wake_key],
                                         args=[token, self._limit, self.lease_ms + 1000])  # fmt: skip
        self._saw_waiting(bool(waiting))

    async def renew(self) -> int:
        """Extend every slot held by this semaphore; how many were still there."""
        if not self.held:
            return 0
        return await self._renew(keys=[self.key], args=[self.lease_ms, *self.held])

    def _start_while_held(self) -> None:
        """The tasks that run while this process holds slots: the renewer and the watcher."""
        loop = asyncio.get_running_loop()
        if self._renewer is None or self._renewer.done():
            self._renewer = loop.create_task(self._renew_while_held())
        if self._watcher is None or self._watcher.done():
            self._watcher = loop.create_task(self._watch_while_held())

    async def _watch_while_held(self) -> None:
        """Keep :meth:`may_hand_over`'s look at Redis fresh while slots are held: one EXISTS on
        the flag every ``hand_over_for_s / 2`` unless a script just looked. Calls to a provider
        start and end together (a burst of sends, answers after the same delay), so the look
        taken by the acquisitions was often older than ``hand_over_for_s`` by the time the
        releases came, and every slot went back through Redis."""
        every = self.hand_over_for_s / 2
        while self.held:
            await asyncio.sleep(every)
            if not self.held:
                return
            if time.monotonic() - self._checked_at < every:
                continue
            try:
                self._saw_waiting(bool(await self.client.exists(self.waiting_key)))
            except Exception:  # Redis away: the look goes stale, and slots go back through Redis
                await asyncio.sleep(self.recheck_s)

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
    in a ``finally``): it hands the release to a task, which frees the local gate once Redis has
    the slot back.

    A call that finishes keeps its slot for the next call of this process (one waiting at the local
    gate, or one that comes within ``unused_s``), which takes it as it is, without asking Redis
    (two round trips saved per call), while ``shared.may_hand_over()``: nobody else waits for the
    provider. A slot not taken within ``unused_s`` goes back to Redis. Why not only to a call
    already waiting: in a worker the next task for a provider comes a few ms after the last
    answer (recorded, acknowledged, the next message taken), so most slots went back to Redis
    and were taken again at once.

    A call asks Redis only while the process holds fewer than ``limit`` slots, counting those
    kept for the next call and those on their way back: else it waits here for one of them.
    Asking while the process itself held them all found every slot taken, raised the waiting
    flag, and so turned hand-overs off for seconds (bench/dispatch.py: most calls then went
    through Redis twice)."""

    unused_s = 0.05

    def __init__(self, local: asyncio.Semaphore, shared: RedisSemaphore, *, limit: int):
        self.local = local
        self.shared = shared
        self.limit = max(1, int(limit))
        self._tokens: list[str | None] = []
        self._handed: list[str] = []
        self._asking = 0  # calls waiting for Redis's answer
        self._returning = 0  # slots on their way back to Redis
        self._for_a_slot: collections.deque[asyncio.Future] = collections.deque()
        self._tasks: set[asyncio.Task] = set()
        self._warned_at = 0.0

    def _slots_of_this_process(self) -> int:
        return len(self._tokens) + len(self._handed) + self._asking + self._returning

    def _wake_one(self) -> None:
        while self._for_a_slot:
            waiter = self._for_a_slot.popleft()
            if not waiter.done():
                waiter.set_result(None)
                return

    async def acquire(self) -> bool:
        await self.local.acquire()
        try:
            while not self._handed and self._slots_of_this_process() >= self.limit:
                waiter = asyncio.get_running_loop().create_future()
                self._for_a_slot.append(waiter)
                await waiter  # a slot handed over, or back in Redis
        except BaseException:
            self.local.release()
            raise
        if self._handed:  # the slot of a call that just finished
            self._tokens.append(self._handed.pop())
            return True
        self._asking += 1
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
        finally:
            self._asking -= 1
        self._tokens.append(token)
        return True

    def release(self) -> None:
        token = self._tokens.pop() if self._tokens else None
        if token is None:
            self.local.release()
            self._wake_one()
            return
        loop = asyncio.get_running_loop()
        if self.shared.may_hand_over():
            self._handed.append(token)
            self.local.release()
            self._wake_one()
            loop.call_later(self.unused_s, self._return_if_unused, token)
            return
        self._release_later(token, local=True)

    def _return_if_unused(self, token: str) -> None:
        if token in self._handed:
            self._handed.remove(token)
            self._release_later(token, local=False)  # its local permit went back when it was handed over

    def _release_later(self, token: str, *, local: bool) -> None:
        self._returning += 1
        task = asyncio.get_running_loop().create_task(self._release(token, local))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _release(self, token: str, local: bool = True) -> None:
        try:
            await self.shared.release(token)
        except Exception as exc:  # the lease frees it in the end
            log.warning("%s: could not release a slot (%s); it expires with its lease", self.shared.key, exc)
        finally:
            self._returning -= 1
            if local:
                self.local.release()
            self._wake_one()

    def locked(self) -> bool:
        return self.local.locked()
