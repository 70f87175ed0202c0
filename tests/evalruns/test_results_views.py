"""The results pages over tests/evalruns/results_world.py: what they show, exports, access."""

import csv
import io
import json

import pytest
from django.urls import reverse

from playground.evalruns import results
from tests.evalruns.results_world import make_world
from tests.factories import logged_in, make_eval_answer, make_member

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_world()




def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode()
    return response.content.decode()


def test_results_page_shows_leaderboard_chart_agreement_matrix_and_tags(world):
    response = logged_in(world.viewer).get(reverse("evalruns:results", args=[world.eval_run.pk]))
    text = body(response)

    assert response.status_code == 200
    assert "67% (95% CI 30% to 90%, n = 6)" in text and "100% (95% CI 61% to 100%, n = 6)" in text
    assert "$0.0125" in text  # A's cost per correct answer
    assert "<svg" in text and "ev-on-front" in text and 'style="' not in text.split("<svg", 1)[1].split("</svg>")[0]
    assert "Cohen&#x27;s κ = 0.50: moderate agreement" in text or "Cohen's κ = 0.50: moderate agreement" in text
    assert "fair agreement" in text
    # the confusion cell links to the grid filtered to its case
    assert f'{reverse("evalruns:grid", args=[world.eval_run.pk])}?cases={world.cases[4].pk}"' in text
    assert ">circle</a>" in text


def test_grid_page_filters_and_cell_contents(world):
    url = reverse("evalruns:grid", args=[world.eval_run.pk])
    c = logged_in(world.editor)
    text = body(c.get(url, {"filter": "human"}))
    assert "2 cases" in text
    assert f'id="case-{world.cases[0].pk}"' in text and f'id="case-{world.cases[2].pk}"' in text
    assert f'id="case-{world.cases[1].pk}"' not in text

    text = body(c.get(url, {"cases": str(world.cases[4].pk)}))
    assert "1 case" in text and "a red circle" in text and "named red circle" in text
    text = body(c.get(url, {"tag": "star", "filter": "nonsense", "page": "99"}))
    assert f'id="case-{world.cases[3].pk}"' in text and f'id="case-{world.cases[0].pk}"' not in text


def test_grid_escapes_model_output(world):
    make_eval_answer(world.eval_run, world.cases[0], world.models[0], "<script>alert(1)</script> **bold**", sample=1,
                     scores={"label": (0.0, False, "<img src=x>", {})})
    text = body(logged_in(world.editor).get(reverse("evalruns:grid", args=[world.eval_run.pk])))
    assert "<script>alert(1)" not in text and "&lt;script&gt;" in text and "<strong>bold</strong>" in text
    assert "<img src=x>" not in text


def test_wer_alignment_in_the_grid(world):
    from tests.factories import make_eval_run

    run = make_eval_run(world.team, world.eval_set, world.eval_run.prompt_version, world.models[:1],
                        scorers=[{"name": "wer", "config": {}}])
    details = {"alignment": [{"type": "equal", "ref": ["three"], "hyp": ["three"]},
                             {"type": "substitute", "ref": ["one"], "hyp": ["two"]}]}
    make_eval_answer(run, world.cases[0], world.models[0], "three two", scores={"wer": (0.5, None, "1 of 2 words wrong", details)})
    text = body(logged_in(world.editor).get(reverse("evalruns:grid", args=[run.pk])))
    assert '<span class="al-substitute"' in text and "<del>one</del> <ins>two</ins>" in text


def test_compare_page_words_and_lists(world):
    a, b = (f"{world.eval_run.pk}:{results.column_key(m.pk, 'as-is')}" for m in world.models[:2])
    text = body(logged_in(world.viewer).get(reverse("evalruns:compare", args=[world.eval_run.pk]), {"a": a, "b": b}))
    assert "model-b is right on 2 cases where model-a is wrong and wrong on 0 where model-a is right; p = 0.5." in text
    ids = ",".join(str(x) for x in sorted([world.cases[4].pk, world.cases[5].pk]))
    assert f"?cases={ids}" in text
    assert '<td class="both-right">4</td>' in text and '<td class="only-b">2</td>' in text
    assert '<td class="only-a">0</td>' in text and '<td class="both-wrong">0</td>' in text
    bad = body(logged_in(world.viewer).get(reverse("evalruns:compare", args=[world.eval_run.pk]), {"a": "999999:m1.x", "b": b}))
    assert "Choose two columns" in bad


def test_compare_refuses_another_teams_run(world):
    other = make_world()  # another team, same shape
    a = f"{world.eval_run.pk}:{results.column_key(world.models[0].pk, 'as-is')}"
    b = f"{other.eval_run.pk}:{results.column_key(other.models[0].pk, 'as-is')}"
    text = body(logged_in(world.editor).get(reverse("evalruns:compare", args=[world.eval_run.pk]), {"a": a, "b": b}))
    assert "Choose two columns" in text and "in Shapes run" not in text


def test_csv_export_has_every_answer_score_and_review(world):
    response = logged_in(world.viewer).get(reverse("evalruns:export", args=[world.eval_run.pk, "csv"]))
    assert response.streaming and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(body(response))))
    assert len(rows) == 18
    first = rows[0]
    assert first["case_position"] == "1" and first["model"] == "model-a" and first["label_passed"] == "True"
    assert first["reviews"].count("correct") == 2
    assert {r["status"] for r in rows} == {"succeeded", "failed"}
    assert first["fields"] == ""


def test_csv_export_defuses_formulas(world):
    make_eval_answer(world.eval_run, world.cases[0], world.models[0], "=HYPERLINK(\"http://x\")", sample=1)
    rows = list(csv.DictReader(io.StringIO(body(logged_in(world.editor).get(
        reverse("evalruns:export", args=[world.eval_run.pk, "csv"]))))))
    assert any(r["output"] == "'=HYPERLINK(\"http://x\")" for r in rows)


def test_json_export(world):
    world.cases[0].fields = {"colour": "red"}
    world.cases[0].save(update_fields=["fields"])
    response = logged_in(world.editor).get(reverse("evalruns:export", args=[world.eval_run.pk, "json"]))
    data = json.loads(body(response))
    assert data["evaluation"]["name"] == "Shapes run"
    assert len(data["results"]) == 18
    r = next(x for x in data["results"] if x["result_id"] == world.answers["B", 0].pk)
    assert r["scores"]["label"]["passed"] is True
    assert sorted(v["verdict"] for v in r["reviews"]) == ["correct", "incorrect"]
    assert r["fields"] == {"colour": "red"} and r["expected"] == "red circle" and r["tags"] == ["circle"]
    assert logged_in(world.editor).get(reverse("evalruns:export", args=[world.eval_run.pk, "xml"])).status_code == 404


@pytest.mark.parametrize("name,args", [("results", []), ("grid", []), ("compare", []), ("export", ["csv"]),
                                       ("review_queue", [])])
def test_another_team_gets_404(world, name, args):
    outsider = make_member()
    response = logged_in(outsider).get(reverse(f"evalruns:{name}", args=[world.eval_run.pk, *args]))
    assert response.status_code == 404
    assert logged_in(outsider).get(f"/evaluations/{10**25}/results/").status_code == 404


def test_results_pages_write_nothing(world):
    from playground.evalruns.models import Review

    before = list(Review.objects.values())
    c = logged_in(world.editor)
    for name in ("results", "grid", "compare", "review_queue"):
        assert c.get(reverse(f"evalruns:{name}", args=[world.eval_run.pk])).status_code == 200
    assert list(Review.objects.values()) == before


def test_a_wer_leaderboard_shows_the_mean_rate_in_percent(world):
    from tests.factories import make_eval_run

    run = make_eval_run(world.team, world.eval_set, world.eval_run.prompt_version, world.models[:1],
                        scorers=[{"name": "wer", "config": {}}])
    for case, rate in zip(world.cases[:4], (0.0, 0.25, 0.25, 0.5), strict=True):
        make_eval_answer(run, case, world.models[0], "x", scores={"wer": (rate, None)})
    text = body(logged_in(world.editor).get(reverse("evalruns:results", args=[run.pk])))
    assert "Mean error rate (95% CI)" in text
    assert "25.0% (95% CI " in text and "n = 4)" in text


@pytest.mark.parametrize("name", ["results", "grid", "review_queue"])
def test_page_queries_do_not_grow_with_the_run(world, name):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from tests.factories import make_eval_case, make_png, make_review

    c = logged_in(world.editor)
    url = reverse(f"evalruns:{name}", args=[world.eval_run.pk])
    c.get(url)
    with CaptureQueriesContext(connection) as before:
        assert c.get(url).status_code == 200
    for i in range(3):
        case = make_eval_case(world.eval_set, make_png(world.team, f"more{i}.png"), expected="red circle", tags=["circle"])
        for model in world.models:
            r = make_eval_answer(world.eval_run, case, model, "a red circle", scores={"label": (1.0, True)})
            make_review(r, world.reviewer2, verdict=True)
    with CaptureQueriesContext(connection) as after:
        assert c.get(url).status_code == 200
    assert len(after.captured_queries) == len(before.captured_queries) <= 25, [q["sql"][:80] for q in after.captured_queries]


def test_grid_says_where_reviewers_override_the_scorer(world):
    text = body(logged_in(world.editor).get(reverse("evalruns:grid", args=[world.eval_run.pk]),
                                             {"cases": str(world.cases[2].pk)}))
    assert text.count("Reviewers say correct: that overrides the scorer.") == 1  # B on case 3


def test_results_page_without_reviews_points_to_the_blind_queue(world):
    from playground.evalruns.models import Review

    Review.objects.all().delete()
    text = body(logged_in(world.editor).get(reverse("evalruns:results", args=[world.eval_run.pk])))
    assert "No reviews yet." in text and f'{reverse("evalruns:review_queue", args=[world.eval_run.pk])}?blind=1' in text
