"""The leaderboard and a grid page at the issue's size: 1,000 cases × 5 models, two reviewers on
every answer (5,000 results, 5,000 scores, 10,000 reviews), bulk-made. Counts queries and times
both; the issue's target is 300 ms of server time each (bench/evaluation.py measures it too)."""

import time

import pytest
from django.urls import reverse

from playground.evalruns import results
from tests.factories import (
    doc_with,
    make_eval_run,
    make_eval_set,
    make_member,
    make_model,
    make_png,
    make_provider,
    make_version,
)

pytestmark = pytest.mark.django_db

N_CASES, N_MODELS = 1000, 5


def _big_run():
    from playground.evalruns.models import EvalItem, EvalScore, Review
    from playground.evals.models import EvalCase, EvalCaseMedia
    from playground.runs.models import Result, Run

    user = make_member()
    team = user.memberships.get().team
    reviewer2 = make_member(team)
    eval_set = make_eval_set(team, "Big", expected_kind="label")
    image = make_png(team)
    provider = make_provider(team)
    models = [make_model(provider, f"model-{i}") for i in range(N_MODELS)]
    version = make_version(team, doc_with({"text": "What?"}))
    run = make_eval_run(team, eval_set, version, models, scorers=[{"name": "label", "config": {}}])
    cases = EvalCase.objects.bulk_create([EvalCase(set=eval_set, position=i + 1, expected="red circle",
                                                   tags=[f"t{i % 4}"]) for i in range(N_CASES)])
    EvalCaseMedia.objects.bulk_create([EvalCaseMedia(case=c, item=image, slot="image") for c in cases])
    runs = Run.objects.bulk_create([Run(team=team, prompt_version=version, status="done", origin="eval") for _ in cases])
    EvalItem.objects.bulk_create([EvalItem(eval_run=run, case=c, arm="as-is", run=r) for c, r in zip(cases, runs, strict=True)])
    res = Result.objects.bulk_create([
        Result(run=r, position=m, provider_model=pm, provider_name="Fake", protocol="chat", model_name=pm.name,
               url="https://x.example", status="succeeded", output_text="a red circle", cost_usd="0.001",
               latency_total_ms=500 + i % 50, input_tokens=100, output_tokens=4)
        for i, r in enumerate(runs) for m, pm in enumerate(models)], batch_size=500)
    case_of = {r.pk: c for c, r in zip(cases, runs, strict=True)}
    EvalScore.objects.bulk_create([EvalScore(eval_run=run, result=r, case=case_of[r.run_id], scorer="label",
                                             value=1.0, passed=(r.pk % 4 != 0), explanation="named red circle",
                                             details={"expected_label": "red circle", "predicted": "red circle"})
                                   for r in res], batch_size=500)
    Review.objects.bulk_create([Review(result=r, eval_run=run, case=case_of[r.run_id], reviewer=u,
                                       verdict=(r.pk + n) % 5 != 0) for r in res for n, u in enumerate((user, reviewer2))],
                               batch_size=500)
    return run


def test_leaderboard_and_grid_page_at_1000_cases_5_models_2_reviewers(django_assert_max_num_queries, capsys, client):
    run = _big_run()
    results.leaderboard(run)  # warm: statsmodels' first import, query plans
    best_board = best_grid = float("inf")
    for _ in range(3):
        with django_assert_max_num_queries(6):
            start = time.perf_counter()
            board = results.leaderboard(run)
            best_board = min(best_board, time.perf_counter() - start)
        with django_assert_max_num_queries(12):
            start = time.perf_counter()
            page = results.grid_page(run, 1, {})
            best_grid = min(best_grid, time.perf_counter() - start)
    assert [ln.results for ln in board.lines] == [N_CASES] * N_MODELS
    assert len(page.rows) == results.GRID_PAGE and page.pages == N_CASES // results.GRID_PAGE
    client.force_login(run.created_by or run.team.memberships.first().user)
    pages = {}
    for name in ("results", "grid"):
        url = reverse(f"evalruns:{name}", args=[run.pk])
        client.get(url)
        pages[name] = float("inf")
        for _ in range(3):  # best of three: the machine is shared
            start = time.perf_counter()
            assert client.get(url).status_code == 200
            pages[name] = min(pages[name], time.perf_counter() - start)
    with capsys.disabled():
        print(f"\nRESULT leaderboard_ms={best_board * 1000:.0f} grid_ms={best_grid * 1000:.0f} "
              f"results_page_ms={pages['results'] * 1000:.0f} grid_page_ms={pages['grid'] * 1000:.0f}")
    # The target is 300 ms; a shared test machine gets some slack before this fails.
    assert best_board < 1.0 and best_grid < 1.0
