"""Evaluation runs' pages: new (with the preflight summary), detail with live progress, cancel,
re-score. Thin: every write is services.py's (preparation and re-scoring run in tasks).

Access: an evaluation run, set, prompt version or model of another team is a 404; writes need
edit rights (viewers get 403 and nothing changes)."""

import json
from decimal import Decimal, InvalidOperation

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods, require_POST
from django_htmx.http import HttpResponseStopPolling

from playground.accounts.teams import current_membership, current_team, require_membership
from playground.evalruns import enqueue, scoring, services, starting
from playground.evalruns.models import EvalRun
from playground.evals.models import EvalSet
from playground.lib import jsonlimits
from playground.lib.ids import parse_id
from playground.prompts.models import PromptVersion
from playground.scoring import registry

RESCORE_INLINE_MAX = 2000  # answered results re-scored in the request; more go to a task


def _get_run(request, eval_run_id, *, edit=False):
    if parse_id(eval_run_id) is None:
        raise Http404("Not found")
    er = get_object_or_404(EvalRun.objects.select_related("eval_set", "prompt_version__prompt", "team"), pk=eval_run_id)
    membership = require_membership(request, er.team_id, edit=edit)
    return er, membership


def _team_object(model, pk, **filters):
    """The team's object with this id, or None (another team's reads as missing)."""
    pk = parse_id(pk)
    if pk is None:
        return None
    return model.objects.filter(pk=pk, **filters).first()


@require_GET
@never_cache
def eval_list(request):
    membership = current_membership(request)
    team = current_team(request)
    runs = EvalRun.objects.filter(team=team).select_related("eval_set", "prompt_version__prompt")[:200]
    return render(request, "evalruns/list.html", {"eval_runs": runs, "can_edit": membership.can_edit})


def _versions(team):
    """The team's prompts' versions, newest prompt first, each prompt's latest version first."""
    return list(PromptVersion.objects.filter(prompt__team=team).select_related("prompt")
                .order_by("-prompt__updated_at", "prompt_id", "-number")[:500])  # fmt: skip


def _form_state(request, team, data):
    """What the new-evaluation form shows and, for a POST, what it chose."""
    sets = list(EvalSet.objects.filter(team=team).order_by("name"))
    versions = _versions(team)
    eval_set = _team_object(EvalSet, data.get("set"), team=team) or (sets[0] if sets else None)
    version = _team_object(PromptVersion, data.get("version"), prompt__team=team) or (versions[0] if versions else None)
    models = services.team_models(team)
    state = {"sets": sets, "versions": versions, "set": eval_set, "version": version, "models": models,
             "arm_presets": [(k, t) for k, (t, _) in services.ARM_PRESETS.items()]}  # fmt: skip
    if eval_set and version:
        defaults = services.default_bindings(version, eval_set)
        slots = services.prompt_slots(version)
        set_slots = services.set_slots(eval_set)
        state["media_bindings"] = [
            (name, kind, data.get(f"media-{name}", defaults["media"].get(name, ""))) for name, kind in slots["media"]
        ]
        state["text_bindings"] = [
            (name, data.get(f"var-{name}", defaults["variables"].get(name, ""))) for name in slots["text"]
        ]
        state["slot_choices"] = list(set_slots["media"].items())
        state["field_choices"] = set_slots["fields"]
    chosen_ids = [parse_id(v) for v in (data.getlist("models") if hasattr(data, "getlist") else [])]
    state["chosen_models"] = [pm for pm in models if pm.pk in chosen_ids]
    state["chosen_ids"] = {pm.pk for pm in state["chosen_models"]}
    state["chosen_arms"] = data.getlist("arms") if hasattr(data, "getlist") and data.getlist("arms") else ["as-is"]
    state["samples"] = data.get("samples", "1")
    state["budget"] = data.get("budget", "")
    state["reuse"] = bool(data.get("reuse"))
    state["name"] = data.get("name", "")
    judge_id = parse_id(data.get("judge") or "")
    state["judge"] = next((pm for pm in models if pm.pk == judge_id), None)
    state["wants_judge"] = bool(eval_set) and any(s.get("type") == "judge" for s in eval_set.scorers or [])
    return state


def _parse_choices(state, data):
    """(bindings, arms, samples, budget) from the POST; raises services.Invalid."""
    if state["set"] is None or state["version"] is None:
        raise services.Invalid("Choose an evaluation set and a prompt version.")
    bindings = services.clean_bindings(
        state["version"], state["set"],
        {name: data.get(f"media-{name}", "") for name, _k, _v in state.get("media_bindings", [])},
        {name: data.get(f"var-{name}", "") for name, _v in state.get("text_bindings", [])},
    )  # fmt: skip
    if not state["chosen_models"]:
        raise services.Invalid("Choose at least one model.")
    arms = services.clean_arms(state["chosen_arms"])
    try:
        samples = int(state["samples"] or 1)
    except ValueError:
        raise services.Invalid("Samples per case must be a whole number.") from None
    if not 1 <= samples <= services.MAX_SAMPLES:
        raise services.Invalid(f"Samples per case: 1 to {services.MAX_SAMPLES}.")
    budget = None
    if (state["budget"] or "").strip():
        try:
            budget = Decimal(state["budget"].strip())
        except InvalidOperation:
            raise services.Invalid("The budget is a number of USD, e.g. 5 or 0.50.") from None
        if not budget.is_finite() or budget <= 0 or budget > Decimal("99999999"):
            raise services.Invalid("The budget must be more than 0 USD (or empty for none).")
    return bindings, arms, samples, budget


@require_http_methods(["GET", "POST"])
@never_cache
def eval_new(request):
    membership = current_membership(request)
    if membership is None:
        raise Http404("Not found")
    team = membership.team
    data = request.POST if request.method == "POST" else request.GET
    state = _form_state(request, team, data)
    context = {**state, "can_edit": membership.can_edit, "summary": None, "error": None}
    if request.method == "POST":
        if not membership.can_edit:
            return HttpResponse("Your role in this team is read-only.", status=403)
        try:
            bindings, arms, samples, budget = _parse_choices(state, data)
            if data.get("action") == "start":
                er = starting.create_eval_run(
                    team=team, user=request.user, eval_set=state["set"], version=state["version"], bindings=bindings,
                    provider_models=state["chosen_models"], arms=arms, samples=samples, budget_usd=budget,
                    reuse_identical=state["reuse"], name=state["name"].strip(), judge_model=state["judge"],
                )  # fmt: skip
                return redirect("evalruns:detail", eval_run_id=er.pk)
            context["summary"] = services.preflight_summary(
                team=team, eval_set=state["set"], version=state["version"], bindings=bindings,
                provider_models=state["chosen_models"], arms=arms, samples=samples,
            )  # fmt: skip
        except services.Invalid as exc:
            context["error"] = str(exc)
    return render(request, "evalruns/new.html", context)


def _detail_context(er, membership):
    return {"er": er, "p": services.progress(er), "can_edit": membership.can_edit, "models": er.ordered_models(),
            "judge": scoring.judge_progress(er) if any(s["name"] == "judge" for s in er.scorers) else None,
            "scorers_json": json.dumps(er.scorers, indent=2), "scorer_names": sorted(registry.SCORERS)}  # fmt: skip


@require_GET
@never_cache
def eval_detail(request, eval_run_id: int):
    er, membership = _get_run(request, eval_run_id)
    return render(request, "evalruns/detail.html", _detail_context(er, membership))


@require_GET
@never_cache
def eval_progress(request, eval_run_id: int):
    er, membership = _get_run(request, eval_run_id)
    # A repair, as runs' progress re-queues lost results: when every result is finished but the
    # worker that recorded the last ones died before following them up, score and finish here.
    scoring.finish(er)
    response = render(request, "evalruns/_progress.html", _detail_context(er, membership))
    if not er.is_active:
        response.status_code = HttpResponseStopPolling.status_code  # 286: htmx stops polling
    return response


@require_POST
def eval_cancel(request, eval_run_id: int):
    er, _ = _get_run(request, eval_run_id, edit=True)
    if er.is_active:
        n = services.cancel(er)
        messages.success(request, f"Cancelled: {n} request(s) not answered yet were cancelled; the answers received are kept.")
    else:
        messages.info(request, "This evaluation has already finished.")
    return redirect("evalruns:detail", eval_run_id=er.pk)


@require_POST
def eval_rescore(request, eval_run_id: int):
    er, _ = _get_run(request, eval_run_id, edit=True)
    raw = request.POST.get("scorers", "").strip()
    try:
        scorers = jsonlimits.loads(raw) if raw else er.scorers
        if not isinstance(scorers, list) or not all(isinstance(s, dict) and isinstance(s.get("name"), str) for s in scorers):
            raise services.Invalid('Scorers are a JSON list of {"name": ..., "config": {...}}.')
        services.clean_scorers(scorers, er.eval_set)
    except (ValueError, services.Invalid) as exc:  # jsonlimits.Refused and JSON errors are ValueErrors
        messages.error(request, f"Nothing was changed: {exc}")
        return redirect("evalruns:detail", eval_run_id=er.pk)
    er.scorers = scorers
    er.save(update_fields=["scorers"])
    answered = services.progress(er)["succeeded"]
    if answered > RESCORE_INLINE_MAX:
        enqueue.rescore(er.pk)
        messages.success(request, f"Re-scoring {answered} answers in the background; nothing is sent again.")
    else:
        n = scoring.rescore(er)
        messages.success(request, f"Re-scored: {n} score(s) from {answered} answers; nothing was sent again.")
    return redirect("evalruns:detail", eval_run_id=er.pk)
