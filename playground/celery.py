"""The Celery app. Broker from CELERY_BROKER_URL; the embedded default is a folder (see settings).

On a ``redis://`` broker, settings name :class:`RedisTransport` as the transport: kombu's own,
except that a channel keeps one Redis client for its commands. kombu's channel makes a new
``redis.Redis`` for every acknowledgement and every message received (the unacked bookkeeping):
building one copies redis-py's table of ~200 response callbacks, which was a quarter of a runs
worker's main thread (~0.3 ms per task, bench/dispatch.py). A client only wraps the channel's
connection pool, which is what holds connections and is thread-safe, so sharing it changes no
command and no connection.

A worker that consumes only the runs queue (bin/run: ``-Q runs``) turns kombu's Redis *ack
emulation* off (:func:`_runs_worker_setup`): that bookkeeping (a MULTI to a
sorted set and a hash for every message received, another for every ack) exists to bring back a
lost worker's messages after the visibility timeout, an hour; the runs design does not rely on it
(runs/sending.py: a sweeper re-queues lost and forgotten results within a lease), and it cost the
runs worker's main thread ~0.3 ms per task. Every other worker (variants, on the default queue)
keeps it.
"""

import logging
import os

from celery import Celery, signals
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


# Celery's two INFO lines per task ("Task ... received", "Task ... succeeded in ...s"); the first is written
# by the worker's main thread, which receives every message, so it delays the next task's start.
CELERY_TASK_LOGGERS = ("celery.worker.strategy", "celery.app.trace")


@signals.celeryd_after_setup.connect
def _runs_worker_setup(sender=None, instance=None, conf=None, **kwargs) -> None:
    """Before the worker connects, for a worker that consumes the runs queue only: Celery's two lines
    per task left out (runs/sending.py logs one line per result, with what they say and more: run,
    result, model, outcome, HTTP status, time, attempts; errors and warnings are still logged); at
    -l info they were ~9% of the worker's CPU (bench/dispatch.py, py-spy --gil). And on a Redis
    broker, no ack emulation."""
    from django.conf import settings

    queues = set(getattr(getattr(instance, "app", app).amqp.queues, "consume_from", None) or ())
    runs_queue = getattr(settings, "PRISM_RUNS_QUEUE", "runs")
    if queues != {runs_queue}:
        return
    for name in CELERY_TASK_LOGGERS:
        logger = logging.getLogger(name)
        if logger.getEffectiveLevel() < logging.WARNING:
            logger.setLevel(logging.WARNING)
    if str(conf.broker_url or "").startswith(("redis://", "rediss://")):
        conf.broker_transport_options = {**(conf.broker_transport_options or {}), "ack_emulation": False}
        logging.getLogger("playground.runs").info("runs worker: Redis ack emulation off (the sweeper re-queues lost results)")
