"""Evaluation benchmark (issue 11, "Performance"): N image cases (~1 MB JPEGs) x 5 fake recogniser
models, the provider answering after 500 ms, 50 in flight.

    .venv/bin/python bench/evaluation.py [--cases 1000] [--jpeg-kb 1000] [--keep]

Setup as bench/dispatch.py (its helpers are reused): a throwaway PRISM_DATA_DIR with a migrated
SQLite database (or DATABASE_URL), Redis at BENCH_BROKER_URL when one answers (else the filesystem
broker), the fake provider as its own process (``python -m tests.provider_server --delay 0.5
--no-bodies``), five providers (Chat, Responses, Messages, Gemini, OpenAI-compatible) with one
recogniser model each (``fake-see-err=0.05`` ... ``0.25``) allowing 10 in flight (50 in all).

1. The set: tests/eval_data.make_shapes(jpeg_kb=1000) zipped with write_zip and imported as
   bench/evalset_import.py does (imports.start_import + run_import, cold): ``zip_import_s``.
2. The evaluation: created as the page does (starting.create_eval_run) and prepared by a real
   default-queue worker (one process, ``--pool solo``, so its CPU and RSS are its own) while a real runs worker (``-Q runs --pool threads
   --concurrency 64``, as bin/run) sends. The clock starts when the prepare task is sent and stops
   at the last result's ``finished_at``: wall time against the ideal (N x 5 x 0.5 s / 50;
   target <= 1.10x), peak RSS of each worker (target <= 300 MB), scores stored.
3. Two reviewers' verdicts on every result, then the results pages of helper "evalresults" timed
   through Django's test Client (server time: the request in this process, median of 5 after a
   warm-up): ``/evaluations/<id>/results/`` (leaderboard) and ``/grid/`` (a page of the grid).
4. WER scoring speed: playground.scoring's "wer" scorer on 5,000 generated transcript pairs
   (transcripts per CPU second, as bench/scoring.py counts).

Last line: ``RESULT eval_wall_ratio=X worker_peak_rss_mb=N leaderboard_ms=N grid_ms=N wer_per_s=N zip_import_s=N``.
"""

import argparse
import os
import random
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

import dispatch  # noqa: E402  (bench/dispatch.py: the fake provider, CPU and RSS helpers)

DELAY_S = dispatch.DELAY_S
IN_FLIGHT = dispatch.IN_FLIGHT
PROTOCOLS = ["chat", "responses", "messages", "gemini", "compatible"]
ERRORS = [0.05, 0.1, 0.15, 0.2, 0.25]


def start_worker(name: str, queues: str, pool: str, concurrency: int, env: dict, log_path: Path) -> subprocess.Popen:
    with open(log_path, "wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "celery", "-A", "playground", "worker", "-l", "info", "-Q", queues,
                                 "--pool", pool, "--concurrency", str(concurrency), "-n", f"{name}-{os.getpid()}@%h",
                                 "--without-heartbeat", "--without-gossip", "--without-mingle"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)  # fmt: skip
    deadline = time.monotonic() + 60
    while b" ready." not in log_path.read_bytes():
        if proc.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"The {name} worker did not start:\n" + log_path.read_text()[-3000:])
        time.sleep(0.1)
    return proc


def stop(proc: subprocess.Popen) -> None:
    proc.terminate()
    try:
        proc.wait(15)
    except subprocess.TimeoutExpired:
        proc.kill()


def import_set(tmp: Path, n: int, jpeg_kb: int, team, user):
    from playground.evals import imports, services
    from tests import eval_data

    t0 = time.perf_counter()
    cases = eval_data.make_shapes(tmp / "shapes", n=n, jpeg_kb=jpeg_kb or None)
    zip_path = eval_data.write_zip(cases, tmp / "shapes.zip", manifest="csv")
    print(f"made {n} images and the ZIP ({zip_path.stat().st_size / 1e6:.0f} MB) in {time.perf_counter() - t0:.1f} s")
    eval_set = services.create_set(team=team, user=user, name="Shapes", expected_kind="label",
                                   labels=[{"label": lbl, "synonyms": []} for lbl in eval_data.shape_labels()])  # fmt: skip
    t0 = time.perf_counter()
    job = imports.start_import(eval_set, user=user, path=zip_path, file_name=zip_path.name)
    while imports.run_import(job.pk):
        pass
    elapsed = time.perf_counter() - t0
    job.refresh_from_db()
    assert job.status == "done" and job.added == n, (job.status, job.added, job.errors[:3])
    print(f"imported {n} cases in {elapsed:.1f} s (target <= 60 s for 1,000)")
    return eval_set, elapsed


def make_models(team, base_url):
    from playground.catalog.models import Provider, ProviderModel
    from tests.provider_server import DEFAULT_KEY

    models = []
    for protocol, err in zip(PROTOCOLS, ERRORS, strict=True):
        render = "chat" if protocol == "compatible" else protocol
        provider = Provider(team=team, name=f"Fake {protocol}", protocol=protocol, timeout_s=60,
                            base_url=base_url + ("/v1" if render in ("chat", "responses") else ""),
                            max_concurrency=IN_FLIGHT // len(PROTOCOLS))  # fmt: skip
        provider.set_api_key(DEFAULT_KEY)
        provider.save()
        models.append(ProviderModel.objects.create(provider=provider, name=f"fake-see-err={err}", inputs=["image"],
                                                   price_input_per_mtok=1, price_output_per_mtok=4))  # fmt: skip
    return models


def add_reviews(er, reviewers) -> int:
    from playground.evalruns.models import Review
    from playground.runs.models import Result

    rows = []
    for pk, case_id in Result.objects.filter(run__eval_item__eval_run=er).values_list("pk", "run__eval_item__case_id"):
        for i, reviewer in enumerate(reviewers):
            rows.append(Review(result_id=pk, eval_run=er, case_id=case_id, reviewer=reviewer, verdict=(pk + i) % 7 != 0))
    Review.objects.bulk_create(rows, batch_size=2000)
    return len(rows)


def time_page(client, url: str) -> float | None:
    response = client.get(url)  # warm-up (and: does the page exist yet?)
    if response.status_code == 404 and b"Not found" not in response.content[:2000]:
        return None
    if response.status_code != 200:
        print(f"  {url}: HTTP {response.status_code}")
        return None
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times)


def wer_rate(n: int = 5000) -> tuple[float, float]:
    from playground.scoring import registry

    rng = random.Random(0)
    words = "zero one two three four five six seven eight nine".split()
    pairs = []
    for i in range(n):
        ref = [rng.choice(words) for _ in range(rng.randint(3, 12))]
        hyp = [w if rng.random() > 0.15 else rng.choice(words) for w in ref]
        if rng.random() < 0.2:
            hyp.insert(rng.randrange(len(hyp) + 1), rng.choice(words))
        pairs.append((" ".join(hyp) + ("." if i % 3 else ""), " ".join(ref)))
    scorer = registry.make_scorer("wer", {})
    c0, t0 = time.process_time(), time.perf_counter()
    for hyp, ref in pairs:
        scorer(hyp, ref)
    return n / (time.process_time() - c0), n / (time.perf_counter() - t0)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--cases", type=int, default=1000)
    parser.add_argument("--jpeg-kb", type=int, default=1000, help="~KB per JPEG (0: small PNGs)")
    parser.add_argument("--keep", action="store_true", help="keep the data folder (the workers' logs) and print where")
    args = parser.parse_args()

    data_dir = Path(tempfile.mkdtemp(prefix="prism-bench-evaluation-"))
    (data_dir / "staticfiles").mkdir(exist_ok=True)
    os.environ["PRISM_DATA_DIR"] = str(data_dir)
    broker = dispatch.redis_url()
    runs_queue, prep_queue = f"bench-eval-runs-{os.getpid()}", f"bench-eval-prep-{os.getpid()}"
    os.environ["CELERY_BROKER_URL"] = broker or "filesystem://"
    os.environ["PRISM_RUNS_QUEUE"] = runs_queue
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "playground.settings")
    import django

    django.setup()
    from django.contrib.auth import get_user_model
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client

    from playground.accounts.models import Membership, Team
    from playground.evalruns import services, starting, tasks
    from playground.evalruns.models import EvalRun, EvalScore
    from playground.prompts.document import normalize
    from playground.prompts.models import Prompt
    from playground.runs.models import Result

    call_command("migrate", verbosity=0)
    print(f"Database: {connection.vendor}; broker: {'Redis' if broker else 'filesystem'}; machine: {os.cpu_count()} CPUs, "
          f"load average {os.getloadavg()[0]:.1f}; {args.cases} cases x {len(PROTOCOLS)} models, delay {DELAY_S * 1000:.0f} ms, "
          f"{IN_FLIGHT} in flight")  # fmt: skip
    fake, base_url = dispatch.start_fake_provider()
    workers = []
    try:
        User = get_user_model()
        user = User.objects.create_user("bench", password="x")
        reviewer = User.objects.create_user("bench-reviewer", password="x")
        team = Team.objects.create(name="Bench")
        team.add_member(user, Membership.Role.OWNER)
        team.add_member(reviewer, Membership.Role.EDITOR)
        eval_set, zip_import_s = import_set(data_dir, args.cases, args.jpeg_kb, team, user)
        models = make_models(team, base_url)
        doc = normalize({"system": "Answer with the colour and the shape.", "messages": [{"role": "user", "parts": [
            {"text": "What is in this picture?"}, {"media_variable": "image", "kind": "image"}]}],
            "variables": {}, "options": {"max_tokens": 20}})  # fmt: skip
        version = Prompt.objects.create(team=team, name="Shapes").save_version(doc)

        env = dict(os.environ, PYTHONUNBUFFERED="1")
        if connection.vendor == "sqlite":
            env["DATABASE_URL"] = f"sqlite:///{connection.settings_dict['NAME']}"
        runs_worker = start_worker("bench-eval-runs", runs_queue, "threads", 64, env, data_dir / "runs-worker.log")
        prep_worker = start_worker("bench-eval-prep", f"{prep_queue},celery", "solo", 1, env, data_dir / "prep-worker.log")
        workers = [runs_worker, prep_worker]
        time.sleep(0.5)

        # Made as the page makes it; its task is sent to this bench's own queue (not on commit: by hand, below).
        from playground.evalruns import enqueue

        enqueue.prepare = lambda pk: None
        er = starting.create_eval_run(team=team, user=user, eval_set=eval_set, version=version,
                                      bindings=services.default_bindings(version, eval_set), provider_models=models,
                                      arms=services.clean_arms([]), name="Bench")  # fmt: skip
        cpu0 = {w.pid: dispatch.cpu_s(w.pid) for w in workers}
        t0 = time.time()
        tasks.prepare_eval_run.apply_async(args=[er.pk], queue=prep_queue)
        deadline = time.monotonic() + 1800
        while EvalRun.objects.get(pk=er.pk).status in EvalRun.ACTIVE:
            if time.monotonic() > deadline:
                raise SystemExit("Not finished in 30 min.\n" + (data_dir / "prep-worker.log").read_text()[-3000:])
            time.sleep(0.5)
        er.refresh_from_db()
        results = Result.objects.filter(run__eval_item__eval_run=er)
        n = results.count()
        last = max(results.values_list("finished_at", flat=True)).timestamp()
        prepared_at = er.items.order_by("-run__created_at").values_list("run__created_at", flat=True).first()
        wall = last - t0
        ideal = args.cases * len(models) * DELAY_S / IN_FLIGHT
        rss = {name: dispatch.peak_rss_mb(w.pid) for name, w in zip(("runs", "prepare"), workers, strict=True)}
        cpu = {name: dispatch.cpu_s(w.pid) - cpu0[w.pid] for name, w in zip(("runs", "prepare"), workers, strict=True)}
        ok = results.filter(status="succeeded").count()
        scores = EvalScore.objects.filter(eval_run=er).count()
        print(f"\nevaluation {er.status}: {n} results ({ok} succeeded), {scores} scores; preparation done "
              f"{prepared_at.timestamp() - t0:.1f} s after the start")
        print(f"  wall time:   {wall:.1f} s   ideal {ideal:.1f} s   ratio {wall / ideal:.3f}   (target <= 1.10)")
        print(f"  worker CPU:  runs {cpu['runs']:.1f} s ({cpu['runs'] / max(n, 1) * 1000:.1f} ms/request), "
              f"prepare {cpu['prepare']:.1f} s ({cpu['prepare'] / args.cases * 1000:.1f} ms/case)")
        print(f"  peak RSS:    runs worker {rss['runs']:.0f} MB, prepare worker {rss['prepare']:.0f} MB (target <= 300 MB)")
        print(f"  fake provider: {dispatch.fake_stats(base_url)}")
        stop(runs_worker)
        stop(prep_worker)
        workers = []

        reviews = add_reviews(er, [user, reviewer])
        client = Client(HTTP_HOST="localhost")
        client.force_login(user)
        board_ms = time_page(client, f"/evaluations/{er.pk}/results/")
        grid_ms = time_page(client, f"/evaluations/{er.pk}/grid/")
        say = lambda v: "n/a" if v is None else f"{v:.0f}"  # noqa: E731
        print(f"  pages ({reviews} reviews by 2 reviewers): leaderboard {say(board_ms)} ms, grid page {say(grid_ms)} ms "
              "(server time, median of 5; target <= 300 ms)")
        wer_cpu, wer_wall = wer_rate()
        print(f"  WER scoring: {wer_cpu:,.0f} transcripts per CPU second ({wer_wall:,.0f} per wall second; target >= 5,000)")
        print(f"RESULT eval_wall_ratio={wall / ideal:.3f} worker_peak_rss_mb={max(rss.values()):.0f} "
              f"leaderboard_ms={say(board_ms)} grid_ms={say(grid_ms)} wer_per_s={wer_cpu:.0f} zip_import_s={zip_import_s:.1f}")
    finally:
        for w in workers:
            stop(w)
        fake.terminate()
        fake.wait(10)
        if broker:
            import redis

            r = redis.Redis.from_url(broker)
            for q in (runs_queue, prep_queue):
                r.delete(q, f"_kombu.binding.{q}")
        if args.keep:
            print(f"(kept: {data_dir})")
        else:
            import shutil

            shutil.rmtree(data_dir, ignore_errors=True)


if __name__ == "__main__":
    main()
