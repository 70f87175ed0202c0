"""CSV and JSON exports of the run history: one row per result, the history's filters, no key,
no request header, no formula a spreadsheet would run."""

import csv
import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse

from playground.runs import exports, sending, services
from playground.runs.models import Result
from tests.factories import doc_with, make_model, make_provider, make_version, model_for
from tests.provider_server import DEFAULT_KEY


@pytest.fixture(autouse=True)
def short_lease(settings):
    settings.PRISM_RESULT_LEASE_S = 3


@pytest.fixture
def two_runs(team, user, provider_server, text_version):
    chat = make_provider(team, provider_server, "chat", name="Fake OpenAI")
    gemini = make_provider(team, provider_server, "gemini", name="Fake Google")
    models = [make_model(chat, "gpt-4o"), make_model(gemini, "gemini-2.5-flash")]
    v2 = text_version.prompt.save_version(doc_with({"text": "Describe {{subject}} twice."}, variables={"subject": "x"}), user=user)
    runs = [services.start_run(version=text_version, values={"subject": "a cat"}, provider_models=models, user=user, team=team),
            services.start_run(version=v2, values={"subject": "a dog"}, provider_models=models[:1], user=user, team=team)]
    for run in runs:
        for r in run.results.all():
            sending.execute(r.pk)
    return runs


def _csv(response) -> list[dict]:
    text = b"".join(response.streaming_content).decode("utf-8")
    assert text.startswith("\ufeff")
    return list(csv.DictReader(io.StringIO(text.removeprefix("\ufeff"))))


def _json(response) -> dict:
    return json.loads(b"".join(response.streaming_content))


def test_csv_has_one_row_per_result_with_usage_cost_latency_and_output(client_logged_in, two_runs, text_version):
    response = client_logged_in.get(reverse("runs:prompt_export", args=[text_version.prompt.pk, "csv"]))

    assert response["Content-Type"].startswith("text/csv") and 'filename="prism-runs-caption.csv"' in response["Content-Disposition"]
    rows = _csv(response)
    assert list(rows[0]) == list(exports.FIELDS)
    assert len(rows) == 3
    newest = rows[0]
    result = Result.objects.get(pk=newest["result_id"])
    assert newest["run_id"] == str(two_runs[1].pk) and newest["version"] == "2" and newest["model"] == "gpt-4o"
    assert newest["provider"] == "Fake OpenAI" and newest["status"] == "succeeded"
    assert newest["input_tokens"] == str(result.input_tokens) and newest["output_tokens"] == str(result.output_tokens)
    estimated = result.estimate["total"]
    assert estimated > 0 and newest["estimated_input_tokens"] == str(estimated)
    assert float(newest["estimate_error_pct"]) == pytest.approx((result.input_tokens - estimated) * 100 / estimated, abs=0.05)
    assert Decimal(newest["cost_usd"]) == result.cost_usd
    assert newest["latency_total_ms"] == str(result.latency_total_ms)
    assert newest["finish_reason"] == "stop" and newest["output_text"] == result.output_text


def test_json_has_the_same_rows(client_logged_in, two_runs, text_version):
    data = _json(client_logged_in.get(reverse("runs:prompt_export", args=[text_version.prompt.pk, "json"])))

    assert data["fields"] == list(exports.FIELDS)
    assert len(data["results"]) == 3
    first = data["results"][0]
    result = Result.objects.get(pk=first["result_id"])
    assert first["cost_usd"] == pytest.approx(float(result.cost_usd))
    assert first["output_text"] == result.output_text and first["version"] == 2


def test_exports_follow_the_history_filters(client_logged_in, two_runs, text_version):
    url = reverse("runs:prompt_export", args=[text_version.prompt.pk, "csv"])

    by_version = _csv(client_logged_in.get(url, {"version": 1}))
    by_model = _csv(client_logged_in.get(url, {"model": "Fake Google / gemini-2.5-flash"}))
    none = _csv(client_logged_in.get(url, {"since": "2999-01-01"}))

    assert {r["run_id"] for r in by_version} == {str(two_runs[0].pk)} and len(by_version) == 2
    assert [r["model"] for r in by_model] == ["gemini-2.5-flash"]
    assert none == []


def test_exports_never_carry_a_key_or_a_header(client_logged_in, two_runs, text_version, team):
    Result.objects.update(request_headers={"Authorization": f"Bearer {DEFAULT_KEY}"})  # as if a header had slipped
    for fmt in ("csv", "json"):
        for url in (reverse("runs:prompt_export", args=[text_version.prompt.pk, fmt]), reverse("runs:export", args=[fmt])):
            body = b"".join(client_logged_in.get(url).streaming_content).decode()
            assert DEFAULT_KEY not in body and "Authorization" not in body and "Bearer" not in body
            assert "x-goog-api-key" not in body and "127.0.0.1" not in body  # no URL either


def test_a_cell_a_spreadsheet_would_run_is_quoted_as_text(client_logged_in, two_runs, text_version):
    Result.objects.filter(run=two_runs[1]).update(output_text='=HYPERLINK("http://evil.example","click")',
                                                  error_message="@SUM(1+1)")

    rows = _csv(client_logged_in.get(reverse("runs:prompt_export", args=[text_version.prompt.pk, "csv"])))
    data = _json(client_logged_in.get(reverse("runs:prompt_export", args=[text_version.prompt.pk, "json"])))

    assert rows[0]["output_text"] == "'=HYPERLINK(\"http://evil.example\",\"click\")" and rows[0]["error_message"] == "'@SUM(1+1)"
    assert data["results"][0]["output_text"] == '=HYPERLINK("http://evil.example","click")'  # JSON is data, kept as is


def test_the_team_export_has_only_the_teams_results(client_logged_in, two_runs, other_team, provider_server):
    other = make_version(other_team, doc_with({"text": "Hi"}))
    services.start_run(version=other, values={}, provider_models=[model_for(other_team, provider_server, "chat")],
                       user=None, team=other_team)

    rows = _csv(client_logged_in.get(reverse("runs:export", args=["csv"])))

    assert len(rows) == 3 and {r["prompt"] for r in rows} == {"Caption"}


def test_an_unknown_format_is_not_found(client_logged_in, text_version):
    assert client_logged_in.get(reverse("runs:export", args=["xlsx"])).status_code == 404


def test_a_viewer_may_export(client, viewer, two_runs, text_version):
    client.force_login(viewer)

    assert len(_csv(client.get(reverse("runs:prompt_export", args=[text_version.prompt.pk, "csv"])))) == 3
