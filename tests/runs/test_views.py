"""The run screens: a new run (form, preflight, start), the run page (cards, progress polling,
marks, request and response, diff), cancel / re-run / re-send, history and permissions.

Results are sent in this process with sending.execute against the fake provider (no worker:
tests/browser/test_runs_browser.py has the real one), or written directly when a test needs a
particular answer."""

import json
import re
from decimal import Decimal

import pytest
from django.urls import reverse

from playground.runs import sending, services
from playground.runs.models import Result, Run
from tests import media_samples as samples
from tests.conftest import HX
from tests.factories import doc_with, make_item, make_model, make_png, make_provider, make_version, model_for
from tests.provider_server import DEFAULT_KEY


@pytest.fixture(autouse=True)
def short_lease(settings):
    settings.PRISM_RESULT_LEASE_S = 3


@pytest.fixture
def prompt(text_version):
    return text_version.prompt


@pytest.fixture
def models(team, provider_server):
    """Three models on two providers."""
    chat = make_provider(team, provider_server, "chat", name="Fake OpenAI")
    claude = make_provider(team, provider_server, "messages", name="Fake Anthropic")
    return [make_model(chat, "gpt-4o"), make_model(chat, "gpt-4o-mini", price_input_per_mtok=Decimal("0.15"),
                                                        price_output_per_mtok=Decimal("0.60")),
            make_model(claude, "claude-sonnet-4-5")]


def start(version, models, user, team, values=None) -> Run:
    return services.start_run(version=version, values=values or {"subject": "a cat"}, provider_models=models,
                              user=user, team=team)


def finish(run) -> list[Result]:
    for r in run.results.filter(status=Result.Status.QUEUED):
        sending.execute(r.pk)
    return list(run.results.order_by("position"))


def form_data(version, models, **values):
    data = {"version": version.number, "models": [m.pk for m in models]}
    data.update({f"var-{k}": v for k, v in values.items()})
    return data


# --- a new run -------------------------------------------------------------------------------------


def test_the_new_run_page_prefills_the_version_values_and_lists_models_by_provider(client_logged_in, prompt, models):
    response = client_logged_in.get(reverse("runs:new", args=[prompt.pk]))

    html = response.content.decode()
    assert response.status_code == 200
    assert 'value="1" selected' in html
    assert re.search(r'<textarea name="var-subject"[^>]*>\s*a cat</textarea>', html)
    assert html.index("Fake Anthropic") < html.index("Fake OpenAI")  # providers in name order
    for m in models:
        assert f'name="models" value="{m.pk}"' in html
    assert 'id="run-button"' in html


def test_the_new_run_page_says_where_to_configure_models_when_there_are_none(client_logged_in, prompt):
    html = client_logged_in.get(reverse("runs:new", args=[prompt.pk])).content.decode()

    assert "No models are configured for this team yet." in html
    assert f'href="{reverse("catalog:list")}"' in html


def test_choosing_another_version_redraws_the_form_with_its_variables(client_logged_in, prompt, user, models):
    prompt.save_version(doc_with({"text": "Name {{colour}} things."}, variables={"colour": "red"}), user=user)

    response = client_logged_in.get(reverse("runs:new", args=[prompt.pk]), {"version": 2, "models": [models[0].pk]},
                                    headers={**HX, "HX-Target": "run-form"})

    html = response.content.decode()
    assert "<html" not in html and html.lstrip().startswith('<form id="run-form"')
    assert 'name="var-colour"' in html and 'name="var-subject"' not in html
    assert f'value="{models[0].pk}" id="model-{models[0].pk}" checked' in html


def test_preflight_shows_each_models_exact_body_tokens_and_cost(client_logged_in, prompt, models):
    response = client_logged_in.post(reverse("runs:preflight", args=[prompt.pk]),
                                     form_data(prompt.latest_version(), models, subject="a <b>dog</b>"), headers=HX)

    html = response.content.decode()
    assert response.status_code == 200 and "<html" not in html
    assert html.count('class="pcol pf-card') == 3
    for m in models:
        assert f'<span class="j-s">"{m.name}"</span>' in html  # the model's name in its body
    assert "Describe a &lt;b&gt;dog&lt;/b&gt; in one line." in html  # the value, escaped
    assert "input tokens" in html and "≈ $" in html
    assert "will not be sent" not in html
    assert DEFAULT_KEY not in html


def test_preflight_says_in_red_what_will_not_be_sent(client_logged_in, team, user, provider_server):
    png = make_png(team)
    version = make_version(team, doc_with({"text": "What is this?"}, {"media": {"item": png.pk}}), user)
    text_only = model_for(team, provider_server, "chat", "text-only", inputs=[])
    no_key = model_for(team, provider_server, "messages", provider_kw={"name": "Keyless", "key": ""})

    html = client_logged_in.post(reverse("runs:preflight", args=[version.prompt.pk]),
                                 form_data(version, [text_only, no_key]), headers=HX).content.decode()

    assert html.count("will not be sent") == 2
    assert re.search(r'remark-error" role="alert"><span class="remark-msg">[^<]*image', html)
    assert "No API key for Keyless" in html


def test_preflight_without_a_model_says_so(client_logged_in, prompt, models):
    html = client_logged_in.post(reverse("runs:preflight", args=[prompt.pk]), {"version": 1}, headers=HX).content.decode()

    assert "Pick at least one model." in html


def test_preflight_and_start_refuse_get(client_logged_in, prompt):
    assert client_logged_in.get(reverse("runs:preflight", args=[prompt.pk])).status_code == 405
    assert client_logged_in.get(reverse("runs:start", args=[prompt.pk])).status_code == 405


def test_run_starts_a_run_and_opens_its_page(client_logged_in, prompt, models, user):
    response = client_logged_in.post(reverse("runs:start", args=[prompt.pk]),
                                     form_data(prompt.latest_version(), models[:2], subject="a kite"))

    run = Run.objects.get()
    assert response.status_code == 302 and response["Location"] == reverse("runs:detail", args=[run.pk])
    assert run.values == {"subject": "a kite"} and run.created_by == user
    assert [r.model_name for r in run.results.order_by("position")] == ["gpt-4o", "gpt-4o-mini"]


def test_run_with_no_model_shows_the_form_again(client_logged_in, prompt, models):
    response = client_logged_in.post(reverse("runs:start", args=[prompt.pk]), {"version": 1})

    assert response.status_code == 200 and "Pick at least one model." in response.content.decode()
    assert not Run.objects.exists()


def test_a_viewer_can_preflight_but_not_run(client, viewer, prompt, models):
    client.force_login(viewer)
    page = client.get(reverse("runs:new", args=[prompt.pk])).content.decode()
    preflight = client.post(reverse("runs:preflight", args=[prompt.pk]), form_data(prompt.latest_version(), models[:1]), headers=HX)
    started = client.post(reverse("runs:start", args=[prompt.pk]), form_data(prompt.latest_version(), models[:1]))

    assert "viewers cannot start runs" in page and 'id="run-button"' not in page
    assert preflight.status_code == 200
    assert started.status_code == 403 and not Run.objects.exists()


# --- the run page ---------------------------------------------------------------------------------


def test_the_run_page_polls_while_the_run_is_not_done(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team)

    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert html.count('class="rcard rs-queued"') == 3
    assert 'hx-trigger="every 1s"' in html
    assert '<progress id="run-progress-bar" max="3" value="0"' in html
    assert 'id="cancel-run"' in html


def test_progress_redraws_only_the_cards_that_changed_and_stops_when_done(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team)
    results = list(run.results.order_by("position"))
    url = reverse("runs:progress", args=[run.pk])
    known = ",".join(f"{r.pk}:queued" for r in results)

    sending.execute(results[0].pk)
    partial = client_logged_in.get(url, {"known": known, "outputs": 0}, headers=HX)

    html = partial.content.decode()
    assert partial.status_code == 200 and "<html" not in html
    assert 'value="1"' in html and 'hx-trigger="every 1s"' in html
    assert f'id="result-{results[0].pk}"' in html and f'id="result-{results[1].pk}"' not in html
    assert f'id="marks-{results[1].pk}"' in html  # the marks of the other cards follow

    for r in results[1:]:
        sending.execute(r.pk)
    done = client_logged_in.get(url, {"known": known, "outputs": 1}, headers=HX)

    html = done.content.decode()
    assert done.status_code == 286  # htmx stops polling
    assert 'hx-trigger="every 1s"' not in html and 'value="3"' in html
    assert html.count('class="rcard rs-succeeded"') == 3
    assert 'id="cancel-run"' not in html and 'id="diff-section"' in html


def test_result_cards_show_usage_cost_latency_and_the_cheapest_and_fastest(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team)
    results = finish(run)
    Result.objects.filter(pk=results[0].pk).update(latency_total_ms=900, latency_first_byte_ms=300)
    Result.objects.filter(pk=results[1].pk).update(latency_total_ms=1500)
    Result.objects.filter(pk=results[2].pk).update(latency_total_ms=450)

    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()

    cards = {r.model_name: _card(html, r.pk) for r in results}
    mini = Result.objects.get(pk=results[1].pk)
    assert f'<dd class="tok-in">{mini.input_tokens}</dd>' in cards["gpt-4o-mini"]
    assert f'<dd class="tok-out">{mini.output_tokens}</dd>' in cards["gpt-4o-mini"]
    assert "$" in cards["gpt-4o-mini"] and "900 ms" in cards["gpt-4o"] and "TTFB 300 ms" in cards["gpt-4o"]
    assert "mark-cheapest" in cards["gpt-4o-mini"] and "mark-cheapest" not in cards["gpt-4o"]
    assert "mark-fastest" in cards["claude-sonnet-4-5"] and "mark-fastest" not in cards["gpt-4o-mini"]
    assert "stop" in cards["gpt-4o"]
    assert 'hx-trigger="every 1s"' not in html


def _card(html: str, pk: int) -> str:
    start_ = html.index(f'id="result-{pk}"')
    return html[start_: html.index("</article>", start_)]


def test_model_output_is_escaped_and_markdown_is_rendered_safely(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:1], user, team)
    Result.objects.filter(run=run).update(
        status=Result.Status.SUCCEEDED,
        output_text='**Bold** <script>alert(1)</script> <img src=x onerror=alert(1)> [x](javascript:alert(1)) [ok](https://example.com)',
    )

    html = _card(client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode(), run.results.get().pk)

    assert "<strong>Bold</strong>" in html
    assert "<script>" not in html and "<img" not in html and 'href="javascript:' not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert '<a href="https://example.com" rel="nofollow noopener noreferrer" target="_blank">ok</a>' in html


def test_a_failed_result_says_what_happened_in_plain_words_and_the_providers_own(client_logged_in, prompt, team, user, provider_server):
    pm = model_for(team, provider_server, "chat", "fake-401")
    run = start(prompt.latest_version(), [pm], user, team)
    [result] = finish(run)

    html = _card(client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode(), result.pk)

    assert result.status == Result.Status.FAILED
    assert "The provider did not accept the API key" in html
    assert "<code>401</code>" in html and result.error_message[:30] in html.replace("&#x27;", "'")


def test_a_refused_result_says_why(client_logged_in, team, user, provider_server):
    png = make_png(team)
    version = make_version(team, doc_with({"text": "What is this?"}, {"media": {"item": png.pk}}), user)
    pm = model_for(team, provider_server, "chat", "text-only", inputs=[])
    run = start(version, [pm], user, team)

    html = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert "Not sent: this model or protocol cannot take the prompt" in html
    assert 'class="rcard rs-refused"' in html and "Exact request" not in html


def test_the_exact_request_is_shown_elided_and_downloads_byte_for_byte(client_logged_in, team, user, provider_server):
    png = make_png(team)
    version = make_version(team, doc_with({"text": "What is this?"}, {"media": {"item": png.pk}}), user)
    pm = model_for(team, provider_server, "chat")
    run = start(version, [pm], user, team)
    [result] = finish(run)

    shown = client_logged_in.get(reverse("runs:request", args=[result.pk]), headers=HX).content.decode()
    body = client_logged_in.get(reverse("runs:body", args=[result.pk]))

    exact = b"".join(services.result_body_iter(result))
    assert b"".join(body.streaming_content) == exact
    assert body["Content-Length"] == str(len(exact)) and "attachment" in body["Content-Disposition"]
    assert provider_server.received[-1].size == len(exact)
    assert '"url": "data:image/png;base64,&lt;base64 PNG, 636 B&gt;"' in re.sub(r"<[^>]+>", "", shown)
    assert result.url in shown and "Download exact body" in shown
    assert DEFAULT_KEY not in shown and DEFAULT_KEY.encode() not in exact
    assert "<html" not in shown
    page = client_logged_in.get(reverse("runs:request", args=[result.pk])).content.decode()
    assert "<html" in page  # without htmx: a page of its own


def _base64_labels(html: str) -> list[str]:
    return sorted(re.findall(r"&lt;base64 [^&]*&gt;", re.sub(r"<[^>]+>", "", html)))


def test_the_stored_request_labels_media_as_the_preview_does(client_logged_in, team, user, provider_server):
    # A gateway takes the MP3 bare (input_audio) and the QuickTime video as a data URL: the stored
    # request once said "data" and "QUICKTIME" where the preview says MP3 and MOV.
    mp3 = make_item(team, samples.mp3_bytes(), "song.mp3")
    mov = make_item(team, samples.mov_bytes(), "clip.mov")
    version = make_version(team, doc_with({"text": "Hear and watch."}, {"media": {"item": mp3.pk}},
                                          {"media": {"item": mov.pk}}), user)
    gateway = make_provider(team, provider_server, "compatible", name="Gateway", gateway_extensions=True)
    pm = make_model(gateway, "gpt-4o")
    preview = client_logged_in.post(reverse("runs:preflight", args=[version.prompt.pk]), form_data(version, [pm]),
                                    headers=HX).content.decode()
    [result] = finish(start(version, [pm], user, team))

    shown = client_logged_in.get(reverse("runs:request", args=[result.pk]), headers=HX).content.decode()

    labels = _base64_labels(shown)
    assert [label.split(",")[0] for label in labels] == ["&lt;base64 MOV", "&lt;base64 MP3"]
    assert labels == _base64_labels(preview)  # the very words, sizes included
    assert "data:video/quicktime;base64,&lt;base64 MOV" in re.sub(r"<[^>]+>", "", shown)


def test_the_response_json_is_one_click_away(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:1], user, team)
    [result] = finish(run)

    fragment = client_logged_in.get(reverse("runs:response", args=[result.pk]), headers=HX).content.decode()
    download = client_logged_in.get(reverse("runs:response", args=[result.pk]), {"download": 1})

    assert 'class="j-k">"choices"' in fragment
    assert json.loads(download.content) == result.response_json
    assert "attachment" in download["Content-Disposition"]


def test_the_word_diff_of_two_outputs_is_escaped(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:2], user, team)
    a, b = run.results.order_by("position")
    Result.objects.filter(pk=a.pk).update(status="succeeded", output_text="The red <b>circle</b> is left.")
    Result.objects.filter(pk=b.pk).update(status="succeeded", output_text="The blue <b>circle</b> is left.")

    response = client_logged_in.get(reverse("runs:diff", args=[run.pk]), {"a": a.pk, "b": b.pk}, headers=HX)

    html = response.content.decode()
    assert "<html" not in html
    assert "The <del>red</del><ins>blue</ins> &lt;b&gt;circle&lt;/b&gt; is left." in html
    assert "1 removed, 1 added" in html


def test_the_diff_refuses_results_of_another_run(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:1], user, team)
    other = start(prompt.latest_version(), models[:1], user, team)

    html = client_logged_in.get(reverse("runs:diff", args=[run.pk]),
                                {"a": run.results.get().pk, "b": other.results.get().pk}, headers=HX).content.decode()

    assert "Both results must belong to this run." in html


# --- cancel, re-run, re-send ----------------------------------------------------------------------


def test_cancel_stops_what_has_not_answered(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team)
    sending.execute(run.results.order_by("position").first().pk)

    response = client_logged_in.post(reverse("runs:cancel", args=[run.pk]))

    assert response.status_code == 302
    assert sorted(run.results.values_list("status", flat=True)) == ["cancelled", "cancelled", "succeeded"]
    run.refresh_from_db()
    assert run.status == Run.Status.CANCELLED
    page = client_logged_in.get(reverse("runs:detail", args=[run.pk])).content.decode()
    assert "Cancelled 2 requests not yet answered." in page


def test_rerun_starts_the_same_run_again(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team, values={"subject": "a kite"})

    response = client_logged_in.post(reverse("runs:rerun", args=[run.pk]))

    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("runs:detail", args=[new.pk])
    assert new.rerun_of == run and new.values == {"subject": "a kite"}
    assert [r.provider_model_id for r in new.results.order_by("position")] == [m.pk for m in models]


def test_resend_sends_the_same_stored_body(client_logged_in, prompt, models, user, team):
    run = start(prompt.latest_version(), models, user, team)
    result = finish(run)[1]

    response = client_logged_in.post(reverse("runs:resend", args=[result.pk]))

    new = Run.objects.exclude(pk=run.pk).get()
    assert response["Location"] == reverse("runs:detail", args=[new.pk])
    [again] = new.results.all()
    assert again.request_body_id == result.request_body_id and again.model_name == "gpt-4o-mini"


@pytest.mark.parametrize("name", ["runs:cancel", "runs:rerun"])
def test_run_actions_refuse_get_and_viewers(client, viewer, prompt, models, user, team, name):
    run = start(prompt.latest_version(), models[:1], user, team)
    client.force_login(viewer)

    assert client.get(reverse(name, args=[run.pk])).status_code == 405
    assert client.post(reverse(name, args=[run.pk])).status_code == 403
    assert Run.objects.count() == 1 and run.results.get().status == "queued"


def test_a_viewer_reads_the_run_without_its_buttons(client, viewer, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:1], user, team)
    finish(run)
    client.force_login(viewer)

    html = client.get(reverse("runs:detail", args=[run.pk])).content.decode()

    assert "Read-only: viewers cannot start or cancel runs." in html
    assert "Re-send" not in html and 'id="rerun"' not in html
    assert client.post(reverse("runs:resend", args=[run.results.get().pk])).status_code == 403


def test_another_teams_run_is_not_found(client, other_user, prompt, models, user, team):
    run = start(prompt.latest_version(), models[:1], user, team)
    [result] = finish(run)
    client.force_login(other_user)

    for url in [reverse("runs:detail", args=[run.pk]), reverse("runs:progress", args=[run.pk]),
                reverse("runs:diff", args=[run.pk]), reverse("runs:request", args=[result.pk]),
                reverse("runs:body", args=[result.pk]), reverse("runs:response", args=[result.pk]),
                reverse("runs:new", args=[prompt.pk]), reverse("runs:history", args=[prompt.pk]),
                reverse("runs:prompt_export", args=[prompt.pk, "csv"])]:
        assert client.get(url).status_code == 404, url
    for url in [reverse("runs:cancel", args=[run.pk]), reverse("runs:rerun", args=[run.pk]),
                reverse("runs:resend", args=[result.pk]), reverse("runs:start", args=[prompt.pk]),
                reverse("runs:preflight", args=[prompt.pk])]:
        assert client.post(url, form_data(prompt.latest_version(), models[:1])).status_code == 404, url
    assert Run.objects.count() == 1


# --- history ----------------------------------------------------------------------------------------


def test_history_lists_every_run_of_the_prompt_across_versions_with_chart_data(client_logged_in, prompt, models, user, team):
    v2 = prompt.save_version(doc_with({"text": "Describe {{subject}} in two lines."}, variables={"subject": "a cat"}), user=user)
    first = start(prompt.latest_version().prompt.versions.get(number=1), models[:2], user, team)
    second = start(v2, models[1:], user, team)
    finish(first), finish(second)

    response = client_logged_in.get(reverse("runs:history", args=[prompt.pk]))

    html = response.content.decode()
    assert f'id="run-row-{first.pk}"' in html and f'id="run-row-{second.pk}"' in html
    data = json.loads(re.search(r'<script id="chart-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    assert data["models"] == ["Fake OpenAI / gpt-4o", "Fake OpenAI / gpt-4o-mini", "Fake Anthropic / claude-sonnet-4-5"]
    assert len(data["points"]) == 4
    assert 'id="model-summary"' in html and "vendor/uplot.iife.min.js" in html
    assert 'href="/runs/prompt/' in html and "export.csv" in html


def test_history_filters_by_model_version_and_date_as_an_htmx_partial(client_logged_in, prompt, models, user, team):
    v2 = prompt.save_version(doc_with({"text": "Describe {{subject}} twice."}, variables={"subject": "a cat"}), user=user)
    first = start(prompt.versions.get(number=1), models[:1], user, team)
    second = start(v2, models[2:], user, team)
    url = reverse("runs:history", args=[prompt.pk])

    by_version = client_logged_in.get(url, {"version": 1}, headers={**HX, "HX-Target": "history-results"}).content.decode()
    by_model = client_logged_in.get(url, {"model": "Fake Anthropic / claude-sonnet-4-5"}).content.decode()
    future = client_logged_in.get(url, {"since": "2999-01-01"}).content.decode()
    bad = client_logged_in.get(url, {"since": "2030-01-02", "until": "2030-01-01"}).content.decode()

    assert "<html" not in by_version and by_version.lstrip().startswith('<div id="history-results">')
    assert f'run-row-{first.pk}' in by_version and f'run-row-{second.pk}' not in by_version
    assert f'run-row-{second.pk}' in by_model and f'run-row-{first.pk}' not in by_model
    assert "run-row-" not in future and "No runs yet that match these filters." in future
    assert "“From” is after “To”." in bad
    assert "export.csv?version=1" in by_version


def test_the_runs_nav_lists_the_teams_recent_runs_only(client_logged_in, prompt, models, user, team, other_team, provider_server):
    mine = start(prompt.latest_version(), models[:1], user, team)
    theirs = start(make_version(other_team, doc_with({"text": "Hi"})), [model_for(other_team, provider_server, "chat")], None, other_team)

    html = client_logged_in.get(reverse("runs:list")).content.decode()

    assert f'run-row-{mine.pk}' in html and f'run-row-{theirs.pk}' not in html
    assert f'href="{reverse("runs:list")}" aria-current="page"' in html


def test_the_editor_has_a_run_button_for_the_saved_version(client_logged_in, prompt):
    html = client_logged_in.get(reverse("prompts:edit", args=[prompt.pk])).content.decode()

    assert f'href="{reverse("runs:new", args=[prompt.pk])}?version=1"' in html
