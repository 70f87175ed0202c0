"""Leaderboard, agreement, confusion matrix, per-tag breakdown and comparison against numbers
worked out by hand on tests/evalruns/results_world.py."""

import time

import pytest

from playground.evalruns import results
from playground.scoring import stats
from tests.evalruns.results_world import make_world
from tests.factories import make_eval_answer, make_eval_case, make_eval_run, make_png, make_review

pytestmark = pytest.mark.django_db


@pytest.fixture
def world(db):
    return make_world()


def line(board, name):
    return next(ln for ln in board.lines if ln.column.model_name == name)


def test_leaderboard_numbers_match_the_hand_computed_ones(world):
    board = results.leaderboard(world.eval_run)

    a, b, c = line(board, "model-a"), line(board, "model-b"), line(board, "model-c")
    assert board.scorer == "label" and board.cases == 6
    # A: 4 right of 6 (its failed answer counts as wrong)
    assert (a.results, a.scored, a.correct, a.failed) == (6, 6, 4, 1)
    assert a.accuracy == stats.wilson(4, 6)
    assert a.accuracy_words == "67% (95% CI 30% to 90%, n = 6)"
    assert a.cost_total == pytest.approx(0.05)
    assert a.cost_per_correct == pytest.approx(0.0125)
    assert a.cost_per_case == pytest.approx(0.05 / 6)
    assert a.latency["p50"] == pytest.approx(0.3) and a.latency["p95"] == pytest.approx(0.48)
    assert (a.tokens_in, a.tokens_out) == (50, 10)
    # B: the reviewers' "correct" on case 3 overrides the scorer; the split on case 1 leaves the scorer's
    assert (b.correct, b.scored) == (6, 6) and b.accuracy.estimate == 1.0
    assert b.cost_per_correct == pytest.approx(0.02)
    assert (c.correct, c.scored) == (1, 6)
    assert a.reviewed == 2 and b.reviewed == 2 and c.reviewed == 0


def test_pareto_front_leaves_out_the_dominated_model(world):
    board = results.leaderboard(world.eval_run)

    assert [ln.on_front for ln in board.lines] == [True, True, False]
    svg = str(board.chart)
    assert svg.startswith("<svg") and svg.count("ev-on-front") == 2 and "<polyline" in svg
    assert "style=" not in svg and "<script" not in svg


def test_human_verdict_overrides_and_a_tie_does_not():
    rows = [{"id": 1, "status": "succeeded"}, {"id": 2, "status": "succeeded"}, {"id": 3, "status": "failed"}]
    human = results.human_verdicts([{"result_id": 1, "verdict": True}, {"result_id": 2, "verdict": True},
                                    {"result_id": 2, "verdict": False}, {"result_id": 3, "verdict": None}])
    assert human == {1: True, 2: None}
    assert results.outcome(rows[0], {"passed": False}, human, "pass_fail") is True
    assert results.outcome(rows[1], {"passed": False}, human, "pass_fail") is False
    assert results.outcome(rows[2], None, human, "pass_fail") is False
    assert results.outcome(rows[0], {"value": 0.25, "passed": None}, human, "error_rate") == 0.25


def test_agreement_between_reviewers_and_with_the_scorer(world):
    board = results.leaderboard(world.eval_run)

    reviewers, scorer = board.agreement
    assert reviewers["agreement"].kappa == pytest.approx(0.5)
    assert reviewers["words"] == "Cohen's κ = 0.50: moderate agreement. They agree on 75% of 4 results."
    assert scorer["agreement"].kappa == pytest.approx(0.4)
    assert "fair agreement" in scorer["words"]


def test_fleiss_kappa_for_three_reviewers():
    reviews = [{"result_id": r, "reviewer_id": u, "verdict": v}
               for r, votes in {1: (True, True, True), 2: (False, False, True), 3: (False, False, False)}.items()
               for u, v in zip((1, 2, 3), votes, strict=True)]
    agreement = results.reviewer_agreement(reviews)
    assert agreement.n_raters == 3
    assert agreement.kappa == pytest.approx(stats.fleiss_kappa([[True] * 3, [False, False, True], [False] * 3]).kappa)


def test_confusion_matrix_cells(world):
    matrix = results.confusion(world.eval_run)

    m = matrix.matrix
    assert matrix.column.model_name == "model-a"
    assert m.labels == ["red circle", "blue square", "green star"]
    assert m.count("red circle", "red circle") == 2
    assert m.count("blue square", "blue square") == 1
    assert m.cases[("blue square", "red circle")] == [world.cases[4].pk]
    assert m.count("green star", "green star") == 1  # case 6 failed: no label score, not in the matrix
    b = results.confusion(world.eval_run, results.column_key(world.models[1].pk, "as-is"))
    assert b.matrix.cases[("red circle", "green star")] == [world.cases[2].pk]


def test_tag_breakdown(world):
    rows = {r["tag"]: r for r in results.tag_breakdown(world.eval_run)}

    assert set(rows) == {"circle", "square", "star"}
    assert [c["text"] for c in rows["square"]["cells"]] == ["50%", "100%", "0%"]
    assert [c["text"] for c in rows["circle"]["cells"]] == ["100%", "100%", "50%"]
    assert rows["star"]["cases"] == 2


def test_compare_two_models_in_words(world):
    data = results.load(world.eval_run)
    a, b = (results.column_key(m.pk, "as-is") for m in world.models[:2])
    cmp = results.compare(data, a, data, b)

    assert (cmp.paired.only_a, cmp.paired.only_b, cmp.paired.both_right) == (0, 2, 4)
    assert cmp.paired.p_value == pytest.approx(0.5)
    assert cmp.words.startswith("model-b is right on 2 cases where model-a is wrong and wrong on 0 where model-a is right; p = 0.5.")
    assert cmp.improved == sorted([world.cases[4].pk, world.cases[5].pk]) and cmp.regressed == []


def test_compare_two_runs_of_the_same_set(world):
    other = make_eval_run(world.team, world.eval_set, world.eval_run.prompt_version, world.models[:1], name="Second",
                          scorers=[{"name": "label", "config": {}}])
    for case in world.cases:  # right on every case now
        make_eval_answer(other, case, world.models[0], "ok", scores={"label": (1.0, True)})
    key = results.column_key(world.models[0].pk, "as-is")
    cmp = results.compare(results.load(world.eval_run), key, results.load(other), key)

    assert cmp.a_title == "model-a in Shapes run" and cmp.b_title == "model-a in Second"
    assert cmp.paired.only_b == 2 and cmp.paired.only_a == 0


def test_wer_run_mean_with_bootstrap_and_paired_words(db):
    world = make_world()
    run = make_eval_run(world.team, world.eval_set, world.eval_run.prompt_version, world.models[:2],
                        scorers=[{"name": "wer", "config": {}}])
    a_rates, b_rates = [0.5, 0.25, 0.0, 0.5, 0.25, 0.5], [0.25, 0.0, 0.0, 0.25, 0.0, 0.25]
    for case, ra, rb in zip(world.cases, a_rates, b_rates, strict=True):
        make_eval_answer(run, case, world.models[0], "x", scores={"wer": (ra, None)})
        make_eval_answer(run, case, world.models[1], "y", scores={"wer": (rb, None)})
    board = results.leaderboard(run)
    a, b = board.lines
    assert board.kind == "error_rate"
    assert a.rate == stats.bootstrap_mean(a_rates) and a.rate.estimate == pytest.approx(2 / 6)
    assert b.rate.estimate == pytest.approx(0.75 / 6)
    data = results.load(run)
    cmp = results.compare(data, a.column.key, data, b.column.key)
    assert cmp.words.startswith("model-b's WER is 20.8 points lower")
    assert cmp.paired == stats.paired_bootstrap_diff(a_rates, b_rates)
    assert len(cmp.improved) == 5 and cmp.regressed == []


def test_alignment_view_is_escaped_and_coloured():
    html = str(results.alignment_html({"alignment": [
        {"type": "equal", "ref": ["the"], "hyp": ["the"]}, {"type": "substitute", "ref": ["cat"], "hyp": ["<b>"]},
        {"type": "insert", "ref": [], "hyp": ["big"]}, {"type": "delete", "ref": ["sat"], "hyp": []}]}))
    assert '<span class="al-equal">the</span>' in html
    assert "<del>cat</del> <ins>&lt;b&gt;</ins>" in html
    assert 'class="al-insert"' in html and 'class="al-delete"' in html and "<b>" not in html


def test_grid_filters(world):
    data = results.load(world.eval_run)
    pos = {c.pk: i for i, c in enumerate(world.cases)}

    def ids(which, **kw):
        return [pos[c] for c in results.filter_cases(data.case_ids, data.results, data.scores, data.reviews, data.kind,
                                                      which, {k: v["tags"] for k, v in data.cases.items()}, **kw)]

    assert ids("") == [0, 1, 2, 3, 4, 5]
    assert ids("failures") == [1, 2, 3, 4, 5]  # C is wrong on 2-6
    assert ids("disagree") == [1, 2, 3, 4, 5]
    assert ids("human") == [0, 2]  # B case 1: one reviewer says incorrect; B case 3: the reviewers say correct
    assert ids("", tag="star") == [3, 5]
    assert ids("unreviewed") == [0, 1, 2, 3, 4, 5]


def test_grid_page_has_every_column_and_the_scores(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(12):
        page = results.grid_page(world.eval_run, 1, {"filter": "failures"})

    assert page.count == 5 and page.pages == 1 and len(page.rows) == 5
    row = page.rows[3]  # case 5
    assert row.case.pk == world.cases[4].pk
    cell_a = row.cells[0]
    assert cell_a.results[0].output_text == "a red circle" and cell_a.outcome == [False]
    assert [s.scorer for s in cell_a.scores[cell_a.results[0].pk]] == ["label"]
    assert len(cell_a.reviews[cell_a.results[0].pk]) == 2


def test_leaderboard_query_count_does_not_grow_with_the_run(world, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        results.leaderboard(world.eval_run)
    case = make_eval_case(world.eval_set, make_png(world.team, "more.png"), expected="red circle")
    for model in world.models:
        r = make_eval_answer(world.eval_run, case, model, "a red circle", scores={"label": (1.0, True)})
        make_review(r, world.viewer, verdict=True)
    with django_assert_max_num_queries(6):
        board = results.leaderboard(world.eval_run)
    assert board.cases == 7


def test_leaderboard_of_1000_cases_5_models_2_reviewers_is_fast():
    """The pure part at bench size (loading is five queries; bench/evaluation.py times both)."""
    cols = [results.Column(f"m{i}.as-is", i, "as-is", f"model {i}", "As uploaded") for i in range(5)]
    rows, scores, reviews = [], {}, []
    for case in range(1000):
        for m in range(5):
            rid = case * 5 + m
            rows.append({"id": rid, "col": cols[m].key, "case_id": case, "sample": 0, "status": "succeeded",
                         "cost": 0.001, "latency_ms": 500 + case % 7, "in_tok": 100, "out_tok": 5, "reused": False})
            scores[rid] = {"value": 1.0, "passed": (case + m) % 4 != 0}
            for u in (1, 2):
                reviews.append({"result_id": rid, "reviewer_id": u, "verdict": (case + m + u) % 5 != 0, "rating": None})
    elapsed = float("inf")
    for _ in range(3):  # best of three (the first also imports statsmodels for the kappas)
        start = time.perf_counter()
        lines = results.aggregate(cols, rows, scores, reviews, "pass_fail")
        results.reviewer_agreement(reviews)
        results.scorer_human_agreement(scores, reviews)
        results.cost_chart(lines)
        elapsed = min(elapsed, time.perf_counter() - start)
    assert all(ln.scored == 1000 for ln in lines)
    assert elapsed < 0.3, f"{elapsed * 1000:.0f} ms"


def test_every_pass_fail_scorer_is_held_against_the_reviewers(world):
    from playground.evalruns.models import EvalScore

    run = world.eval_run
    run.scorers = [*run.scorers, {"name": "judge", "config": {}}, {"name": "wer", "config": {}}]
    run.save(update_fields=["scorers"])
    for r in (world.answers["B", 2], world.answers["A", 4], world.answers["A", 0]):  # the judge agrees with the humans
        EvalScore.objects.create(eval_run=run, result=r, case=r.run.eval_item.case, scorer="judge",
                                 passed=r.pk != world.answers["A", 4].pk)
    board = results.leaderboard(run)
    titles = [a["title"] for a in board.agreement]
    assert titles[0] == "Between reviewers" and len(titles) == 3  # no kappa for WER: it is no verdict
    judge = board.agreement[2]
    assert judge["agreement"].observed == 1.0 and "agree on 100% of 3 results" in judge["words"]


@pytest.mark.parametrize("value,text", [(0.0125, "$0.0125"), (0.000012, "$0.000012"), (1.2, "$1.20"), (0.05, "$0.05"),
                                        (0, "$0"), (None, ""), (1234.5, "$1,234.50"), (0.3333333, "$0.333")])
def test_money(value, text):
    assert results.money(value) == text


def test_ratings_agreement_is_shown_when_reviewers_rate(world):
    from playground.evalruns.models import Review

    Review.objects.filter(result=world.answers["A", 0]).update(rating=4)
    Review.objects.filter(result=world.answers["A", 4], reviewer=world.editor).update(rating=1)
    Review.objects.filter(result=world.answers["A", 4], reviewer=world.reviewer2).update(rating=2)
    board = results.leaderboard(world.eval_run)
    ratings = next(a for a in board.agreement if a["title"].startswith("Reviewers' ratings"))
    assert ratings["agreement"].n_items == 2 and ratings["agreement"].observed == 0.5
    assert ratings["agreement"].kappa == pytest.approx(stats.cohens_kappa([4, 1], [4, 2]).kappa)
