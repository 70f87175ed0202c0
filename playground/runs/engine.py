"""Old names, kept importable until their last users (test modules owned by others) switch; then
this module goes. Nothing in playground/ imports it. The design notes are in sending.py.

    engine.execute          -> sending.execute
    engine.enqueue          -> enqueue.results
    engine.reclaim_stale    -> enqueue.reclaim_stale
    engine.claim            -> Result.claim (models.py)
    ... the full table is in the commit that made this module (and /tmp/prism-handoff/engine-names.md).
"""

from playground.runs.dispatch import RunDispatcher, get_dispatcher, limits_redis_url
from playground.runs.enqueue import reclaim_stale
from playground.runs.enqueue import results as enqueue
from playground.runs.models import Result
from playground.runs.prices import cost_from_snapshot, price_snapshot
from playground.runs.sending import execute
from playground.runs.sql import DBThreads, db_threads

claim = Result.claim

__all__ = [
    "DBThreads",
    "RunDispatcher",
    "claim",
    "cost_from_snapshot",
    "db_threads",
    "enqueue",
    "execute",
    "get_dispatcher",
    "limits_redis_url",
    "price_snapshot",
    "reclaim_stale",
]  # fmt: skip
