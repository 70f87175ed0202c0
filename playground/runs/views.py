"""Runs: a new run (version, values, models, preflight), the run page with live progress and one
card per model, the exact request and response of each result, a word diff of two outputs,
re-run and re-send, the history of runs with charts, and CSV/JSON exports.

Each view parses the request, checks the membership, calls services (runs/services.py) or the
models' queries, and renders what runs/display.py makes of them. Everything is read from the
run's snapshots (Run, Result, RequestBody), never from the prompt or the catalog as they are now:
an old run shows what was sent and what came back then.
"""

from __future__ import annotations

import json

from django.contrib import messages
from django.core.paginator import Paginator
from django.db.models import Prefetch
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.functional import cached_property
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.catalog.services import provider_models_for
from playground.lib.ids import parse_id
from playground.prompts import editor
from playground.prompts.document import DocumentError, normalize
from playground.prompts.models import Prompt, PromptVersion
from playground.runs import display, exports, reconcile, services
from playground.runs.forms import DiffForm, HistoryFilterForm, NewRunForm
from playground.runs.models import Result, Run
from playground.runs.wdiff import word_diff
from playground.uploads.models import MediaItem

HISTORY_PAGE = 50  # runs a page of the history table, newest first; exports and charts take every filtered result


def _get_prompt(request, prompt_id: int, *, edit: bool = False):
    prompt = get_object_or_404(Prompt, pk=prompt_id)
    return prompt, require_membership(request, prompt.team_id, edit=edit)


def _get_run(request, run_id: int, *, edit: bool = False):
    run = get_object_or_404(Run.objects.select_related("prompt_version__prompt", "created_by"), pk=run_id)
    return run, require_membership(request, run.team_id, edit=edit)


def _get_result(request, result_id: int, *, edit: bool = False):
    result = get_object_or_404(Result.objects.select_related("run", "request_body"), pk=result_id)
    return result, require_membership(request, result.run.team_id, edit=edit)


# --- a new run -------------------------------------------------------------------------------------


def _variables(prompt: Prompt, version: PromptVersion):
    try:
        doc = normalize(version.content)
    except DocumentError:
        doc = normalize({"messages": []})
    items = {i.pk: i for i in MediaItem.objects.filter(team=prompt.team, pk__in=editor.item_ids(doc))}
    return editor.variable_views(doc, items)


def _new_run_form(request, prompt: Prompt, data=None) -> NewRunForm:
    """The form for ``data`` (a POST) or for the query string (?version=N&models=1&models=2&var-x=...)."""
    versions = list(prompt.versions.order_by("-number"))
    source = data if data is not None else request.GET
    number = source.get("version")
    version = next((v for v in versions if str(v.number) == str(number)), versions[0] if versions else None)
    if version is None:
        raise Http404("This prompt has no saved version yet.")
    variables = _variables(prompt, version)
    kwargs = {
        "chosen_version": version,
        "versions": versions,
        "provider_models": provider_models_for(prompt.team),
        "variables": variables,
    }
    if data is not None:
        return NewRunForm(data, **kwargs)
    initial = {"version": version.number, "models": [i for m in request.GET.getlist("models") if (i := parse_id(m))]}
    for v in variables:
        if not v.is_media:
            given = request.GET.get(f"var-{v.name}")
            initial[f"var-{v.name}"] = given if given is not None else (v.value or "")
    return NewRunForm(initial=initial, **kwargs)


def _new_context(prompt, membership, form: NewRunForm) -> dict:
    return {
        "prompt": prompt,
        "form": form,
        "version": form.chosen_version,
        "media_variables": [v for v in form.variables if v.is_media],
        "can_edit": membership.can_edit,
    }


@require_GET
@never_cache
def run_new(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id)
    form = _new_run_form(request, prompt)
    template = "runs/new.html"
    if request.htmx and request.htmx.target == "run-form":  # the version changed: its variables
        template += "#run-form"
    return render(request, template, _new_context(prompt, membership, form))


@require_POST
def run_preflight(request, prompt_id: int):
    """Per chosen model: the exact body, the estimated tokens and cost, fallbacks and refusals."""
    prompt, membership = _get_prompt(request, prompt_id)
    form = _new_run_form(request, prompt, request.POST)
    columns = None
    if form.is_valid():
        checks = services.preflight(
            version=form.chosen_version, values=form.values(), provider_models=form.chosen_models(), team=prompt.team
        )
        columns = display.preflight_columns(checks)
    return render(request, "runs/_preflight.html", {"form": form, "columns": columns, "can_edit": membership.can_edit,
                                                    "unreliable_pct": f"{reconcile.UNRELIABLE_PCT:g}"})  # fmt: skip


@require_POST
def run_start(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    form = _new_run_form(request, prompt, request.POST)
    if not form.is_valid():
        return render(request, "runs/new.html", _new_context(prompt, membership, form))
    run = services.start_run(
        version=form.chosen_version,
        values=form.values(),
        provider_models=form.chosen_models(),
        user=request.user,
        team=prompt.team,
    )
    return redirect("runs:detail", run_id=run.pk)


# --- the run page ------------------------------------------------------------------------------------


def _run_context(run: Run, membership) -> dict:
    results = list(run.results.select_related("request_body").order_by("position", "pk"))
    cards = display.result_cards(results)
    with_output = [r for r in results if r.output_text]
    version = run.prompt_version
    return {
        "run": run,
        "prompt": version.prompt,
        "version": version,
        "cards": cards,
        "progress": display.RunCounts.of(services.run_progress(run), run.status),
        "values": display.run_values(run),
        "can_edit": membership.can_edit,
        "diff_choices": with_output,
        "diff_form": DiffForm(
            initial={
                "a": with_output[0].pk if with_output else None,
                "b": with_output[1].pk if len(with_output) > 1 else None,
            }
        ),
        "known": display.known_statuses(cards),
        "duration_s": (run.finished_at - run.created_at).total_seconds() if run.finished_at else None,
    }


@require_GET
@never_cache
def run_detail(request, run_id: int):
    run, membership = _get_run(request, run_id)
    return render(request, "runs/detail.html", _run_context(run, membership))


@require_GET
@never_cache
def run_progress(request, run_id: int):
    """The progress bar, plus (out of band) the cards whose status changed since ``known`` and
    the run's status and actions. Stops the polling once the run is done."""
    run, membership = _get_run(request, run_id)
    ctx = _run_context(run, membership)
    known = dict(part.split(":", 1) for part in request.GET.get("known", "").split(",") if ":" in part)
    ctx["changed"] = [c for c in ctx["cards"] if known.get(str(c.result.pk)) != c.result.status]
    ctx["unchanged"] = [c for c in ctx["cards"] if known.get(str(c.result.pk)) == c.result.status]
    ctx["outputs_changed"] = request.GET.get("outputs") != str(len(ctx["diff_choices"]))
    response = render(request, "runs/_progress_response.html", ctx)
    if ctx["progress"].done:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@require_POST
def run_cancel(request, run_id: int):
    run, membership = _get_run(request, run_id, edit=True)
    cancelled = services.cancel_run(run)
    messages.info(
        request,
        f"Cancelled {cancelled} request{'s' if cancelled != 1 else ''} not yet answered."
        if cancelled
        else "Nothing left to cancel: every request had an answer.",
    )
    return redirect("runs:detail", run_id=run.pk)


@require_POST
def run_rerun(request, run_id: int):
    run, membership = _get_run(request, run_id, edit=True)
    new = services.rerun(run, user=request.user)
    messages.success(request, f"Re-running run {run.pk} as run {new.pk}: same version, values and models.")
    return redirect("runs:detail", run_id=new.pk)


@require_POST
def result_resend(request, result_id: int):
    result, membership = _get_result(request, result_id, edit=True)
    new = services.resend_result(result, user=request.user)
    messages.success(
        request, f"Re-sending the exact request of {result.model_name} (run {result.run_id}) as run {new.pk}."
    )
    return redirect("runs:detail", run_id=new.pk)


# --- one result's request and response ---------------------------------------------------------------


@require_GET
def result_request(request, result_id: int):
    """The stored request: method, URL, headers (key masked) and the body shown elided."""
    result, membership = _get_result(request, result_id)
    ctx = {"result": result, "body": result.request_body, "shown": display.stored_request(result)}
    return render(request, "runs/_request.html" if request.htmx else "runs/request_page.html", ctx)


@require_GET
def result_body(request, result_id: int):
    """The exact request body, byte for byte as it was sent."""
    result, membership = _get_result(request, result_id)
    if result.request_body is None:
        raise Http404("This result has no stored request (it was not sent).")
    response = StreamingHttpResponse(services.result_body_iter(result), content_type="application/json")
    response["Content-Length"] = str(result.request_body.size)
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{display.download_name(result, "request")}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Body-SHA256"] = result.request_body.sha256
    return response


@require_GET
def result_response(request, result_id: int):
    """The provider's response JSON as stored (a download, or the fragment shown in the card)."""
    result, membership = _get_result(request, result_id)
    if request.GET.get("download"):
        if result.response_json is None:
            raise Http404("No response was stored for this result.")
        response = HttpResponse(
            json.dumps(result.response_json, ensure_ascii=False, indent=2), content_type="application/json"
        )
        response["Content-Disposition"] = f'attachment; filename="{display.download_name(result, "response")}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return render(request, "runs/_response.html", {"result": result, "display": display.response_html(result)})


# --- the diff of two outputs -------------------------------------------------------------------------


@require_GET
def run_diff(request, run_id: int):
    run, membership = _get_run(request, run_id)
    form = DiffForm(request.GET)
    ctx = {"run": run, "diff_form": form, "diff": None}
    if form.is_valid():
        by_id = {r.pk: r for r in run.results.filter(pk__in=[form.cleaned_data["a"], form.cleaned_data["b"]])}
        a, b = by_id.get(form.cleaned_data["a"]), by_id.get(form.cleaned_data["b"])
        if a is None or b is None:
            form.add_error(None, "Both results must belong to this run.")
        else:
            ctx.update(a=a, b=b, diff=word_diff(a.output_text, b.output_text))
    if request.htmx:
        return render(request, "runs/_diff.html", ctx)
    ctx.update(_run_context(run, membership))
    ctx["diff_form"] = form
    return render(request, "runs/detail.html", ctx)


# --- history, charts, exports ------------------------------------------------------------------------


def _history_team(request, prompt_id: int | None):
    """(prompt or None, team, membership): one prompt's history, or the whole team's."""
    if prompt_id is not None:
        prompt, membership = _get_prompt(request, prompt_id)
        return prompt, prompt.team, membership
    return None, current_team(request), current_membership(request)


def _filtered_results(request, team, prompt):
    """(the filter form, the results it lets through) for the history and its exports."""
    base = Result.objects.filter(run__team=team, run__origin="")  # an evaluation's runs are on its own page
    if prompt is not None:
        base = base.filter(run__prompt_version__prompt=prompt)
    models = sorted({f"{p} / {m}" for p, m in base.values_list("provider_name", "model_name").distinct()})
    versions = list(prompt.versions.order_by("-number").values_list("number", flat=True)) if prompt else None
    form = HistoryFilterForm(request.GET or None, models=models, versions=versions)
    form.is_valid()
    return form, (form.filter(base) if form.is_bound else base)


@require_GET
@never_cache
def run_history(request, prompt_id: int | None = None):
    """Every run of a prompt (or of the team), filtered by model, version and dates; charts per model."""
    prompt, team, membership = _history_team(request, prompt_id)
    form, results = _filtered_results(request, team, prompt)
    filtered_runs = Run.objects.filter(pk__in=results.values("run_id"))
    runs_qs = (
        filtered_runs.order_by("-created_at", "-pk")
        .select_related("prompt_version__prompt", "created_by")
        .with_counts()
        .prefetch_related(
            Prefetch(
                "results",
                queryset=Result.objects.only("run_id", "provider_name", "model_name", "status").order_by("position"),
            )
        )
    )
    page = _RunPaginator(runs_qs, HISTORY_PAGE, count_of=filtered_runs).get_page(request.GET.get("page"))
    runs = list(page.object_list)
    rows = [(run, display.RunCounts.of_run(run)) for run in runs]
    series, summary = display.chart_data(results)
    filters = request.GET.copy()
    filters.pop("page", None)  # the exports and the page links keep the filters, not the page
    query = filters.urlencode()
    ctx = {
        "prompt": prompt,
        "form": form,
        "runs": rows,
        "page": page,
        "total_runs": page.paginator.count,
        "series": series,
        "summary": summary,
        "unreliable_pct": f"{reconcile.UNRELIABLE_PCT:g}",  # the estimate error that flags a model
        "query": query,
        "can_edit": membership.can_edit,
        "export_csv": _export_url(prompt, "csv", query),
        "export_json": _export_url(prompt, "json", query),
    }
    template = "runs/history.html"
    if request.htmx and request.htmx.target == "history-results":
        template += "#history-results"
    return render(request, template, ctx)


class _RunPaginator(Paginator):
    """Counts the filtered runs without computing each one's counts (only a page's runs get those)."""

    def __init__(self, object_list, per_page, *, count_of):
        super().__init__(object_list, per_page)
        self._count_of = count_of

    @cached_property
    def count(self) -> int:
        return self._count_of.count()


def _export_url(prompt, fmt: str, query: str) -> str:
    url = (
        reverse("runs:prompt_export", args=[prompt.pk, fmt])
        if prompt is not None
        else reverse("runs:export", args=[fmt])
    )
    return f"{url}?{query}" if query else url


@require_GET
def history_export(request, fmt: str, prompt_id: int | None = None):
    """One row per result of the filtered history; never a key or a request header."""
    prompt, team, membership = _history_team(request, prompt_id)
    form, results = _filtered_results(request, team, prompt)
    results = results.select_related("run__prompt_version__prompt").order_by("-run__created_at", "-run_id", "position")
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_rows(results), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = StreamingHttpResponse(exports.json_chunks(results), content_type="application/json")
    else:
        raise Http404("No such format")
    name = f"prism-runs-{slugify(prompt.name)[:60] if prompt else slugify(team.name)[:60]}"
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
