"""The judge scorer: once the evaluation's answers are in, one judge request per answer goes to the
judge model as an ordinary run (origin "eval"), and its answer is read into the score; its cost is
counted apart; re-scoring reads the stored answers again without sending."""

import pytest

from playground.evalruns import scoring, services, starting
from playground.evalruns.models import EvalRun, EvalScore
from playground.runs.models import Result, Run
from tests.evalruns import runs_world
from tests.factories import make_model

world = runs_world.world  # the fixture, used by name

pytestmark = pytest.mark.django_db

JUDGE = {"name": "judge", "config": {"rubric": "The answer names the colour and the shape shown."}}


def test_the_judge_is_asked_once_per_answer_and_scores_from_its_reply(world, celery_eager, django_capture_on_commit_callbacks,
                                                                      provider_server):
    judge_model = make_model(world.provider, "gpt-4o")
    with django_capture_on_commit_callbacks(execute=True):
        er = starting.create_eval_run(team=world.team, user=world.user, eval_set=world.eval_set, version=world.version,
                                      bindings=services.default_bindings(world.version, world.eval_set),
                                      provider_models=world.models, arms=services.clean_arms([]),
                                      scorers=[{"name": "label", "config": {}}, JUDGE], judge_model=judge_model)
    er.refresh_from_db()
    assert er.status == EvalRun.Status.DONE
    judge_runs = Run.objects.filter(origin="eval", eval_item__isnull=True)
    assert judge_runs.count() == 6
    judged = Result.objects.filter(run__in=judge_runs)
    assert set(judged.values_list("model_name", flat=True)) == {"gpt-4o"} and set(judged.values_list("status", flat=True)) == {"succeeded"}
    assert "The answer names the colour and the shape shown." in judged.first().run.values["judge_prompt"]
    rows = EvalScore.objects.filter(eval_run=er, scorer="judge")
    assert rows.count() == 6 and not rows.filter(details__pending=True).exists()
    assert all(r.explanation != scoring.PENDING and r.details["judge_result"] for r in rows)
    progress = scoring.judge_progress(er)
    assert progress["requests"] == 6 and progress["pending"] == 0 and progress["cost"] > 0
    assert EvalScore.objects.filter(eval_run=er, scorer="label", passed=True).count() == 6

    sent = len(provider_server.received)
    scoring.rescore(er)
    assert len(provider_server.received) == sent and rows.count() == 6


def test_a_judge_scorer_needs_a_judge_model(world):
    with pytest.raises(services.Invalid, match="judge model"):
        starting.create_eval_run(team=world.team, user=world.user, eval_set=world.eval_set, version=world.version,
                                 bindings=services.default_bindings(world.version, world.eval_set),
                                 provider_models=world.models, arms=services.clean_arms([]), scorers=[JUDGE])
