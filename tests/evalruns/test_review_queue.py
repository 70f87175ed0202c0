"""Human review: saving (viewers too), blind order and names, the queue, refusals, access."""

import pytest
from django.test import Client
from django.urls import reverse

from playground.evalruns import results, review
from playground.evalruns.models import Review
from tests.evalruns.results_world import make_world
from tests.factories import logged_in, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_world()




def test_a_viewer_reviews_and_rates_and_a_second_post_replaces_it(world):
    result = world.answers["C", 3]
    c = logged_in(world.viewer)
    url = reverse("evalruns:review", args=[result.pk])
    response = c.post(url, {"verdict": "correct", "rating": "4", "comment": "close enough", "blind": "1"})
    assert response.status_code == 302
    r = Review.objects.get(result=result, reviewer=world.viewer)
    assert (r.verdict, r.rating, r.comment, r.blind, r.case_id, r.eval_run_id) == (
        True, 4, "close enough", True, world.cases[3].pk, world.eval_run.pk)
    c.post(url, {"verdict": "incorrect"})
    assert Review.objects.filter(result=result, reviewer=world.viewer).count() == 1
    assert Review.objects.get(result=result, reviewer=world.viewer).verdict is False


def test_a_human_review_changes_the_leaderboard(world):
    c_line = lambda: results.leaderboard(world.eval_run).lines[2]  # noqa: E731
    assert c_line().correct == 1
    logged_in(world.viewer).post(reverse("evalruns:review", args=[world.answers["C", 3].pk]), {"verdict": "correct"})
    assert c_line().correct == 2


@pytest.mark.parametrize("data,message", [
    ({"verdict": "maybe"}, "The verdict must be correct or incorrect."),
    ({"rating": "6"}, "The rating must be a whole number from 1 to 5."),
    ({"rating": "2.5"}, "The rating must be a whole number from 1 to 5."),
    ({}, "Give a verdict, a rating or a comment."),
    ({"comment": "x" * 5001}, "The comment is longer than 5,000 characters."),
])
def test_bad_reviews_are_refused_with_a_reason_and_change_nothing(world, data, message):
    before = list(Review.objects.values())
    c = logged_in(world.editor)
    response = c.post(reverse("evalruns:review", args=[world.answers["C", 3].pk]), data, follow=True)
    assert message in response.content.decode()
    response = c.post(reverse("evalruns:review", args=[world.answers["C", 3].pk]), data, HTTP_HX_REQUEST="true")
    assert response.status_code == 400 and response.content.decode() == message
    assert list(Review.objects.values()) == before


def test_another_teams_result_is_404_and_get_is_refused(world):
    outsider = make_member()
    url = reverse("evalruns:review", args=[world.answers["A", 0].pk])
    before = list(Review.objects.values())
    assert logged_in(outsider).post(url, {"verdict": "correct"}).status_code == 404
    assert logged_in(world.editor).get(url).status_code == 405
    assert logged_in(world.editor).post(reverse("evalruns:review", args=[10**25]), {"verdict": "correct"}).status_code == 404
    assert list(Review.objects.values()) == before


def test_a_result_outside_any_evaluation_is_404(world):
    from playground.runs.models import Result, Run

    run = Run.objects.create(team=world.team, prompt_version=world.eval_run.prompt_version)
    plain = Result.objects.create(run=run, provider_name="x", protocol="chat", model_name="m", url="https://x.example")
    assert logged_in(world.editor).post(reverse("evalruns:review", args=[plain.pk]), {"verdict": "correct"}).status_code == 404


def test_csrf_is_required(world):
    c = Client(enforce_csrf_checks=True)
    c.force_login(world.editor)
    assert c.post(reverse("evalruns:review", args=[world.answers["A", 0].pk]), {"verdict": "correct"}).status_code == 403


def test_blind_order_is_stable_per_reviewer_and_differs_between_reviewers():
    ids = list(range(100, 110))
    one = review.blind_order(7, 1, ids)
    assert one == review.blind_order(7, 1, list(reversed(ids)))  # stable whatever order they come in
    assert sorted(one) == ids and one != ids
    others = {tuple(review.blind_order(7, u, ids)) for u in range(2, 8)}
    assert len(others | {tuple(one)}) > 1
    assert review.blind_order(8, 1, ids) != one


def test_queue_goes_through_unreviewed_answers_in_order(world):
    data = results.load(world.eval_run)
    order = review.review_order(data.results, data.case_ids, data.columns, world.viewer.pk, blind=False)
    assert order[:3] == [world.answers[m, 0].pk for m in "ABC"]
    assert review.queue_next(order, set()) == order[0]
    assert review.queue_next(order, {order[0], order[1]}) == order[2]
    assert review.queue_next(order, set(order[:-1]), after=order[-1]) is None
    assert review.queue_next(order, {order[1]}, after=order[0]) == order[2]
    assert review.queue_previous(order, order[0]) is None and review.queue_previous(order, order[2]) == order[1]


def test_blind_queue_hides_the_model_until_the_verdict(world):
    c = logged_in(world.viewer)
    url = reverse("evalruns:review_queue", args=[world.eval_run.pk])
    text = c.get(url, {"blind": "1"}).content.decode()
    assert "Model hidden" in text
    for name in ("model-a", "model-b", "model-c"):
        assert name not in text
    data = results.load(world.eval_run)
    order = review.review_order(data.results, data.case_ids, data.columns, world.viewer.pk, blind=True)
    first = order[0]
    assert f'action="{reverse("evalruns:review", args=[first])}"' in text
    response = c.post(reverse("evalruns:review", args=[first]), {"verdict": "correct", "blind": "1"})
    assert response.status_code == 302 and f"at={first}" in response["Location"] and "blind=1" in response["Location"]
    text = c.get(response["Location"]).content.decode()
    assert "Model hidden" not in text and "Your review is saved: correct" in text
    # the next answer (of the blind order) is still hidden
    text = c.get(url, {"blind": "1"}).content.decode()
    assert f'action="{reverse("evalruns:review", args=[order[1]])}"' in text and "Model hidden" in text


def test_blind_order_of_one_case_differs_by_reviewer(world):
    data = results.load(world.eval_run)
    orders = {tuple(review.review_order(data.results, data.case_ids, data.columns, u.pk, blind=True)[:3])
              for u in (world.viewer, world.editor, world.reviewer2)}
    assert all(sorted(o) == sorted(world.answers[m, 0].pk for m in "ABC") for o in orders)


def test_queue_when_everything_is_reviewed(world):
    for r in world.answers.values():
        review.save_review(r, world.viewer, verdict="correct")
    text = logged_in(world.viewer).get(reverse("evalruns:review_queue", args=[world.eval_run.pk])).content.decode()
    assert "Every answer has your review." in text and "You have reviewed 18 of 18 answers." in text


def test_queue_page_has_the_keyboard_script_and_no_inline_script(world):
    text = logged_in(world.viewer).get(reverse("evalruns:review_queue", args=[world.eval_run.pk])).content.decode()
    assert "/static/evalruns-review.js" in text
    assert 'data-key="c"' in text and 'data-key="x"' in text and 'data-key="5"' in text
    assert "<script>" not in text and " onclick=" not in text and ' style="' not in text


def test_grid_review_buttons_answer_htmx_with_a_fragment(world):
    c = logged_in(world.viewer)
    result = world.answers["C", 1]
    response = c.post(reverse("evalruns:review", args=[result.pk]), {"verdict": "incorrect", "back": "grid"},
                      HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and "Saved: incorrect." in response.content.decode()
    response = c.post(reverse("evalruns:review", args=[result.pk]), {"verdict": "correct", "back": "grid"})
    assert response.status_code == 302 and response["Location"].endswith(f"#case-{world.cases[1].pk}")
    assert Review.objects.get(result=result, reviewer=world.viewer).verdict is True
    text = c.get(reverse("evalruns:grid", args=[world.eval_run.pk])).content.decode()
    assert "You: correct" in text


def test_queue_of_a_run_without_answers(world):
    from tests.factories import make_eval_run

    empty = make_eval_run(world.team, world.eval_set, world.eval_run.prompt_version, world.models[:1])
    text = logged_in(world.viewer).get(reverse("evalruns:review_queue", args=[empty.pk])).content.decode()
    assert "No answers to review yet." in text
