"""Fixtures for runs: providers and models of the catalog aimed at the fake provider
(tests/provider_server.py), prompt versions, and a runs worker that a test can kill."""

import os
import signal
import subprocess
import sys
import time
from decimal import Decimal

import pytest

from playground.catalog.models import Provider, ProviderModel
from playground.prompts.document import normalize
from playground.prompts.models import Prompt
from tests.provider_server import DEFAULT_KEY, ProviderServer, provider_server  # noqa: F401

ALL_KINDS = ["image", "audio", "video", "pdf"]
PROTOCOL_MODELS = {"chat": "gpt-4o", "responses": "gpt-4.1", "messages": "claude-sonnet-4-5", "gemini": "gemini-2.5-flash"}


def make_provider(team, server: ProviderServer, protocol: str, *, name=None, key=DEFAULT_KEY, **kw) -> Provider:
    render = "chat" if protocol == "compatible" else protocol
    provider = Provider(team=team, name=name or f"Fake {protocol}", protocol=protocol,
                        base_url=server.base_url_for(render), **kw)
    if "key_source" not in kw:
        provider.set_api_key(key)
    provider.save()
    return provider


def make_model(provider: Provider, name: str, *, inputs=None, prices=True, **kw) -> ProviderModel:
    if prices:
        kw.setdefault("price_input_per_mtok", Decimal("2.50"))
        kw.setdefault("price_cached_input_per_mtok", Decimal("1.25"))
        kw.setdefault("price_output_per_mtok", Decimal("10.00"))
    return ProviderModel.objects.create(provider=provider, name=name, inputs=ALL_KINDS if inputs is None else inputs, **kw)


def model_for(team, server, protocol: str, name: str | None = None, *, provider_kw=None, **kw) -> ProviderModel:
    provider = make_provider(team, server, protocol, **(provider_kw or {}))
    return make_model(provider, name or PROTOCOL_MODELS.get(protocol, "gpt-4o"), **kw)


def doc_with(*parts, variables=None, system="Be brief.", options=None, name="Caption") -> dict:
    return normalize({"name": name, "system": system, "messages": [{"role": "user", "parts": list(parts)}],
                      "variables": variables or {}, "options": options or {}})


def make_version(team, doc, user=None):
    prompt = Prompt.objects.create(team=team, name=doc.get("name", "Caption"), created_by=user)
    return prompt.save_version(doc, user=user)


@pytest.fixture
def text_version(team, user):
    return make_version(team, doc_with({"text": "Describe {{subject}} in one line."}, variables={"subject": "a cat"}), user)


@pytest.fixture
def four_models(team, provider_server):  # noqa: F811 - the fixture imported above
    """One model per protocol, each behind its own provider (all on the fake server)."""
    return [model_for(team, provider_server, p) for p in ("chat", "responses", "messages", "gemini")]


# --- a runs worker a test can start, kill and start again -------------------------------------------


class RunsWorker:
    """`celery worker -Q runs --pool threads` on the test database and broker, as bin/run starts
    it, with a short lease so a killed worker's results are taken over within seconds."""

    def __init__(self, log_dir, *, lease_s: int = 2, concurrency: int = 16, name: str = "runs"):
        self.log_dir = log_dir
        self.name = name
        self.lease_s = lease_s
        self.concurrency = concurrency
        self.process = None
        self.logs = []
        self.starts = 0

    def start(self) -> "RunsWorker":
        from django.conf import settings

        from tests.conftest import ROOT, _worker_environment, _worker_logs

        self.starts += 1
        log_path = self.log_dir / f"{self.name}-worker-{self.starts}.log"
        self.logs.append(log_path)
        _worker_logs.append(log_path)  # printed by the suite when it fails
        env = _worker_environment()
        # The same SECRET_KEY as this process, to decrypt the stored provider keys (pytest started
        # without PRISM_DATA_DIR derives it from another folder than the worker would).
        env.update(SECRET_KEY=settings.SECRET_KEY, PRISM_RESULT_LEASE_S=str(self.lease_s),
                   PRISM_RESULT_REQUEUE_S="600", PRISM_RUN_MAX_RETRIES="3")
        cmd = [sys.executable, "-m", "celery", "-A", "playground", "worker", "-l", "info",
               "-Q", settings.PRISM_RUNS_QUEUE, "--pool", "threads", "--concurrency", str(self.concurrency),
               "--without-heartbeat", "--without-gossip", "--without-mingle",
               "-n", f"prism-{self.name}-test-{os.getpid()}-{self.starts}@%h"]
        with open(log_path, "wb") as out:
            self.process = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                            start_new_session=True)
        deadline = time.monotonic() + 60
        while " ready." not in self.log(-1):
            if self.process.poll() is not None:
                pytest.fail(f"The runs worker exited with {self.process.returncode}:\n{self.log(-1)[-4000:]}")
            if time.monotonic() > deadline:
                pytest.fail(f"The runs worker was not ready after 60 s:\n{self.log(-1)[-4000:]}")
            time.sleep(0.1)
        return self

    def log(self, which=None) -> str:
        paths = self.logs if which is None else [self.logs[which]]
        return "\n".join(p.read_text(errors="replace") for p in paths if p.exists())

    def kill(self) -> None:
        """SIGKILL, no warning: nothing is acknowledged, restored or recorded."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=10)

    def stop(self) -> None:
        from tests.conftest import _stop

        if self.process is not None:
            _stop(self.process)


@pytest.fixture
def runs_workers(django_db_setup, tmp_path):
    """``runs_workers(name)`` makes another runs worker (named, with logs of its own); each is
    stopped at the end of the test."""
    from playground.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    made = []

    def make(name: str, **kw) -> RunsWorker:
        made.append(RunsWorker(tmp_path, name=name, **kw))
        return made[-1]

    try:
        yield make
    finally:
        for worker in made:
            worker.stop()
        app.conf.task_always_eager = eager


@pytest.fixture
def runs_worker(django_db_setup, tmp_path):
    """Start with ``runs_worker.start()``; stopped at the end of the test. About 2 s per start
    (a worker process importing Django and Celery), hence per test that needs one."""
    from playground.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    worker = RunsWorker(tmp_path)
    try:
        yield worker
    finally:
        worker.stop()
        app.conf.task_always_eager = eager
