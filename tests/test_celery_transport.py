"""playground/celery.py's Redis transport: kombu's, with one Redis client per channel. Runs on a
Redis broker (bin/test's team pass); the embedded pass uses the filesystem transport."""

import uuid

import pytest
from django.conf import settings

from playground.celery import RedisTransport, app

pytestmark = pytest.mark.skipif(not settings.CELERY_BROKER_URL.startswith("redis://"),
                                reason="needs a redis:// broker (bin/test's team pass)")  # fmt: skip


def test_a_redis_broker_uses_the_transport_that_keeps_one_client_per_channel():
    with app.connection_for_write() as conn:
        assert conn.transport_cls == "playground.celery:RedisTransport" and isinstance(conn.transport, RedisTransport)
        channel = conn.default_channel
        assert channel._create_client() is channel._create_client()
        assert channel._create_client(asynchronous=True) is not channel._create_client()


def test_messages_are_sent_received_and_acknowledged_as_before():
    name = f"prism-test-transport-{uuid.uuid4().hex}"
    with app.connection_for_write() as conn:
        queue = conn.SimpleQueue(name)
        try:
            for i in range(3):
                queue.put({"n": i})
            got = []
            for _ in range(3):
                message = queue.get(timeout=5)
                got.append(message.payload["n"])
                message.ack()
            assert got == [0, 1, 2]
            with pytest.raises(queue.Empty):  # acknowledged: nothing comes back
                queue.get(timeout=0.5)
        finally:
            queue.queue.delete()
            queue.close()
