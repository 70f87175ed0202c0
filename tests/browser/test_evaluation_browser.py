"""Reading an evaluation's results and reviewing them in a real browser.

test_results_review_and_compare: an evaluation made row by row (tests/evalruns/results_world.py:
six shape cases, three models, hand-checked numbers), read as a person would: the leaderboard
and its chart, a confusion-matrix cell that opens the grid on its case, a blind review from the
keyboard (c marks correct and reveals the model, n goes on), the leaderboard taking the verdict
in, and a comparison in plain words.
"""

import os
import re

import pytest
from playwright.sync_api import expect

from playground.evalruns import results
from tests.browser.conftest import log_in

pytestmark = [pytest.mark.browser]

REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => window.__cspViolation(
  `${e.violatedDirective} blocked ${e.blockedURI || "inline"} at ${e.sourceFile || location.pathname}:${e.lineNumber}`));
"""


def test_results_review_and_compare(page, transactional_db):
    from playground.evalruns.models import Review
    from tests.evalruns.results_world import make_world

    world = make_world()
    violations = []  # the strict CSP: the chart (SVG), the keys (static JS) and htmx must break nothing
    page.context.expose_binding("__cspViolation", lambda source, text: violations.append(text))
    page.context.add_init_script(REPORT_VIOLATIONS)
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
    if os.environ.get("PRISM_EVAL_SCREENSHOTS"):  # for a look at the pages: a folder to write them to
        page.screenshot(path=f"{os.environ['PRISM_EVAL_SCREENSHOTS']}/results.png", full_page=True)

    # The confusion matrix: model A named "red circle" for a blue square; its cell opens that case.
    matrix = page.locator("#confusion table")
    off = matrix.locator("td.ev-off a")
    expect(off).to_have_count(1)
    expect(off).to_have_text("1")
    off.click()
    page.wait_for_url(re.compile(r"/grid/\?cases="))
    expect(page.locator("#grid-count")).to_have_text("1 case")
    expect(page.locator(f"#case-{world.cases[4].pk}")).to_contain_text("a red circle")
    if os.environ.get("PRISM_EVAL_SCREENSHOTS"):
        page.goto(f"/evaluations/{run.pk}/grid/")
        page.screenshot(path=f"{os.environ['PRISM_EVAL_SCREENSHOTS']}/grid.png", full_page=True)
        page.go_back()
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
    if os.environ.get("PRISM_EVAL_SCREENSHOTS"):
        page.screenshot(path=f"{os.environ['PRISM_EVAL_SCREENSHOTS']}/review.png", full_page=True)
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
    assert not violations, violations


def test_import_run_review_and_read_an_evaluation(page, editor, provider_server, celery_eager, tmp_path):
    """The issue's browser test from the start: import a ZIP of generated shapes, start an evaluation
    over three fake recognisers (wrong 10%, 30% and 50% of the time) and two media settings, wait
    for it, review a few answers blind, read the leaderboard, the confusion matrix and a comparison.
    Tasks run eagerly in the live server (no worker to start): the ZIP import, the preparation, the
    sending to the fake provider on loopback and the scoring all happen before the pages answer."""
    from playground.evalruns.models import EvalRun, Review
    from tests import eval_data
    from tests.factories import doc_with, make_eval_set, make_model, make_prompt, make_provider

    team = editor.memberships.get().team
    labels = [{"label": lbl, "synonyms": []} for lbl in eval_data.shape_labels()]
    eval_set = make_eval_set(team, "Shapes", user=editor, expected_kind="label", labels=labels)
    provider = make_provider(team, provider_server, "chat", name="Fake see")
    for err in ("0.1", "0.3", "0.5"):
        make_model(provider, f"fake-see-err={err}")
    doc = doc_with({"text": "Name the colour and shape."}, {"media_variable": "image", "kind": "image"},
                   name="Name the shape")
    prompt = make_prompt(team, user=editor, doc=doc)
    zip_path = eval_data.write_zip(eval_data.make_shapes(tmp_path / "shapes", n=12), tmp_path / "shapes.zip")
    log_in(page, editor)

    # Import the ZIP on the set's page.
    page.goto(f"/evals/{eval_set.pk}/")
    page.set_input_files("#import-file", str(zip_path))
    page.locator("form", has=page.locator("#import-file")).locator("button[type=submit]").click()
    expect(page.locator(".import-status")).to_contain_text("done: 12 cases added", timeout=60_000)

    # A new evaluation: three models, two arms; check the cost, then start.
    version = prompt.versions.get()
    page.goto(f"/evaluations/new/?set={eval_set.pk}&version={version.pk}")
    for box in page.locator("input[name=models]").all():
        box.check()
    page.locator("input[name=arms][value=as-is]").check()
    page.locator("input[name=arms][value=jpeg-q50]").check()
    page.fill("#id_name", "Shapes, three recognisers")
    page.click("button[value=preflight]")
    expect(page.locator(".preflight-requests")).to_have_text("72")
    page.click("button[value=start]")
    expect(page.locator(".eval-status")).to_have_text("Done", timeout=120_000)
    run = EvalRun.objects.get(team=team)
    board = results.leaderboard(run)
    acc = {ln.column.title: ln.accuracy.estimate for ln in board.lines}
    # The recognisers' wrong answers are drawn from the model name and the bytes: the same every run.
    assert acc["fake-see-err=0.1 · As uploaded"] > acc["fake-see-err=0.5 · As uploaded"]

    # The leaderboard: six lines (3 models × 2 arms), each with 12 answers scored.
    page.goto(f"/evaluations/{run.pk}/results/")
    rows = page.locator("#leaderboard tr[data-column]")
    expect(rows).to_have_count(6)
    for i in range(6):
        expect(rows.nth(i)).to_contain_text("of 12")
    expect(page.locator("#leaderboard svg.ev-chart")).to_be_visible()
    first = page.locator("#leaderboard tr[data-column]").first
    expect(first).to_contain_text("fake-see-err=0.1")
    expect(first.locator(".ev-acc-value")).to_contain_text("95% CI")

    # The confusion matrix: its diagonal holds the right answers; a cell opens the grid on its cases.
    matrix = page.locator("#confusion table")
    expect(matrix).to_be_visible()
    assert matrix.locator("td.ev-diag a").count() >= 1
    matrix.locator("td.ev-diag a").first.click()
    page.wait_for_url(re.compile(r"/grid/\?cases="))
    expect(page.locator("table.ev-grid tbody tr").first).to_be_visible()

    # Three answers reviewed blind, from the keyboard.
    page.goto(f"/evaluations/{run.pk}/review/?blind=1")
    for key in ("c", "x", "c"):
        expect(page.locator("#review-model")).to_have_text("Model hidden")
        page.keyboard.press(key)
        expect(page.locator("#review-model")).to_have_text(re.compile(r"fake-see-err="))
        page.keyboard.press("n")
    assert Review.objects.filter(reviewer=editor, blind=True).count() == 3
    page.goto(f"/evaluations/{run.pk}/results/")
    expect(page.locator("#leaderboard")).to_contain_text("Reviewed")

    # A comparison: the most and the least accurate model, as-is, in words with a p-value.
    page.goto(f"/evaluations/{run.pk}/compare/")
    options = page.locator("#cmp-a option")
    values = [options.nth(i).get_attribute("value") for i in range(options.count())]
    page.select_option("#cmp-a", values[0])
    page.select_option("#cmp-b", values[4])  # 0.5's first arm (models in order, arms within)
    page.click("form.card button[type=submit]")
    words = page.locator("#comparison .ev-words")
    expect(words).to_contain_text("p = ")
    expect(words).to_contain_text("fake-see-err=0.1")
