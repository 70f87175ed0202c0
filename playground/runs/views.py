"""Runs: a new run (version, values, models, preflight), the run page with live progress and one
card per model, the exact request and response of each result, a word diff of two outputs,
re-run and re-send, the history of runs with charts, and CSV/JSON exports.

Everything is read from the run's snapshots (Run, Result, RequestBody), never from the prompt or
the catalog as they are now: an old run shows what was sent and what came back then. Model
output is untrusted text: templates escape it, and markdown goes through runs/markdown.py.
"""

from __future__ import annotations

import json
import re
import statistics
from collections import OrderedDict
from decimal import Decimal

from django.contrib import messages
from django.db.models import Count, Prefetch, Q, Sum
from django.http import Http404, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.text import slugify
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from django_htmx.http import HttpResponseStopPolling

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.catalog.models import Provider
from playground.lib.ids import parse_id
from playground.catalog.services import provider_models_for
from playground.prompts import editor
from playground.prompts.document import DocumentError, normalize
from playground.prompts.highlight import highlight_json
from playground.prompts.models import Prompt, PromptVersion
from playground.runs import exports, services
from playground.runs.forms import DiffForm, HistoryFilterForm, NewRunForm
from playground.runs.markdown import render_markdown
from playground.runs.models import Result, Run
from playground.runs.wdiff import word_diff
from playground.uploads.models import MediaItem

# A stored body bigger than this is offered as a download only (parsing it to elide its base64
# would hold it in memory several times over).
MAX_DISPLAY_BYTES = 64 * 1024 * 1024
HISTORY_RUNS = 200  # rows in the history table; exports and charts take every filtered result
CHART_POINTS = 2000


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


def _doc_of(version: PromptVersion) -> dict:
    try:
        return normalize(version.content)
    except DocumentError:
        return normalize({"messages": []})


def _variables(prompt: Prompt, version: PromptVersion):
    doc = _doc_of(version)
    ids = editor.item_ids(doc)
    items = {i.pk: i for i in MediaItem.objects.filter(team=prompt.team, pk__in=ids)}
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
    provider_models = provider_models_for(prompt.team)
    if data is not None:
        form = NewRunForm(data, versions=versions, provider_models=provider_models, variables=variables)
    else:
        initial = {"version": version.number, "models": [i for m in request.GET.getlist("models") if (i := parse_id(m))]}
        for v in variables:
            if not v.is_media:
                given = request.GET.get(f"var-{v.name}")
                initial[f"var-{v.name}"] = given if given is not None else (v.value or "")
        form = NewRunForm(initial=initial, versions=versions, provider_models=provider_models, variables=variables)
    form.version_obj = version
    return form


def _new_context(prompt, membership, form: NewRunForm, **extra) -> dict:
    return {
        "prompt": prompt,
        "form": form,
        "version": form.version_obj,
        "media_variables": [v for v in form.variables if v.is_media],
        "can_edit": membership.can_edit,
        **extra,
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
    checks = None
    if form.is_valid():
        checks = services.preflight(version=form.version_obj, values=form.values(),
                                    provider_models=form.chosen_models(), team=prompt.team)
        for check in checks:
            check.display_html = highlight_json(check.rendered.display()) if check.rendered is not None else ""
    return render(request, "runs/_preflight.html", {"form": form, "checks": checks, "can_edit": membership.can_edit})


@require_POST
def run_start(request, prompt_id: int):
    prompt, membership = _get_prompt(request, prompt_id, edit=True)
    form = _new_run_form(request, prompt, request.POST)
    if not form.is_valid():
        return render(request, "runs/new.html", _new_context(prompt, membership, form))
    run = services.start_run(version=form.version_obj, values=form.values(), provider_models=form.chosen_models(),
                             user=request.user, team=prompt.team)
    return redirect("runs:detail", run_id=run.pk)


# --- the run page ------------------------------------------------------------------------------------


def _results(run: Run) -> list[Result]:
    return list(run.results.select_related("request_body").order_by("position", "pk"))


def _marks(results: list[Result]) -> dict[int, set[str]]:
    """Cheapest and fastest among the results that succeeded (ties: all of them)."""
    done = [r for r in results if r.status == Result.Status.SUCCEEDED]
    marks: dict[int, set[str]] = {r.pk: set() for r in results}
    if len(done) < 2:
        return marks
    costs = [r for r in done if r.cost_usd is not None]
    if costs:
        low = min(r.cost_usd for r in costs)
        for r in costs:
            if r.cost_usd == low:
                marks[r.pk].add("cheapest")
    timed = [r for r in done if r.latency_total_ms is not None]
    if timed:
        low = min(r.latency_total_ms for r in timed)
        for r in timed:
            if r.latency_total_ms == low:
                marks[r.pk].add("fastest")
    return marks


def _decorate(results: list[Result]) -> list[Result]:
    marks = _marks(results)
    for r in results:
        r.marks = marks[r.pk]
        r.usage_view = _usage(r)
        r.output_html = render_markdown(r.output_text)
        r.plain_error = _plain_error(r)
        r.protocol_label = PROTOCOL_LABELS.get(r.protocol, r.protocol)
        r.note_texts = [_note_text(n) for n in (r.notes or [])]
        r.attempt_texts = [_attempt_text(i, a) for i, a in enumerate(r.attempts or [], 1)]
    return results


PROTOCOL_LABELS = dict(Provider.Protocol.choices)


def _plain_error(r: Result) -> str:
    """What went wrong, in plain words; the provider's own type and message are shown beside it."""
    if r.status == Result.Status.REFUSED:
        return "Not sent: this model or protocol cannot take the prompt as it is."
    if r.status == Result.Status.CANCELLED:
        return "Cancelled before an answer arrived."
    if r.status != Result.Status.FAILED:
        return ""
    if headline := _known_cause(r):
        return headline
    status, kind = r.error_status, (r.error_type or "").lower()
    if status in (401, 403) or "auth" in kind or "permission" in kind:
        return "The provider did not accept the API key (or the key may not use this model)."
    if status == 404 or "not_found" in kind:
        return "The provider does not know this model or endpoint."
    if status == 429 or "rate" in kind or "quota" in kind or "exhausted" in kind:
        return "Rate limited or out of quota at the provider, even after retrying."
    if status == 413 or "too_large" in kind:
        return "The request was too large for the provider."
    if status == 400 or "invalid" in kind:
        return "The provider rejected the request as invalid."
    if status in (408, 504) or "timeout" in kind:
        return "No answer in time."
    if status is not None and status >= 500:
        return "The provider had an error or was overloaded, even after retrying."
    # Results stored before headlines: their kind still says more than "failed".
    if r.error_kind in TRANSPORT_KINDS or "connection" in kind or "malformed" in kind:
        return TRANSPORT_KINDS.get(r.error_kind) or (
            TRANSPORT_KINDS["connection"] if "connection" in kind else TRANSPORT_KINDS["malformed"]
        )
    return OTHER_KINDS.get(r.error_kind, "The request failed.")


# error_kind -> headline when no attempt carries a more precise one.
TRANSPORT_KINDS = {
    "timeout": "The provider did not answer in time.",
    "connection": "Could not connect to the provider, or the connection broke before the answer was complete.",
    "malformed": "The provider's answer could not be read.",
}
OTHER_KINDS = {
    "key": "The provider's API key cannot be used.",
    "config": "This request cannot be sent as the provider is configured now.",
    "internal": "Prism failed while sending this request.",
    "response": "The provider answered, but reported a failure instead of a complete answer.",
}


def _known_cause(r: Result) -> str:
    """The client's plain headline for a timeout, a broken connection or an unreadable answer
    (providers/client.py), kept with the last attempt; "" if it does not describe this error."""
    if r.error_kind not in TRANSPORT_KINDS or not r.attempts or not isinstance(r.attempts[-1], dict):
        return ""
    error = r.attempts[-1].get("error")
    if not isinstance(error, dict) or error.get("kind") != r.error_kind:
        return ""
    headline = error.get("headline")
    return headline if isinstance(headline, str) else ""


def _note_text(note) -> str:
    if isinstance(note, dict):
        where = note.get("where")
        message = note.get("message") or note.get("text") or json.dumps(note, ensure_ascii=False)
        return f"{where}: {message}" if where else str(message)
    return str(note)


def _attempt_text(i: int, attempt) -> str:
    if not isinstance(attempt, dict):
        return f"Try {i}: {attempt}"
    bits = []
    status = attempt.get("status") or attempt.get("http_status")
    if status:
        bits.append(str(status))
    for key in ("error_type", "kind"):
        if attempt.get(key):
            bits.append(str(attempt[key]))
            break
    latency = attempt.get("latency_ms") or attempt.get("latency_total_ms")
    if latency is not None:
        bits.append(f"{latency} ms")
    error = attempt.get("error") or attempt.get("message") or attempt.get("error_message")
    if isinstance(error, dict):
        error = error.get("message")
    if error:
        bits.append(str(error))
    return f"Try {i}: " + (" · ".join(bits) if bits else "ok")


def _usage(r: Result) -> dict:
    usage = r.usage or {}
    return {
        "input": r.input_tokens if r.input_tokens is not None else usage.get("input"),
        "output": r.output_tokens if r.output_tokens is not None else usage.get("output"),
        "cached": usage.get("cached_input"),
        "reasoning": usage.get("reasoning"),
        "total": r.total_tokens if r.total_tokens is not None else usage.get("total"),
    }


def _run_context(run: Run, membership, results=None) -> dict:
    results = _decorate(results if results is not None else _results(run))
    progress = services.run_progress(run)
    version = run.prompt_version
    media_names = _media_names(run)
    values = [(name, None if isinstance(value, dict) else value, media_names.get(name) if isinstance(value, dict) else None)
              for name, value in (run.values or {}).items()]
    with_output = [r for r in results if r.output_text]
    return {
        "run": run,
        "prompt": version.prompt,
        "version": version,
        "results": results,
        "progress": progress,
        "values": values,
        "can_edit": membership.can_edit,
        "diff_choices": with_output,
        "diff_form": DiffForm(initial={"a": with_output[0].pk if with_output else None,
                                       "b": with_output[1].pk if len(with_output) > 1 else None}),
        "known": _known(results),
        "duration_s": (run.finished_at - run.created_at).total_seconds() if run.finished_at else None,
    }


def _media_names(run: Run) -> dict[str, str]:
    out = {}
    ids = {}
    for name, value in (run.values or {}).items():
        if isinstance(value, dict):
            ref = value.get("media")
            item_id = ref.get("item") if isinstance(ref, dict) else ref
            if isinstance(item_id, int):
                ids[item_id] = name
            else:
                out[name] = json.dumps(ref)
    for item in MediaItem.objects.filter(team_id=run.team_id, pk__in=ids):
        out[ids[item.pk]] = item.name
    for item_id, name in ids.items():
        out.setdefault(name, f"media item {item_id} (deleted)")
    return out


def _known(results: list[Result]) -> str:
    """What the page shows now, sent back by the progress poll: only changed cards are redrawn."""
    return ",".join(f"{r.pk}:{r.status}" for r in results)


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
    ctx["changed"] = [r for r in ctx["results"] if known.get(str(r.pk)) != r.status]
    ctx["unchanged"] = [r for r in ctx["results"] if known.get(str(r.pk)) == r.status]
    ctx["outputs_changed"] = request.GET.get("outputs") != str(len(ctx["diff_choices"]))
    response = render(request, "runs/_progress_response.html", ctx)
    if ctx["progress"]["done"]:
        response.status_code = HttpResponseStopPolling.status_code
    return response


@require_POST
def run_cancel(request, run_id: int):
    run, membership = _get_run(request, run_id, edit=True)
    cancelled = services.cancel_run(run)
    messages.info(request, f"Cancelled {cancelled} request{'s' if cancelled != 1 else ''} not yet answered."
                  if cancelled else "Nothing left to cancel: every request had an answer.")
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
    messages.success(request, f"Re-sending the exact request of {result.model_name} (run {result.run_id}) as run {new.pk}.")
    return redirect("runs:detail", run_id=new.pk)


# --- one result's request and response ---------------------------------------------------------------


@require_GET
def result_request(request, result_id: int):
    """The stored request: method, URL, headers (key masked) and the body shown elided."""
    result, membership = _get_result(request, result_id)
    body = result.request_body
    display = None
    too_big = False
    if body is not None:
        text = _display_stored(result)
        if text is None:
            too_big = True
        else:
            display = highlight_json(text)
    template = "runs/_request.html"
    ctx = {"result": result, "body": body, "display": display, "too_big": too_big,
           "headers": _safe_headers(result.request_headers)}
    if not request.htmx:
        template = "runs/request_page.html"
    return render(request, template, ctx)


@require_GET
def result_body(request, result_id: int):
    """The exact request body, byte for byte as it was sent."""
    result, membership = _get_result(request, result_id)
    if result.request_body is None:
        raise Http404("This result has no stored request (it was not sent).")
    response = StreamingHttpResponse(services.result_body_iter(result), content_type="application/json")
    response["Content-Length"] = str(result.request_body.size)
    disposition = "inline" if request.GET.get("inline") else "attachment"
    response["Content-Disposition"] = f'{disposition}; filename="{_filename(result, "request")}"'
    response["X-Content-Type-Options"] = "nosniff"
    response["X-Body-SHA256"] = result.request_body.sha256
    return response


@require_GET
def result_response(request, result_id: int):
    """The provider's response JSON as stored (a download, or the fragment shown in the card)."""
    result, membership = _get_result(request, result_id)
    text = json.dumps(result.response_json, ensure_ascii=False, indent=2) if result.response_json is not None else None
    if request.GET.get("download"):
        if text is None:
            raise Http404("No response was stored for this result.")
        response = HttpResponse(text, content_type="application/json")
        response["Content-Disposition"] = f'attachment; filename="{_filename(result, "response")}"'
        response["X-Content-Type-Options"] = "nosniff"
        return response
    return render(request, "runs/_response.html",
                  {"result": result, "display": highlight_json(_elide_text(text)) if text is not None else None})


def _filename(result: Result, what: str) -> str:
    return f"run-{result.run_id}-{slugify(result.model_name)[:60] or 'model'}-{what}.json"


_SECRETISH = re.compile(r"(authorization|api[-_]?key|x-goog-api-key|x-api-key|token|secret|cookie)", re.I)


def _safe_headers(headers: dict | None) -> dict:
    """The stored headers (the engine masks the key); any header that looks like a credential is
    masked again here, in case a provider's header name is one we did not know."""
    out = {}
    for k, v in (headers or {}).items():
        v = str(v)
        if _SECRETISH.search(k) and not v.startswith(("$", "Bearer $", "<")):
            v = "<hidden>"
        out[k] = v
    return out


# Base64 in a stored body is shown as the preview shows it: "<base64 PNG, 1.2 MB>".
_B64 = re.compile(r"^[A-Za-z0-9+/=\s]{256,}$")
_DATA_URL = re.compile(r"^(data:([^;,]+)(?:;[^;,]*)*;base64,)(.{256,})$", re.S)
_SLOT = re.compile(r"@@prism-b64:(\d+)@@")


def _human(n: int) -> str:
    if n < 1000:
        return f"{n} B"
    for unit in ("kB", "MB", "GB"):
        n /= 1000
        if n < 1000 or unit == "GB":
            return f"{n:.1f} {unit}"
    return f"{n} B"


def _label(mime: str | None) -> str:
    if not mime:
        return "data"
    return (mime.partition("/")[2] or mime).removeprefix("x-").upper()


def _elide(value, mime=None):
    if isinstance(value, dict):
        here = value.get("mime_type") or value.get("mimeType") or value.get("media_type") or mime
        return {k: _elide(v, here if isinstance(here, str) else None) for k, v in value.items()}
    if isinstance(value, list):
        return [_elide(v, mime) for v in value]
    if isinstance(value, str) and "@@prism-b64:" in value:
        m = re.match(r"^data:([^;,]+)", value)
        label = _label(m.group(1) if m else mime)
        return _SLOT.sub(lambda s: f"<base64 {label}, {_human(int(s.group(1)))}>", value)
    if isinstance(value, str) and len(value) >= 256:
        m = _DATA_URL.match(value)
        if m:
            return f"{m.group(1)}<base64 {_label(m.group(2))}, {_human(len(m.group(3)))}>"
        if _B64.match(value):
            return f"<base64 {_label(mime)}, {_human(len(value))}>"
    return value


def _display_stored(result: Result) -> str | None:
    """The stored body pretty-printed with its base64 elided, keys in the order sent.

    Read from RequestBody.pieces (the exact text with each stored file's base64 as a reference),
    so showing a request with ten photos reads none of them; older rows without pieces are read
    byte for byte instead, when not too big."""
    body = result.request_body
    pieces = getattr(body, "pieces", None)
    if pieces:
        text = "".join(p if isinstance(p, str) else f"@@prism-b64:{int(p.get('size') or 0)}@@" for p in pieces)
    elif body.size <= MAX_DISPLAY_BYTES:
        text = b"".join(services.result_body_iter(result)).decode("utf-8", errors="replace")
    else:
        return None
    return _elide_text(text)


def _elide_text(text: str) -> str:
    try:
        return json.dumps(_elide(json.loads(text)), ensure_ascii=False, indent=2)
    except ValueError:
        return text


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


def _history_results(team, prompt: Prompt | None):
    results = Result.objects.filter(run__team=team)
    if prompt is not None:
        results = results.filter(run__prompt_version__prompt=prompt)
    return results


def _history_form(request, team, prompt):
    base = _history_results(team, prompt)
    models = sorted({f"{p} / {m}" for p, m in base.values_list("provider_name", "model_name").distinct()})
    versions = list(prompt.versions.order_by("-number").values_list("number", flat=True)) if prompt else None
    form = HistoryFilterForm(request.GET or None, models=models, versions=versions)
    form.is_valid()
    return form, base


@require_GET
@never_cache
def run_history(request, prompt_id: int | None = None):
    """Every run of a prompt (or of the team), filtered by model, version and dates; charts per model."""
    if prompt_id is not None:
        prompt, membership = _get_prompt(request, prompt_id)
        team = prompt.team
    else:
        prompt, team, membership = None, current_team(request), current_membership(request)
    form, base = _history_form(request, team, prompt)
    results = form.filter(base) if form.is_bound else base
    run_ids = results.values("run_id")
    runs_qs = (
        Run.objects.filter(pk__in=run_ids)
        .select_related("prompt_version__prompt", "created_by")
        .annotate(
            n_results=Count("results", distinct=True),
            n_ok=Count("results", filter=Q(results__status=Result.Status.SUCCEEDED), distinct=True),
            n_failed=Count("results", filter=Q(results__status__in=[Result.Status.FAILED, Result.Status.REFUSED]), distinct=True),
            cost=Sum("results__cost_usd"),
        )
        .prefetch_related(Prefetch("results", queryset=Result.objects.only("run_id", "provider_name", "model_name", "status").order_by("position")))
    )
    total_runs = runs_qs.count()
    runs = list(runs_qs[:HISTORY_RUNS])
    series, summary = _chart_data(results)
    query = request.GET.urlencode()
    ctx = {
        "prompt": prompt,
        "form": form,
        "runs": runs,
        "total_runs": total_runs,
        "shown": len(runs),
        "series": series,
        "summary": summary,
        "query": query,
        "can_edit": membership.can_edit,
        "export_csv": _export_url(prompt, "csv", query),
        "export_json": _export_url(prompt, "json", query),
    }
    template = "runs/history.html"
    if request.htmx and request.htmx.target == "history-results":
        template += "#history-results"
    return render(request, template, ctx)


def _export_url(prompt, fmt: str, query: str) -> str:
    if prompt is not None:
        url = reverse("runs:prompt_export", args=[prompt.pk, fmt])
    else:
        url = reverse("runs:export", args=[fmt])
    return f"{url}?{query}" if query else url


def _chart_data(results) -> tuple[dict, list[dict]]:
    """Per model: a series of (run time, tokens, cost, latency) for the charts, and medians for the
    table that stands beside them (and for readers who do not see the charts)."""
    rows = (
        results.filter(status=Result.Status.SUCCEEDED)
        .order_by("run__created_at", "run_id", "position")
        .values_list("provider_name", "model_name", "run__created_at", "run_id", "total_tokens", "input_tokens",
                     "output_tokens", "cost_usd", "latency_total_ms")
    )
    per_model: OrderedDict[str, list] = OrderedDict()
    for provider, model, created, run_id, total, tin, tout, cost, latency in rows.iterator():
        if total is None and tin is not None and tout is not None:
            total = tin + tout
        per_model.setdefault(f"{provider} / {model}", []).append((created, run_id, total, cost, latency))
    series = {"models": [], "points": []}
    summary = []
    for name, points in per_model.items():
        tokens = [p[2] for p in points if p[2] is not None]
        costs = [p[3] for p in points if p[3] is not None]
        latencies = [p[4] for p in points if p[4] is not None]
        summary.append({
            "model": name,
            "results": len(points),
            "median_tokens": statistics.median(tokens) if tokens else None,
            "median_cost": statistics.median(costs) if costs else None,
            "total_cost": sum(costs, Decimal(0)) if costs else None,
            "median_latency": statistics.median(latencies) if latencies else None,
        })
        series["models"].append(name)
        for created, run_id, total, cost, latency in points[-CHART_POINTS:]:
            series["points"].append([len(series["models"]) - 1, int(created.timestamp()), run_id, total,
                                     float(cost) if cost is not None else None, latency])
    return series, summary


@require_GET
def history_export(request, fmt: str, prompt_id: int | None = None):
    """One row per result of the filtered history; never a key or a request header."""
    if prompt_id is not None:
        prompt, membership = _get_prompt(request, prompt_id)
        team = prompt.team
    else:
        prompt, team = None, current_team(request)
    form, base = _history_form(request, team, prompt)
    results = form.filter(base) if form.is_bound else base
    results = results.select_related("run__prompt_version__prompt").order_by("-run__created_at", "-run_id", "position")
    name = f"prism-runs-{slugify(prompt.name)[:60] if prompt else slugify(team.name)[:60]}"
    if fmt == "csv":
        response = StreamingHttpResponse(exports.csv_rows(results), content_type="text/csv; charset=utf-8")
    elif fmt == "json":
        response = StreamingHttpResponse(exports.json_chunks(results), content_type="application/json")
    else:
        raise Http404("No such format")
    response["Content-Disposition"] = f'attachment; filename="{name}.{fmt}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response
