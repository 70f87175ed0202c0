"""The database side of sending one result: the hot statements in hand-written SQL, and the few
threads that run them in a worker (sending.py explains the design).

    sql.claim(Result, ids, token, until=..., now=...)   # one conditional UPDATE: the ids this caller took
    sql.renew(Result, ids, token, until=...)            # extend the lease: the ids still ours
    sql.write(Result, result_id, token, fields)         # the outcome, while the claim is ours
    sql.any_unfinished(Result, run_id)                  # does the run still wait for an answer?
    sql.start_run(Result, run_id); sql.finish_run(Result, run_id, now=...)   # the run's status, conditionally
    sql.load(Result, ids)                               # the results and all sending needs, one SELECT
    DBThreads(4).call(fn, *args)                        # run fn on a thread that keeps its connection

Why SQL: claiming, loading and recording run for every request, and the ORM's query compiler took
about as much CPU as the rest of a request together, so these few statements are written once per
process (per database vendor and number of ids) and cached. A worker takes results a batch at a
time (sending.py), so claiming, loading and renewing are one statement per batch. Values are adapted by the fields themselves
(``get_db_prep_save``, ``from_db_value``), as the ORM would.

The Result model is passed in (models.py's ``Result.claim``/``record``/``load_for_sending`` call
this module), and the other tables are found through its relations, so this module imports no
model: it sits below models.py.
"""

from __future__ import annotations

import concurrent.futures

from django.conf import settings
from django.db import connection
from django.db.models.base import ModelState

from playground.lib.per_process import PerProcess

__all__ = ["DBThreads", "any_unfinished", "claim", "db_threads", "finish_run", "load", "renew", "start_run", "write"]

_SQL_CACHE: dict = {}

# What sending needs, and no more: the answer columns are empty yet.
_LOAD_RESULT = ("id", "run_id", "protocol", "model_name", "url", "request_headers", "prices", "sent_media", "claims",
                "provider_model_id", "request_body_id")  # fmt: skip
_LOAD_MODEL = ("id", "name", "provider_id")
# The team and base URL bind the key: an environment key to its grant, a stored key to its server.
_LOAD_PROVIDER = ("id", "name", "team_id", "base_url", "key_source", "api_key_encrypted", "api_key_env",
                  "max_concurrency", "timeout_s")
_LOAD_TEAM = ("id", "slug")
_LOAD_BODY = ("sha256", "pieces")


def _related(model, field: str):
    return model._meta.get_field(field).related_model


def _models(Result) -> tuple:
    """Result's run, body, model, provider and team models, through its foreign keys."""
    ProviderModel = _related(Result, "provider_model")
    Provider = _related(ProviderModel, "provider")
    return _related(Result, "run"), _related(Result, "request_body"), ProviderModel, Provider, _related(Provider, "team")


def _dt(value):
    return connection.ops.adapt_datetimefield_value(value)


def _execute(sql: str, params) -> int:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def _sql(Result, name: str, extra=None) -> str:
    key = (connection.vendor, name, extra)
    if key in _SQL_CACHE:
        return _SQL_CACHE[key]
    qn = connection.ops.quote_name

    def col(model, field):
        return qn(model._meta.get_field(field).column)

    table = qn(Result._meta.db_table)
    ids = f"IN ({', '.join(['%s'] * extra)})" if name in ("claim", "renew", "ours", "load") else ""
    if name == "claim":  # extra: how many ids
        sql = (f"UPDATE {table} SET {col(Result, 'status')} = %s, {col(Result, 'claim_token')} = %s, "
               f"{col(Result, 'claimed_until')} = %s, {col(Result, 'claims')} = {col(Result, 'claims')} + 1, "
               f"{col(Result, 'started_at')} = %s WHERE {col(Result, 'id')} {ids} AND ({col(Result, 'status')} = %s "
               f"OR ({col(Result, 'status')} = %s AND {col(Result, 'claimed_until')} < %s))")  # fmt: skip
    elif name == "renew":
        sql = (f"UPDATE {table} SET {col(Result, 'claimed_until')} = %s WHERE {col(Result, 'id')} {ids} "
               f"AND {col(Result, 'claim_token')} = %s AND {col(Result, 'status')} = %s")  # fmt: skip
    elif name == "ours":
        sql = (f"SELECT {col(Result, 'id')} FROM {table} WHERE {col(Result, 'id')} {ids} "
               f"AND {col(Result, 'claim_token')} = %s AND {col(Result, 'status')} = %s")  # fmt: skip
    elif name == "write":
        sets = ", ".join(f"{col(Result, n)} = %s" for n in extra)
        sql = (f"UPDATE {table} SET {sets} WHERE {col(Result, 'id')} = %s AND {col(Result, 'claim_token')} = %s "
               f"AND {col(Result, 'status')} = %s")  # fmt: skip
    elif name == "unfinished":
        marks = ", ".join(["%s"] * len(Result.FINISHED))
        sql = (f"SELECT 1 FROM {table} WHERE {col(Result, 'run')} = %s AND {col(Result, 'status')} NOT IN ({marks}) "
               f"LIMIT 1")  # fmt: skip
    elif name == "start_run":
        Run = _related(Result, "run")
        sql = (f"UPDATE {qn(Run._meta.db_table)} SET {col(Run, 'status')} = %s WHERE {col(Run, 'id')} = %s "
               f"AND {col(Run, 'status')} = %s")  # fmt: skip
    elif name == "finish_run":
        Run = _related(Result, "run")
        sql = (f"UPDATE {qn(Run._meta.db_table)} SET {col(Run, 'status')} = %s, {col(Run, 'finished_at')} = %s "
               f"WHERE {col(Run, 'id')} = %s AND {col(Run, 'status')} NOT IN (%s, %s)")  # fmt: skip
    elif name == "load":
        Run, RequestBody, ProviderModel, Provider, Team = _models(Result)
        run, body = qn(Run._meta.db_table), qn(RequestBody._meta.db_table)
        pm, prov, team = qn(ProviderModel._meta.db_table), qn(Provider._meta.db_table), qn(Team._meta.db_table)
        cols = [f"r.{col(Result, f)}" for f in _LOAD_RESULT] + [f"u.{col(Run, 'status')}"]
        cols += [f"m.{col(ProviderModel, f)}" for f in _LOAD_MODEL] + [f"p.{col(Provider, f)}" for f in _LOAD_PROVIDER]
        cols += [f"t.{col(Team, f)}" for f in _LOAD_TEAM] + [f"b.{col(RequestBody, f)}" for f in _LOAD_BODY]
        sql = (f"SELECT {', '.join(cols)} FROM {table} r JOIN {run} u ON u.{col(Run, 'id')} = r.{col(Result, 'run')} "
               f"LEFT JOIN {pm} m ON m.{col(ProviderModel, 'id')} = r.{col(Result, 'provider_model')} "
               f"LEFT JOIN {prov} p ON p.{col(Provider, 'id')} = m.{col(ProviderModel, 'provider')} "
               f"LEFT JOIN {team} t ON t.{col(Team, 'id')} = p.{col(Provider, 'team')} "
               f"LEFT JOIN {body} b ON b.{col(RequestBody, 'sha256')} = r.{col(Result, 'request_body')} "
               f"WHERE r.{col(Result, 'id')} {ids}")  # fmt: skip
    else:
        raise KeyError(name)
    _SQL_CACHE[key] = sql
    return sql


# --- the statements ----------------------------------------------------------------------------------


def _ours(Result, ids: list[int], token: str, changed: int) -> list[int]:
    """Of ``ids``, those running under ``token``, after an UPDATE that changed ``changed`` rows:
    all of them when it changed as many rows as there are ids (the usual case: no second query)."""
    if changed == len(ids):
        return list(ids)
    if changed == 0:
        return []
    with connection.cursor() as cursor:
        cursor.execute(_sql(Result, "ours", len(ids)), [*ids, token, Result.Status.RUNNING])
        found = {row[0] for row in cursor.fetchall()}
    return [pk for pk in ids if pk in found]


def claim(Result, ids: list[int], token: str, *, until, now) -> list[int]:
    """Set each result running under ``token`` until ``until`` if it is queued, or running with a
    lease expired before ``now``: one atomic UPDATE, each row won by exactly one caller. Returns
    the ids this caller took, in the order given (``ids`` hold no duplicates)."""
    R = Result.Status
    params = [R.RUNNING, token, _dt(until), _dt(now), *ids, R.QUEUED, R.RUNNING, _dt(now)]
    return _ours(Result, ids, token, _execute(_sql(Result, "claim", len(ids)), params))


def renew(Result, ids: list[int], token: str, *, until) -> list[int]:
    """Extend the lease of the results still running under ``token``; returns those ids (a
    missing one was cancelled, or taken over after a stall)."""
    params = [_dt(until), *ids, token, Result.Status.RUNNING]
    return _ours(Result, ids, token, _execute(_sql(Result, "renew", len(ids)), params))


def write(Result, result_id: int, token: str, fields: dict) -> bool:
    """Write ``fields`` (model field names) only while the result is running under ``token``."""
    names = sorted(fields)
    get = Result._meta.get_field
    params = [get(name).get_db_prep_save(fields[name], connection) for name in names]
    return _execute(_sql(Result, "write", tuple(names)), [*params, result_id, token, Result.Status.RUNNING]) == 1


def start_run(Result, run_id: int) -> None:
    """The result's run RUNNING if it is still QUEUED."""
    S = _related(Result, "run").Status
    _execute(_sql(Result, "start_run"), [S.RUNNING, run_id, S.QUEUED])


def finish_run(Result, run_id: int, *, now) -> None:
    """The result's run DONE at ``now``, unless it is done or cancelled already."""
    S = _related(Result, "run").Status
    _execute(_sql(Result, "finish_run"), [S.DONE, _dt(now), run_id, S.DONE, S.CANCELLED])


def any_unfinished(Result, run_id: int) -> bool:
    """Whether a result of the run is not finished yet (queued or running)."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(Result, "unfinished"), [run_id, *Result.FINISHED])
        return cursor.fetchone() is not None


def _columns(model, names) -> list:
    """Per loaded column: the attribute it sets and the field's ``from_db_value`` (or None)."""
    key = (connection.vendor, "from_db", model, names)
    if key not in _SQL_CACHE:
        fields = [model._meta.get_field(n) for n in names]
        _SQL_CACHE[key] = [(f.attname, getattr(f, "from_db_value", None)) for f in fields]
    return _SQL_CACHE[key]


def _loaded(model, names, values):
    """A saved instance holding only ``names`` (the other fields deferred: read from the database
    if ever touched, as with ``.only()``). Built as the ORM builds a fetched row, without
    ``Model.__init__`` and its signals: five instances per request cost ~0.3 ms that way."""
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding, state.db = False, connection.alias
    d = obj.__dict__
    for (attname, convert), value in zip(_columns(model, names), values, strict=True):
        d[attname] = value if convert is None else convert(value, None, connection)
    return obj


def _cache(obj, field: str, related) -> None:
    obj._meta.get_field(field).set_cached_value(obj, related)  # as select_related does: no query on access


def load(Result, ids: list[int]) -> list:
    """The Results with their run's status, model, provider, team and body: one SELECT, saved
    instances holding only what sending needs (anything else is deferred), in the order of
    ``ids``; an id with no result is left out."""
    with connection.cursor() as cursor:
        cursor.execute(_sql(Result, "load", len(ids)), list(ids))
        rows = cursor.fetchall()
    loaded = {result.pk: result for result in (_result_of(Result, row) for row in rows)}
    return [loaded[pk] for pk in ids if pk in loaded]


def _result_of(Result, row):
    Run, RequestBody, ProviderModel, Provider, Team = _models(Result)
    at = 0

    def take(names):  # the next len(names) columns of the row
        nonlocal at
        at += len(names)
        return row[at - len(names):at]

    result = _loaded(Result, _LOAD_RESULT, take(_LOAD_RESULT))
    _cache(result, "run", _loaded(Run, ("id", "status"), (result.run_id, *take(("status",)))))
    model, provider, team, body = take(_LOAD_MODEL), take(_LOAD_PROVIDER), take(_LOAD_TEAM), take(_LOAD_BODY)
    if model[0] is not None:
        pm = _loaded(ProviderModel, _LOAD_MODEL, model)
        prov = _loaded(Provider, _LOAD_PROVIDER, provider)
        _cache(prov, "team", _loaded(Team, _LOAD_TEAM, team))
        _cache(pm, "provider", prov)
        _cache(result, "provider_model", pm)
    else:
        _cache(result, "provider_model", None)
    _cache(result, "request_body", _loaded(RequestBody, _LOAD_BODY, body) if body[0] is not None else None)
    return result


# --- database work on a few dedicated threads ----------------------------------------------------------


class DBThreads:
    """A few threads that do every query of the tasks of a worker process, each keeping its
    connection. Why: the runs worker has 64 task threads; if each queried the database itself,
    Celery's Django fixup would open and close a connection per task (0.5 ms of CPU on SQLite, a
    PostgreSQL backend process per task), 64 threads would hold connections, and SQLite writers
    would collide. Through here, a worker uses ``PRISM_RUNS_DB_THREADS`` connections at most."""

    def __init__(self, size: int):
        self._pool = concurrent.futures.ThreadPoolExecutor(max_workers=size, thread_name_prefix="prism-db")

    def submit(self, fn, *args) -> concurrent.futures.Future:
        return self._pool.submit(self._run, fn, *args)

    def call(self, fn, *args):
        return self.submit(fn, *args).result()

    @staticmethod
    def _run(fn, *args):
        try:
            return fn(*args)
        except Exception:
            connection.close()  # a broken connection must not stay with the thread
            raise


_db_threads = PerProcess(lambda: DBThreads(int(getattr(settings, "PRISM_RUNS_DB_THREADS", 4))))


def db_threads() -> DBThreads:
    """This process's database threads, made on first use (after a fork, new ones)."""
    return _db_threads.get()
