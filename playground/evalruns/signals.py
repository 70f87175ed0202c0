"""Following the results of evaluation runs as the runs worker records them.

Why a signal (runs.signals.results_recorded) rather than a polling loop: it fires where the cost
is recorded, once per sent batch, so the budget stops the run within one batch of reaching it
and scores are stored as answers come, whether or not anyone watches the page. runs knows nothing
of evaluations: one query here finds whether a batch belongs to any (most batches do not).
"""

import logging

from django.dispatch import receiver

from playground.evalruns import scoring, services
from playground.evalruns.models import EvalRun
from playground.runs.models import Result, Run
from playground.runs.signals import results_recorded

log = logging.getLogger("playground.evalruns")


@receiver(results_recorded, dispatch_uid="evalruns.follow_results")
def follow_results(sender, result_ids, run_ids, **kwargs) -> None:
    eval_ids = scoring.eval_runs_of(run_ids)
    if not eval_ids:
        # A judge's answers: its runs are the evaluation's (origin "eval") but no item's; one pk lookup.
        judged = list(Run.objects.filter(pk__in=list(run_ids), origin="eval", eval_item__isnull=True).values_list("pk", flat=True))
        if judged:
            scoring.record_judgements(judged)
        return
    for er in EvalRun.objects.filter(pk__in=eval_ids).select_related("eval_set"):
        mine = list(Result.objects.filter(pk__in=result_ids, run__eval_item__eval_run=er).values_list("pk", flat=True))
        scoring.score_results(er, mine)
        if services.check_budget(er):
            log.info("evaluation %s stopped: budget reached", er.pk)
        scoring.finish(er)
