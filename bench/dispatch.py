"""Dispatch benchmark: 1,000 requests across 10 models, 50 in flight, against a provider that
answers after 500 ms.

    .venv/bin/python bench/dispatch.py [--mode celery|inprocess|both] [--requests 1000]

Setup: a throwaway PRISM_DATA_DIR with a migrated database (SQLite, the embedded default, unless
DATABASE_URL is set), the fake provider in its own process (``python -m tests.provider_server
--delay 0.5``), 5 providers (Chat, Responses, Messages, Gemini and an OpenAI-compatible one) with 2
models each, every provider allowing 10 requests in flight (50 in all), 100 runs of a one-line
prompt on all 10 models: 1,000 queued results, created before the clock starts.

First a calibration: a bare asyncio httpx client sends the same stored bodies with the same limits,
the floor for this machine (the 50 answers come back together and the fake provider serves them
one after another, so even the floor is a little over 10 s and a few ms over 500 ms each).

Modes:
  celery     the production path: one ``send_results`` task per batch of a run's results (enqueue.py's
             batches, PRISM_RUNS_BATCH) through the broker (Redis if
             one answers at BENCH_BROKER_URL, default redis://127.0.0.1:6379/13, on a queue of its
             own; else the filesystem broker) to a real worker process started as bin/run starts
             it (``-Q runs --pool threads --concurrency 64``). The clock starts when the first task
             is sent and stops at the last result's ``finished_at``.
  inprocess  the same sending code (``sending.execute`` on the database threads: claim, load, send
             through the shared dispatcher, record) called from 64 threads in this process:
             Celery's share of the CPU is the difference.

Printed: wall time against the ideal (1,000 × 0.5 s ÷ 50 = 10 s; target ≤ 1.10×) and the floor;
Prism's overhead per request (median and p95 of claimed → recorded, minus the HTTP call and the
wait for the provider's limit; target p95 ≤ 20 ms), split into before the call (claimed → the
call starts) and after it (answer read → recorded). A worker claims a batch at a time, so most
requests wait for the limit; a request that found the limit full when its coroutine started
counts that wait from when it was handed to the dispatcher (providers.send, ``queued_since``);
one that found a slot free counts all its time before the call as overhead; the HTTP call's time over 500 ms against the
bare client's; the sending process's CPU per request (target ≤ 4 ms) and peak RSS; the
provider's peak number of requests in flight. DATABASE_URL=postgres://... measures team scale
(in that database: give the bench one of its own, e.g. createdb bench_dispatch).
"""

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DELAY_S = 0.5
IN_FLIGHT = 50
PROVIDERS = [("chat", ["gpt-4o", "gpt-4o-mini"]), ("responses", ["gpt-4.1", "gpt-4.1-mini"]),
             ("messages", ["claude-sonnet-4-5", "claude-haiku-4-5"]), ("gemini", ["gemini-2.5-flash", "gemini-2.5-pro"]),
             ("compatible", ["llama-3.3-70b", "qwen-2.5-72b"])]  # fmt: skip
TICK = os.sysconf("SC_CLK_TCK")


def cpu_s(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK  # utime + stime, all threads


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def redis_url() -> str | None:
    url = os.environ.get("BENCH_BROKER_URL", "redis://127.0.0.1:6379/13")
    if not url.startswith("redis://"):
        return None
    try:
        import redis

        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        return url
    except Exception:  # no Redis: the filesystem broker
        return None


def start_fake_provider() -> tuple[subprocess.Popen, str]:
    proc = subprocess.Popen([sys.executable, "-m", "tests.provider_server", "--port", "0", "--delay", str(DELAY_S),
                             "--no-bodies"], cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
    line = proc.stdout.readline()
    m = re.search(r"listening on (http://\S+)", line)
    if not m:
        raise SystemExit(f"The fake provider did not start: {line!r}")
    return proc, m.group(1)


def fake_stats(base_url: str) -> dict:
    import httpx

    return httpx.get(base_url + "/_fake/stats", timeout=5).json()


def setup(base_url: str, requests: int):
    """Team, providers, models and the runs (results queued, no task sent yet)."""
    from playground.accounts.models import Team
    from playground.catalog.models import Provider, ProviderModel
    from playground.prompts.document import normalize
    from playground.prompts.models import Prompt
    from playground.runs import enqueue, services
    from tests.provider_server import DEFAULT_KEY

    team = Team.objects.create(name=f"Bench {time.time()}")
    models = []
    for protocol, names in PROVIDERS:
        render = "chat" if protocol == "compatible" else protocol
        provider = Provider(team=team, name=f"Fake {protocol}", protocol=protocol, timeout_s=60,
                            base_url=base_url + ("/v1" if render in ("chat", "responses") else ""),
                            max_concurrency=IN_FLIGHT // len(PROVIDERS))  # fmt: skip
        provider.set_api_key(DEFAULT_KEY)
        provider.save()
        for name in names:
            models.append(ProviderModel.objects.create(provider=provider, name=name, inputs=["image"],
                                                       price_input_per_mtok=1, price_output_per_mtok=4))  # fmt: skip
    doc = normalize({"system": "Be brief.", "messages": [{"role": "user", "parts": [{"text": "Describe {{subject}} in one line."}]}],
                     "variables": {"subject": "a cat"}, "options": {"max_tokens": 64}})  # fmt: skip
    prompt = Prompt.objects.create(team=team, name="Bench")
    version = prompt.save_version(doc)
    held: list[list[int]] = []
    real_enqueue = enqueue.results
    enqueue.results = lambda ids: held.append(list(ids))  # queue the results, send the tasks when the clock starts
    try:
        for i in range(requests // len(models)):
            services.start_run(version=version, values={"subject": f"case {i}"}, provider_models=models, user=None, team=team)
    finally:
        enqueue.results = real_enqueue
    return held  # per run, its result ids


def flat(runs) -> list[int]:
    return [pk for ids in runs for pk in ids]


def wait_done(ids, timeout: float = 600) -> None:
    from playground.runs.models import Result

    deadline = time.monotonic() + timeout
    while Result.objects.filter(pk__in=ids).exclude(status__in=Result.FINISHED).exists():
        if time.monotonic() > deadline:
            raise SystemExit("Not finished in time.")
        time.sleep(0.2)


def q(xs, p):
    return xs[min(len(xs) - 1, int(p * len(xs)))]


def report(label: str, ids, t0_wall: float, cpu: float | None, rss: float | None, stats: dict, floor: dict) -> dict:
    from playground.runs.models import Result

    rows = list(Result.objects.filter(pk__in=ids).values_list("status", "started_at", "finished_at", "attempts"))
    n = len(rows)
    ok = sum(1 for r in rows if r[0] == Result.Status.SUCCEEDED)
    wall = max(r[2] for r in rows).timestamp() - t0_wall
    ideal = n * DELAY_S / IN_FLIGHT
    # claimed -> recorded, minus the waits for the provider's limit: what one request took.
    took = [((r[2] - r[1]).total_seconds() - sum(a["queued_s"] for a in r[3])) * 1000 for r in rows]
    http = [sum(a["latency_s"] for a in r[3]) * 1000 for r in rows]
    own_by_row = [t - h for t, h in zip(took, http, strict=True)]
    own = sorted(own_by_row)
    over = sorted(h - DELAY_S * 1000 for h in http)
    e2e = sorted(t - DELAY_S * 1000 for t in took)
    # The overhead's two halves: claimed -> the first attempt starts; the last attempt's answer read -> recorded.
    before = sorted((r[3][0]["started_at"] - r[1].timestamp()) * 1000 for r in rows)
    after = sorted((r[2].timestamp() - (r[3][-1]["started_at"] + r[3][-1]["queued_s"] + r[3][-1]["latency_s"])) * 1000
                   for r in rows)  # fmt: skip
    print(f"\n== {label} ==")
    print(f"  requests:             {n} ({ok} succeeded)")
    print(f"  wall time:            {wall:.2f} s   ideal {ideal:.1f} s   ratio {wall / ideal:.3f}   (target <= 1.10; "
          f"bare client {floor['wall'] / ideal:.3f})")
    print(f"  Prism overhead/req:   median {statistics.median(own):.2f} ms   p95 {q(own, 0.95):.2f} ms   (target p95 <= 20 ms: "
          f"claimed -> recorded, minus the HTTP call and the wait for the provider's limit)")
    print(f"    before the call:    median {statistics.median(before):.2f} ms   p95 {q(before, 0.95):.2f} ms   "
          f"(claimed -> the call starts)")
    print(f"    after the answer:   median {statistics.median(after):.2f} ms   p95 {q(after, 0.95):.2f} ms   "
          f"(answer read -> recorded)")
    # The first second is the worker taking its first 64 tasks at once (Celery's receiving, 64 claims, the first
    # sends, all on two cores); after it, the steady state that a long run or an evaluation lives in.
    first = min(r[1] for r in rows).timestamp()
    steady = sorted(o for o, r in zip(own_by_row, rows, strict=True) if r[1].timestamp() - first >= 1.0)
    if steady:
        print(f"    claimed after 1 s:  median {statistics.median(steady):.2f} ms   p95 {q(steady, 0.95):.2f} ms   "
              f"({len(steady)} requests: without the worker's start)")
    print(f"  HTTP call over 500 ms: median {statistics.median(over):.2f} ms   p95 {q(over, 0.95):.2f} ms   "
          f"(bare client: median {floor['median']:.2f} ms, p95 {floor['p95']:.2f} ms)")
    print(f"  request over 500 ms:  median {statistics.median(e2e):.2f} ms   p95 {q(e2e, 0.95):.2f} ms   (claimed -> recorded, minus the limit's wait)")
    if cpu is not None:
        print(f"  worker CPU/req:       {cpu / n * 1000:.2f} ms   (target <= 4 ms; {cpu:.2f} s of CPU for {n} requests; "
              f"bare client {floor['cpu_req']:.2f} ms)")
    if rss is not None:
        print(f"  peak RSS:             {rss:.0f} MB   (of the process that sent: the worker, or this one in process)")
    print(f"  provider in flight:   max {stats.get('max_in_flight')} (limit {IN_FLIGHT}); per model max {max(stats.get('max_in_flight_by_model', {0: 0}).values())}")
    return {"wall": wall, "own": statistics.median(own)}


def calibrate(base_url: str, ids) -> dict:
    """The floor: a bare asyncio httpx client sending the same stored bodies with the same limits."""
    import asyncio

    import httpx

    from playground.runs.bodies import StoredRequest
    from playground.runs.models import Result
    from tests.provider_server import DEFAULT_KEY

    httpx.post(base_url + "/_fake/reset", timeout=5)
    requests = []
    for r in Result.objects.filter(pk__in=ids).select_related("request_body", "provider_model__provider").order_by("pk"):
        sr = StoredRequest.for_result(r)
        requests.append((r.provider_model.provider_id, sr.url, sr.headers_with_key(DEFAULT_KEY), sr.body_bytes()))

    async def main():
        limits = {pid: asyncio.Semaphore(IN_FLIGHT // len(PROVIDERS)) for pid, *_ in requests}
        latencies = []
        async with httpx.AsyncClient(limits=httpx.Limits(max_connections=IN_FLIGHT + 14), trust_env=False) as client:
            async def one(pid, url, headers, body):
                async with limits[pid]:
                    t = time.perf_counter()
                    response = await client.post(url, headers=headers, content=body)
                    response.json()
                    latencies.append((time.perf_counter() - t) * 1000 - DELAY_S * 1000)

            t0 = time.time()
            c0 = time.process_time()
            await asyncio.gather(*(one(*r) for r in requests))
            return time.time() - t0, time.process_time() - c0, sorted(latencies)

    wall, cpu, lat = asyncio.run(main())
    floor = {"wall": wall, "median": statistics.median(lat), "p95": q(lat, 0.95), "cpu_req": cpu / len(requests) * 1000}
    print(f"\n== Calibration: a bare asyncio httpx client, the same {len(requests)} bodies and limits (the floor) ==")
    print(f"  wall time:            {wall:.2f} s   ratio {wall / (len(requests) * DELAY_S / IN_FLIGHT):.3f}")
    print(f"  HTTP call over 500 ms: median {floor['median']:.2f} ms   p95 {floor['p95']:.2f} ms   "
          "(50 answers come back at once, and one fake-provider thread serves them in turn)")
    print(f"  client CPU/req:       {floor['cpu_req']:.2f} ms")
    return floor


def run_celery(base_url: str, runs, floor: dict, data_dir: Path, broker: str, queue: str) -> None:
    import httpx
    from django.db import connection
    from django.utils import timezone

    from playground.runs import enqueue
    from playground.runs.models import Result

    ids = flat(runs)

    env = dict(os.environ, DJANGO_SETTINGS_MODULE="playground.settings", PRISM_DATA_DIR=str(data_dir),
               CELERY_BROKER_URL=broker, PRISM_RUNS_QUEUE=queue, PYTHONUNBUFFERED="1")  # fmt: skip
    if connection.vendor == "sqlite":
        env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
    concurrency = os.environ.get("RUNS_WORKER_CONCURRENCY", "64")
    log_path = data_dir / "worker.log"
    # Marked sent, as enqueue.results marks them: else the worker's sweeper, at its start, takes the results no task
    # was sent for yet as forgotten and sends a second task for each (500 of them, before the clock started).
    Result.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
    with open(log_path, "wb") as log:  # the worker keeps its own copy of the descriptor
        worker = subprocess.Popen([sys.executable, "-m", "celery", "-A", "playground", "worker", "-l", "info", "-Q", queue,
                                   "--pool", "threads", "--concurrency", concurrency, "-n", f"bench-{os.getpid()}@%h",
                                   "--without-heartbeat", "--without-gossip", "--without-mingle"],
                                  cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while b" ready." not in log_path.read_bytes():
            if worker.poll() is not None or time.monotonic() > deadline:
                raise SystemExit("The worker did not start:\n" + log_path.read_text()[-3000:])
            time.sleep(0.1)
        time.sleep(0.5)
        httpx.post(base_url + "/_fake/reset", timeout=5)
        cpu0 = cpu_s(worker.pid)
        t0 = time.time()
        Result.objects.filter(pk__in=ids).update(enqueued_at=timezone.now())
        tasks = 0
        for run_ids in runs:  # as start_run does for each run, after its commit
            enqueue.send_now(run_ids)
            tasks += len(enqueue.batches(run_ids))
        sent_s = time.time() - t0
        wait_done(ids)
        cpu = cpu_s(worker.pid) - cpu0
        rss = peak_rss_mb(worker.pid)
        print(f"\n(celery: sending the {tasks} tasks for {len(ids)} results took {sent_s:.2f} s in this process; worker: "
              f"-Q {queue} --pool threads --concurrency {concurrency})")
        report(f"Celery: a task per batch of a run's results, a real worker process, {broker.split('://')[0]} broker", ids, t0, cpu, rss,
               fake_stats(base_url), floor)  # fmt: skip
    finally:
        worker.terminate()
        try:
            worker.wait(15)
        except subprocess.TimeoutExpired:
            worker.kill()


def run_inprocess(base_url: str, runs, floor: dict) -> None:
    import logging

    import httpx

    from playground.runs import enqueue, sending
    from playground.runs.dispatch import get_dispatcher
    from playground.runs.sql import db_threads

    logging.getLogger("playground.runs").setLevel(logging.WARNING)  # the worker logs to a file; no terminal here
    get_dispatcher()  # started before the clock, as in a running worker
    db = db_threads()
    httpx.post(base_url + "/_fake/reset", timeout=5)
    pid = os.getpid()
    cpu0 = cpu_s(pid)
    t0 = time.time()
    ids = flat(runs)
    batches = [batch for run_ids in runs for batch in enqueue.batches(run_ids)]
    with ThreadPoolExecutor(64) as pool:
        list(pool.map(lambda batch: sending.execute_many(batch, db=db), batches))
    cpu = cpu_s(pid) - cpu0
    report("In process: sending.execute_many from 64 threads, a batch each (the task's code without Celery)", ids, t0, cpu,
           peak_rss_mb(pid), fake_stats(base_url), floor)  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--mode", choices=("celery", "inprocess", "both"), default="both")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--keep", action="store_true", help="keep the data folder (the worker's log) and print where")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="prism-bench-dispatch-"))
    os.environ["PRISM_DATA_DIR"] = str(data_dir)
    broker = redis_url()
    queue = f"bench-runs-{os.getpid()}"
    os.environ["CELERY_BROKER_URL"] = broker or "filesystem://"
    os.environ["PRISM_RUNS_QUEUE"] = queue
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection

    call_command("migrate", verbosity=0)
    print(f"Database: {connection.vendor} ({connection.settings_dict['NAME']})")
    print(f"Broker:   {'Redis ' + broker if broker else 'filesystem (no Redis answered at BENCH_BROKER_URL)'}; queue {queue}")
    print(f"Machine:  {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; provider delay {DELAY_S * 1000:.0f} ms; "
          f"{IN_FLIGHT} in flight ({len(PROVIDERS)} providers x {IN_FLIGHT // len(PROVIDERS)}); {args.requests} requests over 10 models")
    fake, base_url = start_fake_provider()
    try:
        runs = setup(base_url, args.requests)
        floor = calibrate(base_url, flat(runs))
        if args.mode in ("celery", "both"):
            run_celery(base_url, runs, floor, data_dir, os.environ["CELERY_BROKER_URL"], queue)
        if args.mode in ("inprocess", "both"):
            run_inprocess(base_url, setup(base_url, args.requests), floor)
        print(f"\n(fake provider CPU: {cpu_s(fake.pid):.2f} s over the whole benchmark; load average now {os.getloadavg()[0]:.1f})")
    finally:
        fake.terminate()
        fake.wait(10)
        if broker:
            import redis

            redis.Redis.from_url(broker).delete(queue, f"_kombu.binding.{queue}")
        if args.keep:
            print(f"(kept: {data_dir}, the worker's log is worker.log there)")
        else:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
