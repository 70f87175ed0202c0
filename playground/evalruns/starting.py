"""Starting an evaluation run: the row, its models, and the preparation task sent on commit.

Above services.py and enqueue.py (enqueue -> tasks -> prepare -> services), so that none of them
imports back up."""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils import timezone

from playground.evalruns import enqueue, services
from playground.evalruns.models import EvalRun, EvalRunModel
from playground.evals.models import EvalCase


def create_eval_run(*, team, user, eval_set, version, bindings: dict, provider_models: list, arms: list[dict],
                    samples: int = 1, budget_usd=None, reuse_identical: bool = False, name: str = "",
                    scorers: list[dict] | None = None, judge_model=None) -> EvalRun:
    """The evaluation run, PREPARING; its preparation task is sent once this commits."""
    if not provider_models:
        raise services.Invalid("Choose at least one model.")
    if not 1 <= samples <= services.MAX_SAMPLES:
        raise services.Invalid(f"Samples per case: 1 to {services.MAX_SAMPLES}.")
    if budget_usd is not None and budget_usd < Decimal("0.0001"):  # stored to 4 decimals
        raise services.Invalid("The budget must be at least 0.0001 USD (or empty for none).")
    n_cases = EvalCase.objects.filter(set=eval_set).count()
    if not n_cases:
        raise services.Invalid("The set has no cases yet.")
    scorers = services.clean_scorers(scorers if scorers is not None else services.run_scorers(eval_set), eval_set)
    if any(s["name"] == "judge" for s in scorers) and judge_model is None:
        raise services.Invalid("The set scores with a judge: choose the judge model.")
    with transaction.atomic():
        er = EvalRun.objects.create(
            team=team, eval_set=eval_set, prompt_version=version, name=name[:200], created_by=user,
            bindings=bindings, arms=arms, samples=samples, budget_usd=budget_usd, reuse_identical=reuse_identical,
            scorers=scorers, judge_model=judge_model, started_at=timezone.now(),
            total_requests=n_cases * len(arms) * samples * len(provider_models),
        )  # fmt: skip
        EvalRunModel.objects.bulk_create(
            [EvalRunModel(eval_run=er, provider_model=pm, position=i) for i, pm in enumerate(provider_models)]
        )
        enqueue.prepare(er.pk)
    return er
