"""The Redis-backed provider limit (playground/providers/limits.py) against a real Redis: the
team pass's broker (bin/test: TEST_BROKER_URL), under keys of its own."""

import asyncio
import hashlib
import threading
import time
import uuid

import httpx
import pytest
from django.conf import settings

from playground.providers import send
from playground.providers.limits import RedisSemaphore, SharedLimiter
from playground.providers.retry import NO_RETRY

from . import KEY, rendered_for

REDIS_URL = settings.CELERY_BROKER_URL if settings.CELERY_BROKER_URL.startswith(("redis://", "rediss://")) else None
needs_redis = pytest.mark.skipif(REDIS_URL is None, reason="needs Redis: runs in bin/test's team pass "
                                                          "(CELERY_BROKER_URL=redis://...), not on the filesystem broker")


def new_key() -> str:
    return f"prism-test-limits:{uuid.uuid4().hex}"


def client():
    import redis.asyncio

    return redis.asyncio.Redis.from_url(REDIS_URL)


def zcard(key: str) -> int:
    import redis

    return redis.Redis.from_url(REDIS_URL).zcard(key)


@needs_redis
def test_the_limit_holds_across_two_clients_on_two_event_loops_in_two_threads():
    key = new_key()
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "done": 0}

    async def worker():
        r = client()
        sem = RedisSemaphore(r, key, lease_s=5)

        async def one():
            token = await sem.acquire(3)
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            await asyncio.sleep(0.03)
            with lock:
                state["now"] -= 1
                state["done"] += 1
            await sem.release(token)

        await asyncio.gather(*(one() for _ in range(12)))
        await r.aclose()

    threads = [threading.Thread(target=asyncio.run, args=(worker(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert state["done"] == 24
    assert state["max"] == 3
    assert zcard(key) == 0


@needs_redis
def test_slots_are_renewed_while_held_and_freed_when_their_lease_expires():
    key = new_key()

    async def main():
        r = client()
        holder = RedisSemaphore(r, key, lease_s=0.3)
        other = RedisSemaphore(r, key, lease_s=0.3)
        tokens = [await holder.try_acquire(2), await holder.try_acquire(2)]
        assert all(tokens)
        await asyncio.sleep(0.8)  # well past the lease: the renewer kept them
        assert await other.try_acquire(2) is None
        holder.held.clear()  # the holder dies: nothing renews its slots any more
        assert await other.try_acquire(2) is None
        started = time.monotonic()
        token = await other.acquire(2, timeout=2)
        assert token and time.monotonic() - started < 0.6
        await other.release(token)
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_a_waiting_sender_wakes_when_a_slot_is_released_and_does_not_poll():
    key = new_key()

    async def main():
        holder = RedisSemaphore(client(), key, lease_s=30)
        waiter = RedisSemaphore(client(), key, lease_s=30, recheck_s=10)  # another process: its own client
        tokens = [await holder.try_acquire(2), await holder.try_acquire(2)]
        waiting = asyncio.create_task(waiter.acquire(2, timeout=5))
        await asyncio.sleep(0.5)
        assert not waiting.done() and waiter.attempts == 1  # one try, then asleep: no polling
        released_at = time.monotonic()
        await holder.release(tokens[0])
        token = await waiting
        assert time.monotonic() - released_at < 0.15  # woken by the release, not by a timer (10 s, 30 s)
        assert waiter.attempts == 2 and zcard(key) == 2
        await waiter.release(token)
        await holder.release(tokens[1])
        assert zcard(key) == 0
        for sem in (holder, waiter):
            await sem.client.aclose()

    asyncio.run(main())


@needs_redis
def test_a_dead_holders_slot_wakes_the_waiter_when_its_lease_expires():
    key = new_key()

    async def main():
        holder = RedisSemaphore(client(), key, lease_s=0.4)
        waiter = RedisSemaphore(client(), key, lease_s=5, recheck_s=10)
        assert await holder.try_acquire(1)
        holder.held.clear()  # SIGKILLed: nothing renews or releases its slot
        started = time.monotonic()
        token = await waiter.acquire(1, timeout=5)
        took = time.monotonic() - started
        assert 0.2 < took < 0.7  # at the lease's end (Redis's clock), not at the 10 s recheck
        assert waiter.attempts <= 3
        await waiter.release(token)
        for sem in (holder, waiter):
            await sem.client.aclose()

    asyncio.run(main())


@needs_redis
def test_a_wake_up_taken_by_a_process_that_stopped_waiting_goes_on_to_the_next_one():
    key = new_key()

    async def main():
        holder = RedisSemaphore(client(), key, lease_s=30)
        gave_up = RedisSemaphore(client(), key, lease_s=30, recheck_s=3)
        waiter = RedisSemaphore(client(), key, lease_s=30, recheck_s=10)
        token = await holder.try_acquire(1)
        with pytest.raises(TimeoutError):
            await gave_up.acquire(1, timeout=0.2)  # its listener stays blocked in BLPOP, first in Redis's line
        waiting = asyncio.create_task(waiter.acquire(1, timeout=5))
        await asyncio.sleep(0.2)
        released_at = time.monotonic()
        await holder.release(token)
        mine = await waiting
        assert time.monotonic() - released_at < 0.3  # handed on at once, not found at the 10 s recheck
        await waiter.release(mine)
        for sem in (holder, gave_up, waiter):
            await sem.client.aclose()

    asyncio.run(main())


@needs_redis
def test_many_waiters_in_two_processes_take_turns_and_the_limit_holds():
    key = new_key()
    lock = threading.Lock()
    state = {"now": 0, "max": 0, "done": 0, "attempts": 0}

    async def worker():
        sem = RedisSemaphore(client(), key, lease_s=5, recheck_s=10)

        async def one():
            token = await sem.acquire(2, timeout=20)
            with lock:
                state["now"] += 1
                state["max"] = max(state["max"], state["now"])
            await asyncio.sleep(0.05)
            with lock:
                state["now"] -= 1
                state["done"] += 1
            await sem.release(token)

        await asyncio.gather(*(one() for _ in range(10)))
        with lock:
            state["attempts"] += sem.attempts
        await sem.client.aclose()

    started = time.monotonic()
    threads = [threading.Thread(target=asyncio.run, args=(worker(),)) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert state["done"] == 20 and state["max"] == 2 and zcard(key) == 0
    assert time.monotonic() - started < 3  # 10 rounds of 50 ms: nobody sat out a 10 s recheck
    assert state["attempts"] < 20 * 4  # a few tries per slot taken, not a poll every few ms


@needs_redis
def test_a_slot_is_released_when_the_request_fails(provider_server):
    key = new_key()

    class Broken(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request):
            raise httpx.ConnectError("refused")

    async def main():
        r = client()
        limiter = SharedLimiter(asyncio.Semaphore(2), RedisSemaphore(r, key, lease_s=5), limit=2)
        await limiter.acquire()
        try:
            assert zcard(key) == 1
            raise ValueError("boom")
        except ValueError:
            pass
        finally:
            limiter.release()
        await asyncio.sleep(0.05)
        assert zcard(key) == 0 and not limiter.locked() and limiter.local._value == 2

        async with httpx.AsyncClient(transport=Broken()) as http:
            outcome = await send(rendered_for(provider_server, "chat"), api_key=KEY, client=http, limiter=limiter,
                                 retry_policy=NO_RETRY)
        assert outcome.error is not None and outcome.error.kind == "connection"
        await asyncio.sleep(0.05)
        assert zcard(key) == 0 and limiter.local._value == 2
        await r.aclose()

    asyncio.run(main())


def test_without_redis_the_process_limit_still_holds():
    import redis.asyncio

    async def main():
        r = redis.asyncio.Redis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.5)
        limiter = SharedLimiter(asyncio.Semaphore(1), RedisSemaphore(r, new_key()), limit=1)
        await limiter.acquire()
        assert limiter.locked()
        limiter.release()
        assert not limiter.locked()
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_a_finished_call_hands_its_slot_to_the_next_call_waiting_in_the_process_without_asking_redis():
    key = new_key()

    async def main():
        r = client()
        limiter = SharedLimiter(asyncio.Semaphore(1), RedisSemaphore(r, key, lease_s=5), limit=1)
        await limiter.acquire()
        second = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.02)
        assert not second.done()  # held at the process's gate
        limiter.release()
        await second
        assert limiter.shared.attempts == 1 and zcard(key) == 1  # the same slot, no second script
        limiter.release()  # nobody waits: kept for unused_s, then back to Redis
        await asyncio.sleep(limiter.unused_s + 0.1)
        assert zcard(key) == 0 and limiter.local._value == 1
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_a_call_that_comes_just_after_another_finished_takes_its_slot_without_asking_redis():
    key = new_key()

    async def main():
        r = client()
        # The call is held longer than hand_over_for_s: the look at Redis taken when it acquired
        # is stale by its release, and the background look keeps it fresh.
        limiter = SharedLimiter(asyncio.Semaphore(2), RedisSemaphore(r, key, lease_s=5, hand_over_for_s=0.2), limit=2)
        await limiter.acquire()
        await asyncio.sleep(0.5)
        limiter.release()
        await asyncio.sleep(limiter.unused_s / 3)  # the next task's call, a moment later
        await limiter.acquire()
        assert limiter.shared.attempts == 1 and zcard(key) == 1  # the same slot, no second script
        limiter.release()
        await asyncio.sleep(limiter.unused_s + 0.1)
        assert zcard(key) == 0 and limiter.local._value == 2 and not limiter._handed
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_a_slot_handed_over_but_not_taken_goes_back_to_redis():
    key = new_key()

    async def main():
        r = client()
        limiter = SharedLimiter(asyncio.Semaphore(1), RedisSemaphore(r, key, lease_s=5), limit=1)
        await limiter.acquire()
        second = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.02)
        limiter.release()
        second.cancel()  # the waiter goes away before it takes the slot
        await asyncio.sleep(0.2)
        assert zcard(key) == 0 and limiter.local._value == 1 and not limiter._handed
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_a_call_does_not_ask_redis_while_the_process_holds_every_slot():
    """A slot on its way back to Redis still counts there: a call coming meanwhile waits for it
    here instead of finding every slot held, which raised the waiting flag and turned hand-overs
    off for everyone (the flag lives seconds)."""
    key = new_key()

    async def main():
        r = client()
        limiter = SharedLimiter(asyncio.Semaphore(2), RedisSemaphore(r, key, lease_s=5), limit=2)
        shared = limiter.shared
        back_in_redis = asyncio.Event()
        real_release = shared.release

        async def slow_release(token):  # the slot's way back, held open by the test
            await back_in_redis.wait()
            await real_release(token)

        shared.release = slow_release
        await limiter.acquire()
        await limiter.acquire()
        limiter.release()  # kept for the next call ...
        await asyncio.sleep(limiter.unused_s + 0.05)  # ... none came: on its way back to Redis
        assert not limiter._handed and zcard(key) == 2
        third = asyncio.create_task(limiter.acquire())
        await asyncio.sleep(0.1)
        assert not third.done() and shared.attempts == 2  # waits here: Redis was not asked
        back_in_redis.set()
        await asyncio.wait_for(third, 2)
        assert shared.attempts == 3  # asked once, after the slot was back, and got it
        assert not await r.exists(shared.waiting_key)  # nobody was ever seen waiting
        limiter.release()
        limiter.release()
        await asyncio.sleep(limiter.unused_s + 0.2)
        assert zcard(key) == 0 and limiter.local._value == 2
        await r.aclose()

    asyncio.run(main())


@needs_redis
def test_no_slot_is_handed_over_while_another_process_waits():
    key = new_key()

    async def main():
        here = SharedLimiter(asyncio.Semaphore(1), RedisSemaphore(client(), key, lease_s=5, hand_over_for_s=0.1), limit=1)
        there = RedisSemaphore(client(), key, lease_s=5, recheck_s=10)
        await here.acquire()
        waiting_there = asyncio.create_task(there.acquire(1, timeout=5))
        next_here = asyncio.create_task(here.acquire())
        await asyncio.sleep(0.2)  # past hand_over_for_s: the next release looks at Redis again
        released_at = time.monotonic()
        here.release()
        first, _ = await asyncio.wait({next_here, waiting_there}, return_when=asyncio.FIRST_COMPLETED)
        assert time.monotonic() - released_at < 0.3  # the other process was woken, not left to its 10 s recheck
        assert here.shared.attempts >= 2  # the slot went back through Redis, not hand to hand
        if next_here in first:  # the call here won the race for it: the other process is next
            here.release()
            await there.release(await waiting_there)
        else:
            await there.release(waiting_there.result())
            await next_here
            here.release()
        assert time.monotonic() - released_at < 0.3
        for sem in (here.shared, there):
            await sem.client.aclose()

    asyncio.run(main())


@needs_redis
def test_prepare_opens_the_connections_and_loads_the_scripts_before_the_first_send():
    import redis

    from playground.providers import limits

    async def main():
        r = client()
        await limits.prepare(r, connections=8)
        assert len(r.connection_pool._available_connections) >= 8  # ready in the pool, none opened by a send
        shas = [hashlib.sha1(src.encode()).hexdigest() for src in (limits._ACQUIRE, limits._RELEASE, limits._RENEW)]
        assert all(redis.Redis.from_url(REDIS_URL).script_exists(*shas))  # no NOSCRIPT round trip on the first EVALSHA
        await r.aclose()

    asyncio.run(main())
