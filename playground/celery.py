"""The Celery app. Broker from CELERY_BROKER_URL; the embedded default is a folder (see settings).

On a ``redis://`` broker, settings name :class:`RedisTransport` as the transport: kombu's own,
except that a channel keeps one Redis client for its commands. kombu's channel makes a new
``redis.Redis`` for every acknowledgement and every message received (the unacked bookkeeping):
building one copies redis-py's table of ~200 response callbacks, which was a quarter of a runs
worker's main thread (~0.3 ms per task, bench/dispatch.py). A client only wraps the channel's
connection pool, which is what holds connections and is thread-safe, so sharing it changes no
command and no connection.
"""

import os

from celery import Celery
from kombu.transport import redis as kombu_redis

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")


class RedisChannel(kombu_redis.Channel):
    _shared_client = None

    def _create_client(self, asynchronous=False):
        if asynchronous:  # the BRPOP/publish client: kombu keeps that one already (Channel.client)
            return super()._create_client(asynchronous=True)
        client = self._shared_client
        if client is None or client.connection_pool is not self.pool:  # a new pool after a reconnect: a new client
            client = self._shared_client = super()._create_client()
        return client


class RedisTransport(kombu_redis.Transport):
    Channel = RedisChannel


app = Celery("playground")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
