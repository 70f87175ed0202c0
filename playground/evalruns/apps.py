from django.apps import AppConfig


class EvalrunsConfig(AppConfig):
    name = "playground.evalruns"
    label = "evalruns"
    verbose_name = "Evaluation runs"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from playground.evalruns import signals  # noqa: F401  (listens to runs' result_recorded)
