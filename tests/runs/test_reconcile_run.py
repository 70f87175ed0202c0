"""Estimates against the bill, end to end: a run on the fake provider, whose reported input tokens
the test sets per modality (its ``text=N,image=N`` params), shows each result's estimate against
the report on the run page, and the history shows each model's mean error, flagged past 25%.

The estimates are worked out by hand for one prompt: system "Be brief." and a user message of
"Describe the photo." and a 64×48 PNG (docs/protocols.md §6):

- Anthropic and Gemini text, ~4 characters per token, per part: ⌈9/4⌉ + ⌈19/4⌉ = 3 + 5 = 8.
- OpenAI text, o200k: "Be| brief|." 3 + "Describe| the| photo|." 4, plus framing 3 × 2 turns + 3 = 16.
- Image: OpenAI 1 tile, 170 + 85 = 255; Anthropic ⌈64/28⌉ × ⌈48/28⌉ = 3 × 2 = 6; Gemini 2.x, within
  384 px: 258.
"""

import re

import pytest
from django.urls import reverse

from playground.runs import sending, services
from playground.runs.models import Result, Run
from tests.factories import doc_with, make_png, make_version, model_for

pytestmark = pytest.mark.django_db

ESTIMATES = {  # protocol: (total, text, image), by hand above
    "chat": (271, 16, 255),
    "messages": (14, 8, 6),
    "gemini": (266, 8, 258),
}


@pytest.fixture
def photo_version(team, user):
    png = make_png(team)  # 64×48
    return make_version(team, doc_with({"text": "Describe the photo."}, {"media": {"item": png.pk}}), user)


@pytest.fixture
def three_models(team, provider_server):
    return {p: model_for(team, provider_server, p) for p in ("chat", "messages", "gemini")}


def run_with(version, models, user, team, server, reported: dict) -> Run:
    """A run of ``version`` on ``models`` where the fake reports ``reported[protocol]`` (a spec)."""
    run = services.start_run(version=version, values={}, provider_models=list(models.values()), user=user, team=team)
    for protocol, spec in reported.items():
        server.script([spec], model=models[protocol].name)
    for r in run.results.filter(status=Result.Status.QUEUED):
        sending.execute(r.pk)
    return run


def _card(html: str, pk: int) -> str:
    start = html.index(f'id="result-{pk}"')
    return html[start: html.index("</article>", start)]


def _text(fragment: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", fragment)).strip()


def test_each_result_stores_the_estimate_the_preflight_made(photo_version, three_models, user, team, provider_server):
    run = run_with(photo_version, three_models, user, team, provider_server, {})

    for r in run.results.all():
        total, text, image = ESTIMATES[r.protocol]
        assert r.status == Result.Status.SUCCEEDED, r.error_message
        assert (r.estimate["total"], r.estimate["text"], r.estimate["image"], r.estimate["audio"]) == (total, text, image, 0)
        assert r.estimate["unknown"] == []


def test_the_run_page_shows_each_estimate_against_the_reported_usage_per_modality(
        client_logged_in, photo_version, three_models, user, team, provider_server):
    run = run_with(photo_version, three_models, user, team, provider_server, {
        "chat": "ok:text=16,image=300",      # 316 against 271: +45, 16.6%; image 45 / 255 = 17.6%
        "messages": "ok:text=10,image=11",   # 21 against 14: +50.0%; Anthropic gives no breakdown
        "gemini": "ok:text=12,image=258",    # 270 against 266: 4 / 266 = 1.5%; text 4 / 8 = 50.0%
    })  # fmt: skip
    by = {r.protocol: r for r in run.results.all()}

    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()

    chat = _text(_card(html, by["chat"].pk))
    assert "Estimated 271 input tokens · reported 316 (+16.6%)" in chat
    assert "Text: estimated 16 · reported 16 (exact)" in chat
    assert "Images: estimated 255 · reported 300 (+17.6%)" in chat
    assert "estimate off by more than 25%" not in chat

    claude = _text(_card(html, by["messages"].pk))
    assert "Estimated 14 input tokens · reported 21 (+50.0%) estimate off by more than 25%" in claude
    assert "Text: estimated 8 · not reported" in claude and "Images: estimated 6 · not reported" in claude
    assert "reported 0" not in claude  # unknown is never shown as 0

    gemini = _text(_card(html, by["gemini"].pk))
    assert "Estimated 266 input tokens · reported 270 (+1.5%)" in gemini
    assert "Text: estimated 8 · reported 12 (+50.0%)" in gemini
    assert "Images: estimated 258 · reported 258 (exact)" in gemini
    assert "Audio" not in gemini  # none sent, none counted


def test_a_result_without_reported_usage_says_so_and_a_refused_one_shows_no_comparison(
        client_logged_in, photo_version, three_models, user, team, provider_server):
    run = run_with(photo_version, three_models, user, team, provider_server, {})
    by = {r.protocol: r for r in run.results.all()}
    Result.objects.filter(pk=by["chat"].pk).update(input_tokens=None, usage={})  # an answer without usage
    Result.objects.filter(pk=by["gemini"].pk).update(status=Result.Status.REFUSED)
    Result.objects.filter(pk=by["messages"].pk).update(estimate={})  # stored before estimates were kept

    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert "Estimated 271 input tokens · not reported by the provider" in _text(_card(html, by["chat"].pk))
    assert f'id="estimate-{by["gemini"].pk}"' not in html
    assert f'id="estimate-{by["messages"].pk}"' not in html


def _summary_row(html: str, model: str) -> str:
    table = html[html.index('id="model-summary"'): html.index("</table>", html.index('id="model-summary"'))]
    row = next(r for r in table.split("<tr>") if model in r)
    return _text(row)


def test_the_history_shows_each_models_estimate_error_and_flags_the_unreliable(
        client_logged_in, photo_version, three_models, user, team, provider_server):
    run_with(photo_version, three_models, user, team, provider_server, {
        "messages": "ok:text=10,image=11",   # 21 against 14: +50%
        "gemini": "ok:text=12,image=258",    # 270 against 266: +1.5038%
        "chat": "ok:text=16,image=255",      # 271: exact
    })  # fmt: skip
    run_with(photo_version, three_models, user, team, provider_server, {
        "messages": "ok:text=4,image=3",     # 7 against 14: -50%
        "gemini": "ok:text=8,image=250",     # 258 against 266: -3.0075%
        "chat": "ok:text=16,image=255",
    })  # fmt: skip
    third = run_with(photo_version, three_models, user, team, provider_server, {})
    Result.objects.filter(run=third).update(estimate={})  # results with no estimate do not count

    html = client_logged_in.get(reverse("runs:history", args=[photo_version.prompt.pk])).content.decode()

    claude = _summary_row(html, "claude-sonnet-4-5")
    assert "±50.0% mean +0.0% over 2 results preview cost unreliable" in claude  # (50 + 50) / 2; (50 - 50) / 2
    gemini = _summary_row(html, "gemini-2.5-flash")
    assert "±2.3% mean -0.8% over 2 results" in gemini  # (1.5038 + 3.0075) / 2 = 2.2556; (1.5038 - 3.0075) / 2
    assert "unreliable" not in gemini
    chat = _summary_row(html, "gpt-4o")
    assert "±0.0% mean +0.0% over 2 results" in chat and "unreliable" not in chat


def test_the_preview_warns_when_a_models_past_estimates_were_off(client_logged_in, photo_version, three_models, user,
                                                                 team, provider_server):
    data = {"version": photo_version.number, "models": [m.pk for m in three_models.values()]}
    url = reverse("runs:preflight", args=[photo_version.prompt.pk])
    before = client_logged_in.post(url, data).content.decode()
    assert "past runs" not in before  # no run yet: nothing to say

    run_with(photo_version, three_models, user, team, provider_server, {
        "messages": "ok:text=20,image=15",   # 35 against 14: +150%
        "gemini": "ok:text=8,image=258",     # 266: exact
        "chat": "ok:text=16,image=255",      # 271: exact
    })  # fmt: skip
    html = client_logged_in.post(url, data).content.decode()

    def column(protocol):
        start = html.index(f'id="pf-{three_models[protocol].pk}"')
        return _text(html[start: html.index("</article>", start)])

    assert "past runs: ±150.0% (mean +150.0%, 1 result) estimate unreliable for this model" in column("messages")
    assert "past runs: ±0.0% (mean +0.0%, 1 result)" in column("gemini")
    assert "unreliable" not in column("gemini") and "unreliable" not in column("chat")
