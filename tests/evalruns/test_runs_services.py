"""Evaluation runs without a worker: Celery eager and the on-commit callbacks run, so preparing
and sending happen in the test (the fake recogniser answers from what each image shows)."""

from decimal import Decimal

import pytest

from playground.evalruns import prepare, scoring, services
from playground.evalruns.models import EvalItem, EvalRun, EvalScore
from playground.runs.models import Result, Run
from playground.runs.services import result_body_iter
from tests.evalruns import runs_world
from tests.evalruns.runs_world import images_in_body, shapes_world, start
from tests.factories import make_model

world = runs_world.world  # the fixture, used by name

pytestmark = pytest.mark.django_db


def run_all(capture, fn, *args, **kw):
    with capture(execute=True):
        return fn(*args, **kw)


def test_default_bindings_match_names_and_the_only_image_slot(world):
    b = services.default_bindings(world.version, world.eval_set)
    assert b == {"media": {"image": "image"}, "variables": {"shape": "shape"}}
    case = world.cases[0]
    values = services.case_values(case, b, services.media_by_slot(case))
    assert values == {"image": {"media": {"item": case.media.get().item_id}}, "shape": case.fields["shape"]}


def test_bindings_refuse_a_slot_or_field_the_set_does_not_have(world):
    with pytest.raises(services.Invalid, match="no media slot “audio”"):
        services.clean_bindings(world.version, world.eval_set, {"image": "audio"}, {})
    with pytest.raises(services.Invalid, match="no field “nope”"):
        services.clean_bindings(world.version, world.eval_set, {"image": "image"}, {"shape": "nope"})
    with pytest.raises(services.Invalid, match="Choose the case media"):
        services.clean_bindings(world.version, world.eval_set, {}, {})


def test_an_evaluation_sends_every_case_and_scores_the_answers(world, celery_eager, django_capture_on_commit_callbacks):
    er = run_all(django_capture_on_commit_callbacks, start, world)
    er.refresh_from_db()
    assert er.status == EvalRun.Status.DONE, er.status_message
    items = list(EvalItem.objects.filter(eval_run=er))
    assert len(items) == 6 and all(i.run.origin == "eval" for i in items)
    results = list(Result.objects.filter(run__eval_item__eval_run=er).order_by("run__eval_item__case__position"))
    assert [r.status for r in results] == ["succeeded"] * 6
    scores = {s.result_id: s for s in EvalScore.objects.filter(eval_run=er)}
    assert set(scores) == {r.pk for r in results}
    assert all(s.scorer == "label" and s.passed for s in scores.values()), [s.explanation for s in scores.values()]
    p = services.progress(er)
    assert (p["prepared_cases"], p["succeeded"], p["finished"], p["percent"]) == (6, 6, 6, 100)
    # The evaluation's variable values went into each case's request.
    assert world.cases[0].fields["shape"] in results[0].run.values["shape"]


def test_a_512_px_arm_sends_a_512_px_image_and_the_version_is_unchanged(world, celery_eager, django_capture_on_commit_callbacks):
    before = dict(world.version.content)
    er = run_all(django_capture_on_commit_callbacks, start, world, arms=["as-is", "edge-512"])
    by_arm = {}
    for item in EvalItem.objects.filter(eval_run=er, case=world.cases[0]).select_related("run"):
        result = item.run.results.get()
        by_arm[item.arm] = images_in_body(b"".join(result_body_iter(result)))
    assert [im.size for im in by_arm["as-is"]] == [(800, 600)]
    assert [im.size for im in by_arm["edge-512"]] == [(512, 384)]
    world.version.refresh_from_db()
    assert world.version.content == before
    assert EvalRun.objects.get(pk=er.pk).status == EvalRun.Status.DONE


def test_detail_low_arm_changes_the_stored_body(world, celery_eager, django_capture_on_commit_callbacks):
    er = run_all(django_capture_on_commit_callbacks, start, world, arms=["as-is", "detail-low"])
    bodies = {i.arm: b"".join(result_body_iter(i.run.results.get())) for i in EvalItem.objects.filter(eval_run=er, case=world.cases[0])}
    assert b'"detail": "low"' in bodies["detail-low"].replace(b'":"', b'": "') and b'"low"' not in bodies["as-is"]


def test_preflight_counts_requests_per_model_and_arm_and_names_refusals(world):
    text_only = make_model(world.provider, "text-only-model", inputs=["text"])
    bindings = services.default_bindings(world.version, world.eval_set)
    summary = services.preflight_summary(team=world.team, eval_set=world.eval_set, version=world.version, bindings=bindings,
                                         provider_models=[world.models[0], text_only],
                                         arms=services.clean_arms(["as-is", "edge-512"]), samples=2)
    rows = {(r["model"].name, r["arm"]["key"]): r for r in summary["rows"]}
    assert len(rows) == 4
    ok = rows[("fake-see-err=0", "as-is")]
    assert ok["requests"] == 12 and ok["refused"] == 0 and ok["tokens_est"] > 0 and ok["cost_est"] > 0
    assert rows[("fake-see-err=0", "edge-512")]["tokens_est"] <= ok["tokens_est"]
    refused = rows[("text-only-model", "as-is")]
    assert refused["requests"] == 0 and refused["refused"] == 12
    assert refused["reasons"] and "image" in refused["reasons"][0][0].lower()
    assert summary["requests"] == 24 and summary["all_requests"] == 6 * 2 * 2 * 2
    assert not summary["scaled"] and summary["sampled"] == 6
    assert not Run.objects.exists()  # a preflight sends and stores nothing


def test_preflight_estimates_from_a_sample_and_says_so(world, monkeypatch):
    monkeypatch.setattr(services, "PREFLIGHT_SAMPLE", 2)
    summary = services.preflight_summary(team=world.team, eval_set=world.eval_set, version=world.version,
                                         bindings=services.default_bindings(world.version, world.eval_set),
                                         provider_models=world.models, arms=services.clean_arms([]))
    assert summary["scaled"] and summary["sampled"] == 2 and summary["rows"][0]["requests"] == 6


def test_preparing_twice_makes_nothing_twice(world, django_capture_on_commit_callbacks, monkeypatch):
    sent = []
    monkeypatch.setattr("playground.runs.enqueue.send_now", lambda ids: sent.extend(ids))
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    monkeypatch.setattr(prepare, "CHUNK", 4)
    er = start(world, arms=["as-is", "edge-512"])
    with django_capture_on_commit_callbacks(execute=True):
        assert prepare.prepare(er.pk, slice_s=0) == "more"  # one chunk, then "continue in a new task"
    assert EvalItem.objects.filter(eval_run=er).count() == 8
    assert EvalRun.objects.get(pk=er.pk).prepared_cases == 4
    with django_capture_on_commit_callbacks(execute=True):
        assert prepare.prepare(er.pk) == "done"
    EvalRun.objects.filter(pk=er.pk).update(status=EvalRun.Status.PREPARING)  # a redelivered task
    with django_capture_on_commit_callbacks(execute=True):
        assert prepare.prepare(er.pk) == "done"
    assert EvalItem.objects.filter(eval_run=er).count() == 12
    assert Run.objects.filter(origin="eval").count() == 12
    assert sorted(sent) == sorted(Result.objects.values_list("pk", flat=True)) and len(sent) == 12


def test_cancel_stops_preparing_and_cancels_what_is_unanswered(world, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr("playground.runs.enqueue.send_now", lambda ids: None)  # nothing answers
    monkeypatch.setattr("playground.evalruns.enqueue.prepare", lambda pk: None)
    monkeypatch.setattr(prepare, "CHUNK", 2)
    er = start(world)
    prepare.prepare(er.pk, slice_s=0)
    assert services.cancel(er) == 2
    assert prepare.prepare(er.pk) == "stopped"
    er.refresh_from_db()
    assert er.status == EvalRun.Status.CANCELLED and EvalItem.objects.filter(eval_run=er).count() == 2
    assert set(Result.objects.values_list("status", flat=True)) == {"cancelled"}
    assert services.cancel(er) == 0  # twice: nothing more


def test_a_tiny_budget_stops_the_run_and_keeps_what_was_answered(world, celery_eager, django_capture_on_commit_callbacks, monkeypatch):
    monkeypatch.setattr(prepare, "CHUNK", 1)
    er = run_all(django_capture_on_commit_callbacks, start, world, budget="0.0001")
    er.refresh_from_db()
    assert er.status == EvalRun.Status.STOPPED and "budget" in er.status_message
    answered = Result.objects.filter(run__eval_item__eval_run=er, status="succeeded")
    assert 1 <= answered.count() < 6 and all(r.cost_usd > 0 for r in answered)
    assert EvalScore.objects.filter(eval_run=er).count() == answered.count()  # the answers are kept and scored
    assert services.progress(er)["cost"] >= Decimal("0.0001")


def test_a_budget_below_what_can_be_stored_is_refused(world):
    with pytest.raises(services.Invalid, match="at least 0.0001"):
        start(world, budget="0.00001")
    assert not EvalRun.objects.exists()


def test_identical_requests_are_answered_from_the_stored_response(world, celery_eager, django_capture_on_commit_callbacks, provider_server):
    first = run_all(django_capture_on_commit_callbacks, start, world)
    sent = len(provider_server.received)
    assert sent == 6
    again = run_all(django_capture_on_commit_callbacks, start, world, reuse=True)
    assert len(provider_server.received) == sent  # nothing sent
    reused = list(Result.objects.filter(run__eval_item__eval_run=again).select_related("reused_from"))
    assert len(reused) == 6 and all(r.reused_from is not None and r.cost_usd == 0 for r in reused)
    assert all(r.output_text == r.reused_from.output_text and r.reused_from.cost_usd > 0 for r in reused)
    assert {r.reused_from.run.eval_item.eval_run_id for r in reused} == {first.pk}
    again.refresh_from_db()
    assert again.status == EvalRun.Status.DONE and services.progress(again)["reused"] == 6
    assert EvalScore.objects.filter(eval_run=again).count() == 6
    # Off: sent again.
    run_all(django_capture_on_commit_callbacks, start, world, reuse=False)
    assert len(provider_server.received) == sent + 6


def test_rescoring_recomputes_scores_without_sending(world, celery_eager, django_capture_on_commit_callbacks, provider_server):
    er = run_all(django_capture_on_commit_callbacks, start, world)
    sent = len(provider_server.received)
    er.scorers = [{"name": "exact", "config": {}}, {"name": "contains", "config": {}}, {"name": "contains", "config": {"whole_word": True}}]
    er.save()
    assert scoring.rescore(er) == 18
    assert len(provider_server.received) == sent
    keys = sorted(set(EvalScore.objects.filter(eval_run=er).values_list("scorer", flat=True)))
    assert keys == ["contains", "contains#2", "exact"]
    assert EvalScore.objects.filter(eval_run=er, scorer="label").count() == 0
    # "a red circle" contains "red circle" but is not exactly it.
    assert all(EvalScore.objects.filter(eval_run=er, scorer="contains").values_list("passed", flat=True))
    assert not any(EvalScore.objects.filter(eval_run=er, scorer="exact").values_list("passed", flat=True))


def test_wrong_answers_score_as_wrong(team, user, provider_server, tmp_path, celery_eager, django_capture_on_commit_callbacks):
    w = shapes_world(team, user, provider_server, tmp_path, n=24, models=("fake-see-err=0.5",), size=(128, 128))
    er = run_all(django_capture_on_commit_callbacks, start, w)
    passed = list(EvalScore.objects.filter(eval_run=er).values_list("passed", flat=True))
    assert len(passed) == 24 and 0 < sum(passed) < 24
