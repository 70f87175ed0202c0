"""No API key leaves Prism by any road, in any form: a stored key and an operator-granted
environment key are sent in real runs to fake providers on loopback (tests/provider_server.py),
some of which echo the key back JSON-escaped, base64, percent-encoded and in response headers, or
fail with it in their error. Then every table of the database, every log line of the runs and
every page of them (run page, progress partial, diffs, request and response pages, history,
exports, providers) is searched for either key, plain or encoded.

The runs go through the engine in this process, and once through a real runs worker (whose own
log is searched too), as tests/runs does.
"""

from __future__ import annotations

import base64
import itertools
import logging
import re
import time
from urllib.parse import quote, quote_plus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from playground.accounts.models import Membership
from playground.catalog.models import Provider
from playground.lib.env import parse_env_keys
from playground.providers import RetryPolicy
from playground.runs import sending, services
from playground.runs.models import Result, Run
from tests.database_text import database_text
from tests.factories import doc_with, make_member, make_model, make_provider, make_version
from tests.provider_server import ProviderServer

# Made up; with '+', '/' and '=' so that percent-encoding and base64 differ from the plain text.
STORED_KEY = "sk-stored+Leak/Test=7Hq2Zx9Lm4Pw8Rt"
ENV_KEY = "sk-env+Leak/Test=3Vb6Nc1Xs5Dk0Gj2Ya"
ENV_NAME = "FAKE_LEAK_ENV_KEY"
FAST = RetryPolicy(max_retries=2, base_delay_s=0.01, max_delay_s=0.02)


# --- every form of a key ----------------------------------------------------------------------------


def _char(ch: str) -> str:
    """One character of the key: itself, \\uXXXX (JSON), or %XX (URLs), in either case of hex."""
    code = ord(ch)
    return f"(?:{re.escape(ch)}|\\\\u00{code:02x}|%{code:02x})"


def _b64_cores(key: bytes, encode) -> set[str]:
    """The part of the base64 of any text holding ``key`` that depends on the key alone, for
    each of its three alignments (so an encoded ``user:key`` is found too)."""
    cores = set()
    for shift in range(3):
        text = encode(bytes(shift) + key).decode()
        start, end = -(-8 * shift // 6), 8 * (shift + len(key)) // 6
        cores.add(text[start:end])
    return cores


def leak_patterns(key: str) -> list[re.Pattern]:
    raw = key.encode()
    literal = {key, quote(key, safe=""), quote_plus(key)}
    literal |= _b64_cores(raw, base64.b64encode) | _b64_cores(raw, base64.urlsafe_b64encode)
    return ([re.compile(re.escape(form)) for form in sorted(literal)]
            + [re.compile("".join(_char(ch) for ch in key), re.IGNORECASE)])


PATTERNS = {name: leak_patterns(key) for name, key in (("stored key", STORED_KEY), ("env key", ENV_KEY))}


def assert_no_key(text: str, where: str) -> None:
    for name, patterns in PATTERNS.items():
        for pattern in patterns:
            if found := pattern.search(text):
                context = text[max(0, found.start() - 120):found.end() + 40]
                pytest.fail(f"The {name} leaks into {where} (as {pattern.pattern[:40]!r}): …{context}…")


def test_the_search_finds_every_form_it_claims(team):
    """The detector itself: each form the echoing server sends is found (else the test below proves nothing)."""
    from tests.provider_server import echo_forms

    for key in (STORED_KEY, ENV_KEY):
        for sample in (key, echo_forms(key), quote(key, safe=""), base64.b64encode(b"user:" + key.encode()).decode(),
                       base64.urlsafe_b64encode(b"ab" + key.encode() + b"z").decode(),
                       "".join(f"\\u{ord(c):04X}" for c in key)):
            with pytest.raises(pytest.fail.Exception):
                assert_no_key(f"before {sample} after", "a sample")
    assert_no_key("sk-stored+Leak/Test=[redacted] " + base64.b64encode(b"something else").decode(), "a clean text")


# --- the world --------------------------------------------------------------------------------------

ECHOES = {
    # provider: (protocol, key source, models: what each makes the fake server do)
    "stored chat": ("chat", "stored", ["gpt-4o", "fake-echo", "fake-echo:status=400", "fake-echo:status=502,html",
                                       "fake-malformed"]),
    "env messages": ("messages", "env", ["claude-sonnet-4-5", "fake-echo", "fake-echo:status=401"]),
    "env responses": ("responses", "env", ["fake-echo", "fake-echo:status=429"]),
    "env gemini": ("gemini", "env", ["fake-echo", "fake-echo:status=500"]),
}


@pytest.fixture
def servers():
    with ProviderServer(api_key=STORED_KEY) as stored, ProviderServer(api_key=ENV_KEY) as env:
        yield {"stored": stored, "env": env}


@pytest.fixture
def world(team, servers, settings, monkeypatch):
    settings.PRISM_ENV_KEYS = parse_env_keys(f"{ENV_NAME}=127.0.0.1@{team.slug}")
    monkeypatch.setenv(ENV_NAME, ENV_KEY)
    owner = make_member(team, Membership.Role.OWNER, username="leak_owner")
    models = []
    for name, (protocol, source, model_names) in ECHOES.items():
        kw = {"key": STORED_KEY} if source == "stored" else {"key_source": Provider.KeySource.ENV, "api_key_env": ENV_NAME}
        provider = make_provider(team, servers[source], protocol, name=name, **kw)
        models += [make_model(provider, m) for m in model_names]
    version = make_version(team, doc_with({"text": "Describe {{subject}} in one line."},
                                          variables={"subject": "a cat"}), owner)
    return owner, version, models


def run_pages(client, run: Run) -> dict[str, str]:
    """Every page a member can open about a run, its results, its prompt's history and the providers."""
    results = list(run.results.order_by("position"))
    prompt = run.prompt_version.prompt
    urls = [reverse("runs:detail", args=[run.pk]), reverse("runs:progress", args=[run.pk]),
            reverse("runs:progress", args=[run.pk]) + "?known=0:queued&outputs=0",
            reverse("runs:list"), reverse("runs:history", args=[prompt.pk]), reverse("runs:new", args=[prompt.pk])]
    for fmt in ("csv", "json"):
        urls += [reverse("runs:export", args=[fmt]), reverse("runs:prompt_export", args=[prompt.pk, fmt])]
    for r in results:
        urls += [reverse("runs:request", args=[r.pk]), reverse("runs:body", args=[r.pk]),
                 reverse("runs:body", args=[r.pk]) + "?inline=1", reverse("runs:response", args=[r.pk])]
        if r.response_json is not None:
            urls.append(reverse("runs:response", args=[r.pk]) + "?download=1")
    for a, b in itertools.combinations(results, 2):
        urls.append(reverse("runs:diff", args=[run.pk]) + f"?a={a.pk}&b={b.pk}")
    urls.append(reverse("catalog:list"))
    for provider in Provider.objects.filter(team=run.team):
        urls += [reverse("catalog:detail", args=[provider.pk]), reverse("catalog:edit", args=[provider.pk])]
    pages = {}
    for url in urls:
        response = client.get(url)
        assert response.status_code in (200, 286), (url, response.status_code)
        pages[url] = b"".join(response.streaming_content if response.streaming else [response.content]).decode()
    return pages


# --- the proof --------------------------------------------------------------------------------------


def test_no_key_leaks_from_runs_against_servers_that_echo_it(client, team, world, servers, caplog):
    owner, version, models = world
    caplog.set_level(logging.DEBUG)
    caplog.set_level(logging.DEBUG, logger="django.db.backends")  # settings quiet SQL to WARNING

    with CaptureQueriesContext(connection):  # SQL is logged with its parameters, as with DEBUG=True
        run = services.start_run(version=version, values={}, provider_models=models, user=owner, team=team)
        for result in run.results.order_by("position"):
            sending.execute(result.pk, retry_policy_=FAST)
        echoed = run.results.get(model_name="fake-echo", provider_name="stored chat")
        client.force_login(owner)
        assert client.post(reverse("runs:resend", args=[echoed.pk])).status_code == 302
        resent = Run.objects.exclude(pk=run.pk).get()
        for result in resent.results.all():
            sending.execute(result.pk, retry_policy_=FAST)
        pages = {**run_pages(client, run), **run_pages(client, resent)}

    # The runs really happened, and the servers really echoed the keys back.
    results = {(r.provider_name, r.model_name): r for r in run.results.all()}
    assert results["stored chat", "gpt-4o"].status == Result.Status.SUCCEEDED
    assert results["env messages", "claude-sonnet-4-5"].status == Result.Status.SUCCEEDED
    for (provider, model), r in results.items():
        assert r.status in (Result.Status.SUCCEEDED, Result.Status.FAILED), (provider, model, r.error_message)
        assert r.error_kind != "key", (provider, model, r.error_message)  # each was sent, with its key
    echo = results["stored chat", "fake-echo"]
    assert echo.status == Result.Status.SUCCEEDED and "[fake] key " in echo.output_text
    assert "[redacted]" in echo.output_text and echo.response_json["prism_echo"]["auth"].count("[redacted]") >= 3
    assert results["env gemini", "fake-echo"].status == Result.Status.SUCCEEDED
    assert results["stored chat", "fake-echo:status=400"].error_status == 400
    assert len(results["env responses", "fake-echo:status=429"].attempts) == 3  # retried, each attempt kept
    assert sum(r.request_id == "[redacted]" for r in results.values()) >= 8  # the header that was the key
    assert len(servers["stored"].received) >= 5 and len(servers["env"].received) >= 7
    assert resent.results.get().status == Result.Status.SUCCEEDED

    assert_no_key(database_text(), "the database")
    assert any("run %s result %s" in r.msg for r in caplog.records)  # the engine's lines were captured
    assert any("runs_result" in r.getMessage() for r in caplog.records)  # and the SQL
    for record in caplog.records:
        assert_no_key(record.getMessage() + repr(record.args) + (record.exc_text or ""), f"the log ({record.name})")
    assert len(pages) > 40
    for url, page in pages.items():
        assert_no_key(page, url)


@pytest.mark.worker
@pytest.mark.django_db(transaction=True)
def test_no_key_leaks_through_a_real_runs_worker(client, team, servers, settings, monkeypatch, runs_workers):
    # The worker reads the grant and the key from its environment, as in production.
    monkeypatch.setenv("PRISM_ENV_KEYS", f"{ENV_NAME}=127.0.0.1@{team.slug}")
    monkeypatch.setenv(ENV_NAME, ENV_KEY)
    settings.PRISM_ENV_KEYS = parse_env_keys(f"{ENV_NAME}=127.0.0.1@{team.slug}")
    owner = make_member(team, Membership.Role.OWNER, username="leak_owner")
    stored = make_provider(team, servers["stored"], "chat", name="stored chat", key=STORED_KEY)
    env = make_provider(team, servers["env"], "messages", name="env messages",
                        key_source=Provider.KeySource.ENV, api_key_env=ENV_NAME)
    models = [make_model(stored, "fake-echo"), make_model(stored, "fake-echo:status=502,html"),
              make_model(env, "fake-echo"), make_model(env, "fake-echo:status=401")]
    version = make_version(team, doc_with({"text": "Describe a cat."}), owner)
    worker = runs_workers("leaks").start()

    run = services.start_run(version=version, values={}, provider_models=models, user=owner, team=team)
    deadline = time.monotonic() + 60
    while Run.objects.get(pk=run.pk).status != Run.Status.DONE:
        assert time.monotonic() < deadline, worker.log()[-4000:]
        time.sleep(0.1)

    statuses = {r.model_name + "@" + r.provider_name: (r.status, r.error_kind) for r in run.results.all()}
    assert statuses["fake-echo@stored chat"] == (Result.Status.SUCCEEDED, "")
    assert statuses["fake-echo@env messages"] == (Result.Status.SUCCEEDED, "")
    assert statuses["fake-echo:status=401@env messages"] == (Result.Status.FAILED, "http")
    assert "recorded succeeded" in worker.log()
    assert_no_key(worker.log(), "the runs worker's log")
    assert_no_key(database_text(), "the database")
    client.force_login(owner)
    for url, page in run_pages(client, run).items():
        assert_no_key(page, url)
