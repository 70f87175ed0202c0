"""Rough edges a new user hit (issue 12, items 1, 4, 5 and 6), each as they saw it:

1. the all-runs list said "newest first" and listed oldest first, 200 rows at most;
4. one run counted one way on its page, another in history, a third in its progress;
5. a failed card's latency, its retry wording, a cancelled card quoting "the provider", and a
   "Not sent" card saying "1 change made to send it";
6. "New prompt" with no name, and Django's bare 404 and 500 pages.
"""

import csv
import io
import re
from datetime import timedelta

import pytest
from django.test import RequestFactory, override_settings
from django.urls import reverse
from django.utils import timezone
from django.views.defaults import server_error

from playground.prompts.models import Prompt
from playground.runs import services
from playground.runs.models import Result, Run
from tests.factories import make_model, make_provider

S = Result.Status


@pytest.fixture
def prompt(text_version):
    return text_version.prompt


@pytest.fixture
def eight(team, provider_server):
    provider = make_provider(team, provider_server, "chat", name="Fake OpenAI")
    return [make_model(provider, f"model-{i}") for i in range(8)]


def start(prompt, models, user, team) -> Run:
    return services.start_run(version=prompt.latest_version(), values={"subject": "a cat"}, provider_models=models,
                              user=user, team=team)  # fmt: skip


def set_statuses(run, statuses) -> list[Result]:
    results = list(run.results.order_by("position"))
    for r, status in zip(results, statuses, strict=True):
        fields = {"status": status}
        if status == S.REFUSED:
            fields.update(request_body=None, error_kind="refused", error_message="This model takes no images.")
        Result.objects.filter(pk=r.pk).update(**fields)
    return list(run.results.order_by("position"))


def page_of(client, run) -> str:
    return client.get(reverse("runs:detail", args=[run.pk])).content.decode()


def card(html: str, pk: int) -> str:
    start_ = html.index(f'id="result-{pk}"')
    return html[start_: html.index("</article>", start_)]


def text(html: str) -> str:
    return re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", html)).strip()


# --- 1. the all-runs list ---------------------------------------------------------------------------


def test_the_runs_list_is_newest_first_and_pages_through_every_run(client_logged_in, prompt, user, team, eight,
                                                                   django_assert_max_num_queries):
    runs = [Run.objects.create(team=team, prompt_version=prompt.latest_version(), created_by=user) for _ in range(55)]
    now = timezone.now()
    for i, run in enumerate(runs):  # run i is i minutes younger than the first
        Run.objects.filter(pk=run.pk).update(created_at=now - timedelta(minutes=100 - i))
        Result.objects.create(run=run, position=0, provider_name="Fake OpenAI", protocol="chat", model_name="m",
                              url="https://x.example/v1", status=S.SUCCEEDED if i % 2 else S.FAILED)  # fmt: skip
    url = reverse("runs:list")

    with django_assert_max_num_queries(12):  # counts, results and the total: a few queries, not one per run
        first = client_logged_in.get(url).content.decode()
    second = client_logged_in.get(url, {"page": 2}).content.decode()

    rows = re.findall(r'id="run-row-(\d+)"', first)
    assert len(rows) == 50 and rows[0] == str(runs[-1].pk) and rows[-1] == str(runs[5].pk)  # the newest first
    assert re.findall(r'id="run-row-(\d+)"', second) == [str(r.pk) for r in reversed(runs[:5])]  # the oldest, last
    assert "1–50 of 55, newest first" in first and "51–55 of 55, newest first" in second
    assert 'id="runs-older"' in first and "page=2" in first and 'id="runs-newer"' not in first
    assert 'id="runs-newer"' in second and 'id="runs-older"' not in second
    assert "1 succeeded" in first and "1 failed" in first


def test_the_pages_keep_the_filters_and_the_exports_take_no_page(client_logged_in, prompt, user, team):
    for _ in range(51):
        Run.objects.create(team=team, prompt_version=prompt.latest_version(), created_by=user).results.create(
            position=0, provider_name="P", protocol="chat", model_name="m", url="https://x.example/v1", status=S.SUCCEEDED)

    html = client_logged_in.get(reverse("runs:history", args=[prompt.pk]), {"version": 1, "page": 2},
                                headers={"HX-Request": "true", "HX-Target": "history-results"}).content.decode()

    assert html.lstrip().startswith('<div id="history-results">') and len(re.findall('id="run-row-', html)) == 1
    assert "version=1&amp;page=1" in html  # the newer page keeps the filter
    assert "export.csv?version=1\"" in html  # the export is of every filtered run, not a page


# --- 4. one way of counting ---------------------------------------------------------------------------


def test_the_run_page_its_progress_and_the_history_count_alike(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight, user, team)
    set_statuses(run, [S.SUCCEEDED] * 4 + [S.FAILED] + [S.REFUSED] * 3)
    Run.objects.filter(pk=run.pk).update(status=Run.Status.DONE, finished_at=timezone.now())

    detail = text(page_of(client_logged_in, run))
    progress = text(client_logged_in.get(reverse("runs:progress", args=[run.pk]), headers={"HX-Request": "true"}).content.decode())
    history = client_logged_in.get(reverse("runs:history", args=[prompt.pk])).content.decode()
    row = text(history[history.index(f'id="run-row-{run.pk}"'):history.index("</tr>", history.index(f'id="run-row-{run.pk}"'))])

    said = "4 succeeded · 1 failed · 3 not sent"
    assert said in detail and said in progress and said in row
    assert "5 of 5 sent answered" in detail  # what was sent, all answered
    assert "4/8 ok" not in row and "4 failed" not in row


def test_the_export_says_each_result_as_the_screens_count_it(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight[:3], user, team)
    set_statuses(run, [S.SUCCEEDED, S.FAILED, S.REFUSED])

    rows = list(csv.DictReader(io.StringIO(client_logged_in.get(reverse("runs:export", args=["csv"])).getvalue().decode("utf-8-sig"))))

    assert [r["outcome"] for r in sorted(rows, key=lambda r: int(r["result_id"]))] == ["succeeded", "failed", "not sent"]


def test_progress_before_any_answer_counts_only_what_is_sent(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight, user, team)
    set_statuses(run, [S.QUEUED] * 4 + [S.RUNNING] + [S.REFUSED] * 3)

    html = page_of(client_logged_in, run)

    assert '<progress id="run-progress-bar" max="5" value="0"' in html
    said = text(html[html.index('id="run-progress"'):html.index("</div>", html.index('id="run-progress"'))])
    assert "0 of 5 sent answered (0%) · 5 waiting, 1 in flight" in said and "3 not sent" in said
    assert "3 of 8" not in said and "38%" not in said


def test_a_cancelled_run_says_so_with_what_was_answered_before(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight[:3], user, team)
    set_statuses(run, [S.SUCCEEDED, S.QUEUED, S.RUNNING])
    client_logged_in.post(reverse("runs:cancel", args=[run.pk]))

    said = text(page_of(client_logged_in, run))

    assert "Cancelled: 1 of 3 answered before it was cancelled" in said and "2 cancelled" in said
    assert "(100%)" not in said and "3 of 3 answered" not in said


# --- 5. what a card says ----------------------------------------------------------------------------


def _failed_after_retries(run) -> Result:
    result = run.results.order_by("position").first()
    attempts = [{"number": i + 1, "started_at": 0, "status": 529, "latency_s": s, "wait_s": w, "queued_s": 0.0,
                 "error": {"message": "Overloaded", "kind": "http"}}
                for i, (s, w) in enumerate([(1.2, 0.5), (1.4, 0.9), (1.0, 0.28), (1.506, None)])]  # fmt: skip
    Result.objects.filter(pk=result.pk).update(
        status=S.FAILED, attempts=attempts, latency_total_ms=1506, elapsed_ms=6791, error_status=529,
        error_type="overloaded_error", error_kind="http",
        error_message="Overloaded Not retried: gave up after 4 attempts.",
    )  # fmt: skip
    return result


def test_a_failed_card_shows_the_time_of_every_attempt_and_says_it_plainly(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight[:1], user, team)
    result = _failed_after_retries(run)

    html = card(page_of(client_logged_in, run), result.pk)
    said = text(html)

    assert "6,791 ms" in said and "the last try 1,506 ms" in said
    assert re.search(r'class="latency-total" title="4 attempts and the waits between them: try 1: 1,200 ms, then waited 500 ms; '
                     r'try 2: 1,400 ms, then waited 900 ms; try 3: 1,000 ms, then waited 280 ms; try 4: 1,506 ms"', html)
    assert "Failed after 4 attempts: 529 overloaded_error Overloaded" in said
    assert "Not retried" not in said and "The provider said" not in said
    assert "Try 1: 529 · 1,200 ms · Overloaded · then waited 500 ms" in said  # the attempts' details


def test_a_cancelled_card_does_not_quote_the_provider(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight[:1], user, team)
    client_logged_in.post(reverse("runs:cancel", args=[run.pk]))

    said = text(card(page_of(client_logged_in, run), run.results.get().pk))

    assert "Cancelled before an answer arrived." in said
    assert "The provider said" not in said and "recorded" not in said


def test_the_changes_line_is_true_for_a_result_not_sent_and_for_one_sent(client_logged_in, prompt, user, team, eight):
    run = start(prompt, eight[:2], user, team)
    refused, sent = set_statuses(run, [S.REFUSED, S.SUCCEEDED])
    Result.objects.filter(pk__in=[refused.pk, sent.pk]).update(notes=["changed: sent the PNG copy of photo.heic"])

    html = page_of(client_logged_in, run)

    assert "Not sent even after 1 change to fit the model" in text(card(html, refused.pk))
    assert "Sent after 1 change to fit the model" in text(card(html, sent.pk))
    assert "made to send it" not in html


# --- 6. a new prompt without a name; the error pages --------------------------------------------------


@pytest.mark.parametrize("name", ["", "   "])
def test_a_new_prompt_without_a_name_says_what_to_do(client_logged_in, team, name):
    response = client_logged_in.post(reverse("prompts:create"), {"name": name})

    html = response.content.decode()
    assert response.status_code == 200 and not Prompt.objects.exists()
    assert '<p class="error" role="alert" id="new-prompt-error">Give the new prompt a name' in html
    assert 'aria-invalid="true" aria-describedby="new-prompt-error"' in html
    # The browser's own check stopped the form silently for some: the page's message shows instead.
    assert re.search(r'<form[^>]*id="new-prompt-form"[^>]*novalidate', html)


@override_settings(DEBUG=False)
@pytest.mark.parametrize("path", ["/no-such-page/", "/runs/999999/", "/s/not-a-token/", "/s/not-a-token/media/1/"])
def test_the_404_page_is_prisms_and_says_nothing_of_any_team(client_logged_in, team, path):
    # An anonymous visitor of an app page is sent to log in; one of /s/ or of no page gets the 404.
    for client_kind in ("member", "anonymous") if not path.startswith("/runs/") else ("member",):
        if client_kind == "anonymous":
            client_logged_in.logout()
        response = client_logged_in.get(path)
        html = response.content.decode()
        assert response.status_code == 404, (path, client_kind)
        assert 'class="topbar"' in html and "Prism" in html, (path, client_kind)
        assert team.name not in html and "alice" not in html, (path, client_kind)
        assert "Not Found</h1>" not in html  # not Django's bare page


def test_the_500_page_is_prisms_and_needs_neither_request_context_nor_database(db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = server_error(RequestFactory().get("/"))

    html = response.content.decode()
    assert response.status_code == 500
    assert "Something went wrong" in html and 'class="topbar"' in html and "/static/app.css" in html
