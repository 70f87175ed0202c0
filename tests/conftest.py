"""Shared fixtures for the whole suite.

The suite runs twice under bin/test: on the embedded default (SQLite, filesystem broker) and at
team scale (PostgreSQL, Redis). Everything here works on both; the real Celery worker is started
with the same settings as the tests, so it reads the test database and the same broker.
"""

import atexit
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import quote

import pytest
from django.conf import settings

from tests.provider_server import provider_server  # noqa: F401 - the fake provider fixture, for every folder

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = Path(os.environ.get("PRISM_CHROMIUM", "/usr/bin/chromium"))


# --- settings for tests (applied at import: before any test, database or storage is used) -------


def _use_private_data_dir() -> None:
    """Run outside the developer's var/ even when pytest is started directly (bin/test sets
    PRISM_DATA_DIR itself): point every data path of settings.py at a temporary folder."""
    if os.environ.get("PRISM_DATA_DIR"):
        return
    data = Path(tempfile.mkdtemp(prefix="prism-pytest-"))
    atexit.register(shutil.rmtree, data, ignore_errors=True)
    os.environ["PRISM_DATA_DIR"] = str(data)  # the worker subprocess computes the same paths
    settings.DATA_DIR = data
    settings.STATIC_ROOT = data / "staticfiles"
    settings.STATIC_ROOT.mkdir()  # whitenoise warns about a missing folder on every request
    settings.MEDIA_ROOT = data / "media"
    if settings.STORAGES["default"]["BACKEND"].endswith("FileSystemStorage"):
        settings.STORAGES = {
            **settings.STORAGES,
            "default": {**settings.STORAGES["default"], "OPTIONS": {"location": str(data / "media"), "base_url": None}},
        }
    settings.PRISM_MEDIA_CACHE_DIR = data / "cache"
    settings.FILE_UPLOAD_TEMP_DIR = data / "tmp"
    settings.FILE_UPLOAD_TEMP_DIR.mkdir()
    if settings.CELERY_BROKER_URL.startswith("filesystem://"):
        broker = data / "broker"
        for sub in ("queue", "processed", "control"):
            (broker / sub).mkdir(parents=True, exist_ok=True)
        settings.CELERY_BROKER_DIR = broker
        settings.CELERY_BROKER_TRANSPORT_OPTIONS = {
            **settings.CELERY_BROKER_TRANSPORT_OPTIONS,
            "data_folder_in": str(broker / "queue"),
            "data_folder_out": str(broker / "queue"),
            "processed_folder": str(broker / "processed"),
            "control_folder": str(broker / "control"),
        }


_use_private_data_dir()
# WhiteNoise warns on every request when STATIC_ROOT is missing; tests serve no collected files.
Path(settings.STATIC_ROOT).mkdir(parents=True, exist_ok=True)

# Fast hashing: tests create many users and log in often.
settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# Refusing loopback addresses is the rule; a test that serves "public" media from 127.0.0.1 turns
# this on for itself with the settings fixture.
settings.URL_FETCH_ALLOW_LOOPBACK = False

# SQLite tests use a file, not :memory:, so that a worker process can open the same test database.
_db = settings.DATABASES["default"]
if _db["ENGINE"] == "django.db.backends.sqlite3":
    _suffix = os.environ.get("PYTEST_XDIST_WORKER", "")
    _db.setdefault("TEST", {})["NAME"] = str(Path(settings.DATA_DIR) / f"test{_suffix}.sqlite3")


# --- people and teams ----------------------------------------------------------------------------

PASSWORD = "correct-horse-battery"
# The header htmx sends with each request it makes; views answer it with a fragment, not a page.
HX = {"HX-Request": "true"}


@pytest.fixture(autouse=True)
def _empty_caches():
    """Each test starts with empty caches: the local-memory cache lives as long as the process,
    and the ids it is keyed by (a provider's Test-connection turn, a shared page) come again once a
    transactional test has emptied the tables."""
    from django.core.cache import caches

    for cache in caches.all():
        cache.clear()


@pytest.fixture
def team(db):
    from tests.factories import make_team

    return make_team(name="Vision team")


@pytest.fixture
def other_team(db):
    from tests.factories import make_team

    return make_team(name="Other team")


def _member(team, role: str, username: str):
    """A member of `team` whose password is PASSWORD (user.raw_password), for tests that log in by form."""
    from tests.factories import make_member

    return make_member(team, role, username=username, password=PASSWORD)


@pytest.fixture
def user(team):
    """An editor of `team`."""
    return _member(team, "editor", "alice")


@pytest.fixture
def other_user(other_team):
    """An editor of a different team, with no access to `team`."""
    return _member(other_team, "editor", "mallory")


@pytest.fixture
def viewer(team):
    """A read-only member of `team`."""
    return _member(team, "viewer", "victor")


@pytest.fixture
def owner(team):
    """An owner of `team` (may manage providers, models and members)."""
    return _member(team, "owner", "olivia")


@pytest.fixture
def client_logged_in(client, user):
    client.force_login(user)
    return client


@pytest.fixture
def owner_client(client, owner):
    client.force_login(owner)
    return client


# --- media in the team's library -------------------------------------------------------------------


@pytest.fixture
def png(team):
    """photo.png, 64x48, in `team`'s library."""
    from tests.factories import make_png

    return make_png(team)


@pytest.fixture
def wav(team):
    """tone.wav, one second, in `team`'s library."""
    from tests.factories import make_wav

    return make_wav(team)


@pytest.fixture
def celery_eager():
    """Run Celery tasks inline in the test process (no worker). Not for tests with a real worker."""
    from playground.celery import app

    before = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = before


# --- a real Celery worker ------------------------------------------------------------------------


@dataclass
class WorkerProcess:
    process: subprocess.Popen
    log_path: Path

    def log(self) -> str:
        return self.log_path.read_text(errors="replace") if self.log_path.exists() else ""

    def log_tail(self, lines: int = 80) -> str:
        return "\n".join(self.log().splitlines()[-lines:])

    def tasks_received(self) -> int:
        return sum(1 for line in self.log().splitlines() if "prepare_variant[" in line and "received" in line)


_worker_logs: list[Path] = []


def _database_url(db: dict) -> str:
    """A DATABASE_URL naming the test database the test process uses now."""
    if db["ENGINE"] == "django.db.backends.sqlite3":
        return f"sqlite:///{db['NAME']}"  # NAME is absolute, so this has four slashes
    if db["ENGINE"] == "django.db.backends.postgresql":
        auth = quote(db.get("USER") or "", safe="")
        if db.get("PASSWORD"):
            auth += ":" + quote(db["PASSWORD"], safe="")
        host = db.get("HOST") or "localhost"
        port = f":{db['PORT']}" if db.get("PORT") else ""
        return f"postgres://{auth}{'@' if auth else ''}{host}{port}/{quote(db['NAME'], safe='')}"
    raise RuntimeError(f"No worker support for database engine {db['ENGINE']}")


def _worker_environment() -> dict[str, str]:
    from django.db import connection

    env = dict(os.environ)
    env.pop("CELERY_TASK_ALWAYS_EAGER", None)  # the point is that the worker does the work
    env.update(
        DJANGO_SETTINGS_MODULE="playground.settings",
        PRISM_DATA_DIR=str(settings.DATA_DIR),  # same media, temp and broker folders
        DATABASE_URL=_database_url(connection.settings_dict),  # the test database, already created
        CELERY_BROKER_URL=settings.CELERY_BROKER_URL,
        PYTHONUNBUFFERED="1",
    )
    if settings.PRISM_S3_BUCKET:
        # As on another machine: the same bucket (its settings are in os.environ), a cache of its own.
        env["PRISM_MEDIA_CACHE_DIR"] = str(Path(settings.DATA_DIR) / "worker-cache")
    return env


@pytest.fixture(scope="session")
def celery_worker_process(django_db_setup, tmp_path_factory):
    """A real `celery -A playground worker` subprocess on the test database and the test broker.

    Tests that use it need committed data: mark them `@pytest.mark.django_db(transaction=True)`.
    """
    log_path = tmp_path_factory.mktemp("celery") / "worker.log"
    _worker_logs.append(log_path)
    cmd = [
        sys.executable, "-m", "celery", "-A", "playground", "worker",
        "-l", "info", "--pool", "prefork", "--concurrency", "2", "-Q", "celery",
        "--without-heartbeat", "--without-gossip", "--without-mingle",
        "-n", f"prism-test-{os.getpid()}@%h",
    ]  # fmt: skip
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            cmd, cwd=ROOT, env=_worker_environment(), stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    worker = WorkerProcess(process, log_path)
    try:
        # The filesystem transport has no remote control to ping, so wait for the worker's own
        # "celery@host ready." line, which it logs once it consumes from the queue.
        deadline = time.monotonic() + 60
        while " ready." not in worker.log():
            if process.poll() is not None:
                pytest.fail(f"The Celery worker exited with {process.returncode}:\n{worker.log_tail()}")
            if time.monotonic() > deadline:
                pytest.fail(f"The Celery worker was not ready after 60 s:\n{worker.log_tail()}")
            time.sleep(0.1)
        yield worker
    finally:
        _stop(process)


def _stop(process: subprocess.Popen) -> None:
    if process.poll() is not None:
        return
    process.terminate()  # warm shutdown: the main process stops its pool children itself
    try:
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        pass
    try:
        os.killpg(process.pid, signal.SIGKILL)  # anything left in its process group
    except ProcessLookupError:
        pass
    process.wait(timeout=5)


# --- a runs worker a test can start, kill and start again ----------------------------------------


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
        if self.process is not None:
            _stop(self.process)


@contextlib.contextmanager
def eager_off():
    """Tasks go through the broker to a real worker, not run in this process; as before afterwards."""
    from playground.celery import app

    eager = app.conf.task_always_eager
    app.conf.task_always_eager = False
    try:
        yield
    finally:
        app.conf.task_always_eager = eager


def wait_for(predicate, timeout: float, what: str, log=lambda: "") -> None:
    """Wait until ``predicate()``; else fail saying ``what`` did not happen, with the end of ``log()``."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    pytest.fail(f"{what} not within {timeout} s\n{log()[-6000:]}")


@pytest.fixture
def media_worker(celery_worker_process):
    """The media worker process, with tasks sent to it rather than run eagerly here."""
    with eager_off():
        yield celery_worker_process


@pytest.fixture
def runs_workers(django_db_setup, tmp_path):
    """``runs_workers(name)`` makes another runs worker (named, with logs of its own); each is
    stopped at the end of the test."""
    made = []

    def make(name: str, **kw) -> RunsWorker:
        made.append(RunsWorker(tmp_path, name=name, **kw))
        return made[-1]

    with eager_off():
        try:
            yield make
        finally:
            for worker in made:
                worker.stop()


@pytest.fixture
def runs_worker(django_db_setup, tmp_path):
    """Start with ``runs_worker.start()``; stopped at the end of the test. About 2 s per start
    (a worker process importing Django and Celery), hence per test that needs one."""
    worker = RunsWorker(tmp_path)
    with eager_off():
        try:
            yield worker
        finally:
            worker.stop()


def pytest_terminal_summary(terminalreporter, exitstatus):
    if exitstatus == 0:
        return
    for path in _worker_logs:
        if path.exists():
            lines = path.read_text(errors="replace").splitlines()[-150:]
            terminalreporter.section(f"Celery worker log ({path}, last {len(lines)} lines)")
            terminalreporter.write_line("\n".join(lines))


# --- browser tests -------------------------------------------------------------------------------


def chromium_missing_reason() -> str | None:
    if not (CHROMIUM.exists() or shutil.which(str(CHROMIUM))):
        return (
            f"no Chromium at {CHROMIUM}: bin/test installs Debian's chromium with apt-get when it can "
            "(root or sudo); otherwise install it yourself or set PRISM_CHROMIUM"
        )
    return None


@pytest.fixture(scope="session")
def chromium_executable() -> str:
    """The Chromium binary for Playwright's `executable_path`; skips the test if there is none."""
    if reason := chromium_missing_reason():
        pytest.skip(reason)
    return str(CHROMIUM)


def pytest_configure(config):
    # A terminated suite (bin/test stopped, CI's time limit) stops as Ctrl-C does: the fixtures' teardown
    # stops the Celery workers and servers they started, each in a process group of its own.
    def interrupted(signum, frame):
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, interrupted)


def pytest_runtest_setup(item):
    if item.get_closest_marker("browser") and (reason := chromium_missing_reason()):
        pytest.skip(reason)


def pytest_collection_modifyitems(config, items):
    """Browser tests last: Playwright's sync API keeps an event loop running in the main thread
    for the whole session once it starts, and asyncio.run() (the provider client's sync path)
    refuses to run inside it."""
    items.sort(key=lambda item: item.get_closest_marker("browser") is not None)
