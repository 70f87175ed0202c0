from django.apps import AppConfig


class EvalrunsConfig(AppConfig):
    name = "playground.evalruns"
    label = "evalruns"
    verbose_name = "Evaluation runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from playground.evalruns import signals  # noqa: F401  (listens to runs' results_recorded)
        from playground.evalruns.models import EvalRun
        from playground.evals import services as evals_services

        def used_by_runs(eval_set):
            n = EvalRun.objects.filter(eval_set=eval_set).count()
            return f"it is used by {n} evaluation run{'s' if n != 1 else ''}" if n else None

        if used_by_runs not in evals_services.DELETE_CHECKS:
            evals_services.DELETE_CHECKS.append(used_by_runs)
