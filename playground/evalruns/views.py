"""Evaluation runs' pages: thin views over services.py."""

from django.shortcuts import render
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from playground.accounts.teams import current_team
from playground.evalruns.models import EvalRun


@require_GET
@never_cache
def eval_list(request):
    team = current_team(request)
    runs = EvalRun.objects.filter(team=team).select_related("eval_set", "prompt_version")[:200]
    return render(request, "evalruns/list.html", {"eval_runs": runs, "can_edit": False})
