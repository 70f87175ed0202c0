"""Reading an evaluation's results and reviewing them in a real browser.

test_results_review_and_compare: an evaluation made row by row (tests/evalruns/results_world.py:
six shape cases, three models, hand-checked numbers), read as a person would: the leaderboard
and its chart, a confusion-matrix cell that opens the grid on its case, a blind review from the
keyboard (c marks correct and reveals the model, n goes on), the leaderboard taking the verdict
in, and a comparison in plain words.
"""

import re

import pytest
from playwright.sync_api import expect

from playground.evalruns import results
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser]


def test_results_review_and_compare(page, transactional_db):
    from playground.evalruns.models import Review
    from tests.evalruns.results_world import make_world

    world = make_world()
    log_in(page, world.viewer)
    run = world.eval_run

    # The leaderboard: accuracy with its interval, cost per correct, the chart with its front.
    page.goto(f"/evaluations/{run.pk}/results/")
    board = page.locator("#leaderboard")
    row_a = board.locator("tr[data-column]").nth(0)
    expect(row_a).to_contain_text("model-a")
    expect(row_a).to_contain_text("67% (95% CI 30% to 90%, n = 6)")
    expect(row_a).to_contain_text("$0.0125")
    expect(board.locator("tr[data-column]").nth(1)).to_contain_text("100% (95% CI 61% to 100%, n = 6)")
    expect(board.locator("svg.ev-chart .ev-on-front")).to_have_count(2)
    expect(page.locator("#agreement")).to_contain_text("moderate agreement")

    # The confusion matrix: model A named "red circle" for a blue square; its cell opens that case.
    matrix = page.locator("#confusion table")
    off = matrix.locator("td.ev-off a")
    expect(off).to_have_count(1)
    expect(off).to_have_text("1")
    off.click()
    page.wait_for_url(re.compile(r"/grid/\?cases="))
    expect(page.locator("#grid-count")).to_have_text("1 case")
    expect(page.locator(f"#case-{world.cases[4].pk}")).to_contain_text("a red circle")
    answer = page.locator(f"#answer-{world.answers['A', 4].pk}")
    answer.get_by_role("button", name=re.compile("incorrect$")).click()  # htmx: saved in place
    expect(answer.locator(".ev-saved")).to_have_text("Saved: incorrect.")
    assert Review.objects.get(reviewer=world.viewer, result=world.answers["A", 4]).verdict is False

    # Blind review from the keyboard: the model is hidden until the verdict.
    page.goto(f"/evaluations/{run.pk}/review/?blind=1")
    expect(page.locator("#review-model")).to_have_text("Model hidden")
    for name in ("model-a", "model-b", "model-c"):
        expect(page.locator("#review")).not_to_contain_text(name)
    action = page.locator("#review-form").get_attribute("action")
    first = int(re.search(r"/results/(\d+)/review/", action).group(1))
    page.keyboard.press("c")
    expect(page.locator("#review-saved")).to_contain_text("correct")
    expect(page.locator("#review-model")).not_to_have_text("Model hidden")
    expect(page.locator("#review-model")).to_have_text(re.compile(r"model-[abc]"))
    page.keyboard.press("n")
    expect(page.locator("#review-model")).to_have_text("Model hidden")
    page.keyboard.press("x")
    expect(page.locator("#review-saved")).to_contain_text("incorrect")
    page.keyboard.press("k")  # back to the first: still reviewed, name shown
    expect(page.locator("#review-form")).to_have_attribute("action", action)
    expect(page.locator("#review-model")).to_have_text(re.compile(r"model-[abc]"))
    assert Review.objects.filter(reviewer=world.viewer).count() == 3
    assert Review.objects.get(reviewer=world.viewer, result_id=first).verdict is True
    assert Review.objects.get(reviewer=world.viewer, result_id=first).blind is True

    # A comparison of two models in plain words, with links to the improved cases.
    page.goto(f"/evaluations/{run.pk}/compare/")
    a = f"{run.pk}:{results.column_key(world.models[0].pk, 'as-is')}"
    c = f"{run.pk}:{results.column_key(world.models[2].pk, 'as-is')}"
    page.select_option("#cmp-a", a)
    page.select_option("#cmp-b", c)
    page.click("#comparison-form button, form.card button[type=submit]")
    expect(page.locator("#comparison .ev-words")).to_contain_text("where model-a is wrong")
    expect(page.locator("#comparison .ev-words")).to_contain_text("p = ")
    page.locator("#comparison a", has_text="Show them in the grid").first.click()
    page.wait_for_url(re.compile(r"/grid/\?cases="))
    expect(page.locator("table.ev-grid")).to_be_visible()
