"""A run as a person does it, in a real browser, with a real runs worker and a fake provider.

The issue's "done means": pick three models, run, watch the progress, see the three results side
by side with tokens and cost. Here: a provider per protocol on the fake provider (loopback),
configured directly in the database; a saved prompt with an image; from the editor's Run button
to the new-run page; three models picked (their names make the fake provider answer after 0.5,
2 and 4 s, so the progress bar visibly advances); preflight shows each one's exact body, tokens
and cost; Run; the bar moves; three cards side by side, each with tokens in/out and cost, the
cheapest and the fastest marked; a word diff and the exact request one click away.

About 10 s: a worker process starts (~2 s) and the slowest model takes 4 s on purpose. Set
PRISM_UPDATE_SCREENSHOTS=1 to also write docs/screenshot-run.png (1400×900).
"""

import os
import re
import time
from decimal import Decimal
from pathlib import Path

import pytest
from playwright.sync_api import expect

from playground.lib import demo_media
from tests.browser.conftest import log_in
from tests.provider_server import ProviderServer

pytestmark = [pytest.mark.browser, pytest.mark.worker]

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def runs_worker(transactional_db, tmp_path):
    """A real `celery worker -Q runs --pool threads`, as bin/run starts it (see tests/conftest.py)."""
    from tests.conftest import RunsWorker, eager_off

    worker = RunsWorker(tmp_path, lease_s=10)
    with eager_off():
        try:
            yield worker.start()
        finally:
            worker.stop()


def _configure(team, server: ProviderServer):
    """A provider per protocol on the fake server; the three models the test picks."""
    from tests.factories import make_model, make_provider

    def provider(protocol, name, **kw):
        return make_provider(team, server, protocol, name=name, key=server.api_key, **kw)

    def model(p, name, label, price_in, price_out):
        return make_model(p, name, label=label, prices=False, price_input_per_mtok=Decimal(price_in),
                          price_output_per_mtok=Decimal(price_out))

    openai = provider("chat", "OpenAI (fake)")
    responses = provider("responses", "OpenAI Responses (fake)")
    anthropic = provider("messages", "Anthropic (fake)", api_version="2023-06-01")
    google = provider("gemini", "Google (fake)")
    model(responses, "gpt-4.1", "GPT-4.1", "2.00", "8.00")  # offered, not picked
    return {
        "fast": model(openai, "fake-slow=500", "GPT-4o (answers in 0.5 s)", "2.50", "10.00"),
        "cheap": model(google, "fake-slow=2000", "Gemini Flash (2 s)", "0.10", "0.40"),
        "slow": model(anthropic, "fake-slow=4000", "Claude Sonnet (4 s)", "3.00", "15.00"),
    }


def _saved_prompt(team, user):
    from playground.prompts.document import normalize
    from tests.factories import make_item, make_prompt

    image = make_item(team, demo_media.shapes_jpeg(), name="three-shapes.jpg", user=user)
    doc = normalize({
        "name": "Shapes", "system": "You are a careful visual analyst.",
        "messages": [{"role": "user", "parts": [{"text": "Describe {{subject}} in this picture."},
                                                {"media": {"item": image.pk}, "detail": "low"}]}],
        "variables": {"subject": "the red circle"}, "options": {"max_tokens": 200},
    })
    return make_prompt(team, user=user, doc=doc, media_items=[image])


def test_pick_three_models_run_watch_the_progress_and_compare_the_results(page, editor, provider_server, runs_worker, tmp_path):
    from playground.runs.models import Result, Run

    team = editor.memberships.get().team
    models = _configure(team, provider_server)
    prompt = _saved_prompt(team, editor)
    page.set_viewport_size({"width": 1400, "height": 900})
    log_in(page, editor)

    # From the editor's Run button to the new-run page, values prefilled from v1.
    page.goto(f"/prompts/{prompt.pk}/")
    page.click("#run-prompt")
    page.wait_for_url(f"**/runs/prompt/{prompt.pk}/new/?version=1")
    expect(page.locator("#id_var-subject")).to_have_value("the red circle")
    expect(page.locator(".model-group")).to_have_count(4)

    # Three models across three providers; preflight shows each one's exact body, tokens, cost.
    for key in ("fast", "cheap", "slow"):
        page.check(f"#model-{models[key].pk}")
    page.fill("#id_var-subject", "the blue square")
    page.click("#preflight-button")
    cards = page.locator(".pf-card")
    expect(cards).to_have_count(3)
    for key in ("fast", "cheap", "slow"):
        card = page.locator(f"#pf-{models[key].pk}")
        # The model's name is in the body (Gemini: in the URL, quoted).
        if key == "cheap":
            expect(card.locator(".req-line")).to_contain_text("/models/fake-slow%3D2000:generateContent")
        else:
            expect(card.locator("pre.json")).to_contain_text(f'"model": "{models[key].name}"')
        expect(card.locator("pre.json")).to_contain_text("Describe the blue square in this picture.")
        expect(card.locator("pre.json")).to_contain_text("<base64 JPEG")
        expect(card.locator(".token-total")).not_to_have_text("0")
        expect(card.locator(".pf-cost")).to_contain_text("≈ $")
        expect(card.locator(".badge")).to_have_text("ready")
    _shot(page, tmp_path, "screenshot-preflight.png", docs=False)

    # Run: the run page opens and the bar advances as the answers arrive.
    page.click("#run-button")
    page.wait_for_url("**/runs/*/")
    run = Run.objects.get()
    assert run.values == {"subject": "the blue square"}
    expect(page.locator(".rcard")).to_have_count(3)
    seen = _watch_progress(page, timeout_s=30)
    assert seen[-1] == 3, seen
    assert any(0 < v < 3 for v in seen), f"the bar never showed a partial state: {seen}"
    assert seen == sorted(seen), f"the bar went backwards: {seen}"
    expect(page.locator("#run-status")).to_have_text("Done")
    expect(page.locator(".progress-text")).to_contain_text("3 of 3")
    expect(page.locator(".progress-text")).to_contain_text("3 succeeded")

    # Three result cards side by side, each with tokens and cost.
    results = {r.provider_model_id: r for r in Result.objects.filter(run=run)}
    boxes = []
    for key in ("fast", "cheap", "slow"):
        r = results[models[key].pk]
        assert r.status == Result.Status.SUCCEEDED, (r.error_kind, r.error_message)
        card = page.locator(f"#result-{r.pk}")
        expect(card.locator(".status-chip")).to_have_text("Succeeded")
        expect(card.locator(".tok-in")).to_have_text(str(r.input_tokens))
        expect(card.locator(".tok-out")).to_have_text(str(r.output_tokens))
        expect(card.locator(".cost")).to_contain_text("$")
        expect(card.locator(".latency")).to_contain_text("ms")
        expect(card.locator(".routput")).to_contain_text("[fake] images=1")
        boxes.append(card.bounding_box())
    assert len({round(b["y"]) for b in boxes}) == 1, f"the cards are not side by side: {boxes}"
    boxes.sort(key=lambda b: b["x"])
    assert boxes[0]["x"] + boxes[0]["width"] <= boxes[1]["x"] and boxes[1]["x"] + boxes[1]["width"] <= boxes[2]["x"]
    assert boxes[2]["x"] + boxes[2]["width"] <= 1400, "three cards fit the window at 1400 px"

    # The cheapest (Gemini's prices) and the fastest (0.5 s) are marked, once each.
    expect(page.locator(".mark-cheapest")).to_have_count(1)
    expect(page.locator(".mark-fastest")).to_have_count(1)
    expect(page.locator(f"#result-{results[models['cheap'].pk].pk} .mark-cheapest")).to_be_visible()
    expect(page.locator(f"#result-{results[models['fast'].pk].pk} .mark-fastest")).to_be_visible()
    assert min(results.values(), key=lambda r: r.cost_usd).provider_model_id == models["cheap"].pk
    assert min(results.values(), key=lambda r: r.latency_total_ms).provider_model_id == models["fast"].pk

    # A word diff of two outputs, and the exact request one click away.
    page.select_option("#diff-a", str(results[models["fast"].pk].pk))
    page.select_option("#diff-b", str(results[models["slow"].pk].pk))
    page.click("#diff-section button[type=submit]")
    expect(page.locator(".wdiff")).to_be_visible()
    expect(page.locator(".diff-legend")).to_contain_text("fake-slow=500")
    slow_card = page.locator(f"#result-{results[models['slow'].pk].pk}")
    slow_card.locator(".rreq summary").click()
    expect(slow_card.locator(".rrequest pre.json")).to_contain_text('"model": "fake-slow=4000"')
    expect(slow_card.locator(".rrequest")).to_contain_text("x-api-key")
    assert provider_server.api_key not in slow_card.inner_text()
    slow_card.locator(".rreq summary").click()  # closed again for the picture
    page.evaluate("window.scrollTo(0, 0)")
    _shot(page, tmp_path, "screenshot-run.png", docs=True)

    # The prompt's run history: the run, a table per model and the charts (uPlot, from static/).
    page.click("text=← Runs of Shapes")
    page.wait_for_url(f"**/runs/prompt/{prompt.pk}/")
    expect(page.locator(f"#run-row-{run.pk}")).to_be_visible()
    expect(page.locator("#model-summary tbody tr")).to_have_count(3)
    expect(page.locator(".chart canvas")).to_have_count(3)
    page.select_option("#id_model", "Google (fake) / fake-slow=2000")
    expect(page.locator("#model-summary tbody tr")).to_have_count(1)
    expect(page.locator("#export-csv")).to_have_attribute("href", re.compile(r"export\.csv\?model=Google"))
    expect(page.locator(".chart canvas")).to_have_count(3)
    _shot(page, tmp_path, "screenshot-history.png", docs=False)


def _watch_progress(page, *, timeout_s: float) -> list[int]:
    """The progress bar's value each time it changes, until it is full."""
    seen: list[int] = []
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        bar = page.locator("#run-progress-bar")
        value = int(bar.get_attribute("value") or 0)
        if not seen or seen[-1] != value:
            seen.append(value)
        if value >= int(bar.get_attribute("max") or 0) and page.locator("#run-progress.done").count():
            return seen
        page.wait_for_timeout(100)
    pytest.fail(f"the run did not finish within {timeout_s} s; the bar showed {seen}")


def _shot(page, tmp_path: Path, name: str, *, docs: bool) -> None:
    page.mouse.move(1, 1)
    targets = [tmp_path / name]
    if docs and os.environ.get("PRISM_UPDATE_SCREENSHOTS"):
        targets.append(ROOT / "docs" / name)
    for target in targets:
        page.screenshot(path=str(target))
